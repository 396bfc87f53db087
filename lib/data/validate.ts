import * as fs from "node:fs";
import sharp, { type Metadata } from "sharp";

export interface ImageInfo {
  format: string;
  /** Size as displayed, i.e. after applying the EXIF orientation. */
  width: number;
  height: number;
  channels: number;
  space: string;
  depth: string;
  hasAlpha: boolean;
  /** EXIF orientation tag (1 = upright); decoding applies it. */
  orientation: number;
}

export type Inspection = { ok: true; info: ImageInfo } | { ok: false; reason: string };

export interface InspectOptions {
  /** Images with more pixels are refused before decoding (decompression bombs). */
  maxPixels?: number;
  /** Images whose shorter side is below this are refused. */
  minSide?: number;
}

export const DEFAULT_MAX_PIXELS = 100_000_000;
export const DEFAULT_MIN_SIDE = 16;

/**
 * Checks that a file is an image sharp can fully decode: reads the header, refuses oversized or
 * tiny images, then decodes the whole file (a small thumbnail, to keep it cheap) so that truncated
 * data is caught too. Never throws for a bad file; the reason says what is wrong.
 */
export async function inspectImage(file: string, options: InspectOptions = {}): Promise<Inspection> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const minSide = options.minSide ?? DEFAULT_MIN_SIDE;
  let size: number;
  try {
    size = (await fs.promises.stat(file)).size;
  } catch (error) {
    return { ok: false, reason: `cannot read the file (${describe(error)})` };
  }
  if (size === 0) return { ok: false, reason: "empty file (0 bytes)" };

  let meta: Metadata;
  try {
    meta = await sharp(file, { limitInputPixels: false }).metadata();
  } catch (error) {
    return { ok: false, reason: explainDecodeError(error) };
  }
  if (!meta.width || !meta.height || !meta.format) {
    return { ok: false, reason: "not an image: no dimensions in the header" };
  }
  const pixels = meta.width * meta.height;
  if (pixels > maxPixels) {
    return {
      ok: false,
      reason: `${meta.width}x${meta.height} is ${(pixels / 1e6).toFixed(0)} Mpx, over the ${(maxPixels / 1e6).toFixed(0)} Mpx limit (decompression bomb?); raise maxPixels if the image is genuine`,
    };
  }
  const rotated = (meta.orientation ?? 1) >= 5;
  const width = rotated ? meta.height : meta.width;
  const height = rotated ? meta.width : meta.height;
  if (Math.min(width, height) < minSide) {
    return { ok: false, reason: `${width}x${height} is below the minimum side of ${minSide} px` };
  }
  try {
    await sharp(file, { failOn: "truncated", limitInputPixels: maxPixels })
      .resize(32, 32, { fit: "inside" })
      .raw()
      .toBuffer();
  } catch (error) {
    if (meta.format === "jpeg" && !(await endsWithJpegEndMarker(file))) {
      return { ok: false, reason: `truncated JPEG: the data stops before the end-of-image marker (${describe(error)})` };
    }
    return { ok: false, reason: explainDecodeError(error) };
  }
  return {
    ok: true,
    info: {
      format: meta.format,
      width,
      height,
      channels: meta.channels ?? 0,
      space: meta.space ?? "unknown",
      depth: meta.depth ?? "unknown",
      hasAlpha: Boolean(meta.hasAlpha),
      orientation: meta.orientation ?? 1,
    },
  };
}

async function endsWithJpegEndMarker(file: string): Promise<boolean> {
  const handle = await fs.promises.open(file, "r");
  try {
    const { size } = await handle.stat();
    const tail = Buffer.alloc(2);
    await handle.read(tail, 0, 2, Math.max(0, size - 2));
    return tail[0] === 0xff && tail[1] === 0xd9;
  } finally {
    await handle.close();
  }
}

function explainDecodeError(error: unknown): string {
  const message = describe(error);
  if (/unsupported image format/i.test(message)) return "not an image (unknown or unsupported format)";
  if (/premature end|truncated|unexpected end|end of file|Invalid SOS|out of data/i.test(message)) {
    return `truncated or corrupt image data (${message})`;
  }
  return `cannot decode (${message})`;
}

function describe(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0].trim();
}
