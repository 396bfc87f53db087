import sharp, { type OverlayOptions } from "sharp";
import { mapWithConcurrency } from "../pool";
import { display } from "../tslab";
import { escapeHtml } from "./table";

export interface ImageGroup {
  title: string;
  /** Image files, or encoded images (PNG/JPEG bytes, e.g. augmented samples). */
  files: (string | Buffer)[];
}

export interface ImageGridOptions {
  /** Side of each square thumbnail in pixels. */
  thumb?: number;
  /** Groups per row of the sheet. */
  columns?: number;
}

const PAD = 4;
const TITLE_HEIGHT = 16;

/** Square thumbnail of any image sharp reads: orientation applied, alpha on white, 8-bit sRGB. */
export async function thumbnail(file: string | Buffer, side: number): Promise<Buffer> {
  return sharp(file)
    .rotate()
    .resize(side, side, { fit: "contain", background: "#ffffff" })
    .flatten({ background: "#ffffff" })
    .toColourspace("srgb")
    .png()
    .toBuffer();
}

/**
 * One PNG contact sheet: a titled card per group (e.g. a class and a few of its images), cards
 * laid out in a grid. A picture rather than HTML so it shows in any notebook viewer.
 */
export async function imageGrid(groups: readonly ImageGroup[], options: ImageGridOptions = {}): Promise<Buffer> {
  const thumb = options.thumb ?? 72;
  const perGroup = Math.max(1, ...groups.map((g) => g.files.length));
  const cardWidth = perGroup * (thumb + PAD) + PAD;
  const cardHeight = TITLE_HEIGHT + thumb + 2 * PAD;
  const columns = options.columns ?? Math.max(1, Math.min(groups.length, Math.floor(1200 / cardWidth)));
  const rows = Math.ceil(groups.length / columns);
  const width = columns * cardWidth;
  const height = Math.max(1, rows * cardHeight);

  const tiles = groups.flatMap((group, g) =>
    group.files.map((file, i) => ({
      file,
      left: (g % columns) * cardWidth + PAD + i * (thumb + PAD),
      top: Math.floor(g / columns) * cardHeight + TITLE_HEIGHT + PAD,
    })),
  );
  const overlays: OverlayOptions[] = await mapWithConcurrency(tiles, 8, async (tile) => ({
    input: await thumbnail(tile.file, thumb),
    left: tile.left,
    top: tile.top,
  }));
  const titles = groups
    .map((group, g) => {
      const x = (g % columns) * cardWidth + PAD;
      const y = Math.floor(g / columns) * cardHeight + TITLE_HEIGHT - 3;
      return `<text x="${x}" y="${y}" font-family="DejaVu Sans, sans-serif" font-size="12" fill="#222">${escapeHtml(group.title)}</text>`;
    })
    .join("");
  overlays.push({ input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${titles}</svg>`), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: "#ffffff" } }).composite(overlays).png().toBuffer();
}

export async function showImageGrid(groups: readonly ImageGroup[], options: ImageGridOptions = {}): Promise<void> {
  display().png(await imageGrid(groups, options));
}
