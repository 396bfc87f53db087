// Looking at what was scraped before it is trusted: a gallery per class and a reject list (a text
// file a person edits) that the merge respects. model-review.ts adds a trained classifier's opinion.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io";
import sharp from "sharp";
import { imageGrid, type ImageGridOptions, type ImageGroup } from "../plot/image-grid";
import { display } from "../tslab";
import type { DownloadRecord, ScrapeStore } from "./store";

/** A kept scraped image, ready for review and merging. */
export interface ScrapedImage {
  label: string;
  /** Absolute path of the normalised JPEG. */
  file: string;
  /** Path relative to the scrape folder, as the reject list names it. */
  relative: string;
  url: string;
  rank: number;
}

export function keptImages(store: ScrapeStore, classes?: readonly string[]): ScrapedImage[] {
  const order = new Map((classes ?? []).map((label, i) => [label, i]));
  return store
    .allDownloads()
    .filter((r: DownloadRecord) => r.status === "saved" && r.file)
    .map((r) => ({ label: r.label, file: store.filePath(r), relative: r.file!, url: r.url, rank: r.rank }))
    .sort((a, b) => (order.get(a.label) ?? Infinity) - (order.get(b.label) ?? Infinity) || (a.label < b.label ? -1 : a.label > b.label ? 1 : a.rank - b.rank));
}

/** One card per class with up to `perClass` of its images, for showImageGrid. */
export function galleryGroups(images: readonly ScrapedImage[], perClass = 8): ImageGroup[] {
  const byClass = new Map<string, ScrapedImage[]>();
  for (const image of images) byClass.set(image.label, [...(byClass.get(image.label) ?? []), image]);
  return [...byClass].map(([label, list]) => ({ title: `${label} (${list.length})`, files: list.slice(0, perClass).map((i) => i.file) }));
}

/**
 * Shows a contact sheet as JPEG: scraped photos are noisy, and a PNG sheet of a few hundred of them
 * would weigh megabytes in the saved notebook.
 */
export async function showGallery(groups: readonly ImageGroup[], options: ImageGridOptions = {}): Promise<void> {
  if (groups.length === 0) {
    display().markdown("_(no images)_");
    return;
  }
  display().jpeg(await sharp(await imageGrid(groups, options)).jpeg({ quality: 80 }).toBuffer());
}

const REJECT_LIST_HEADER = `# Scraped images to leave out of the expanded training set, one per line: the path relative to
# the scrape folder (images/<class>/<id>.jpg) or the source URL. Text after "#" is a comment.
`;

/** The reject list as a set of paths and URLs; the file is created (with instructions) when missing. */
export function readRejectList(file: string): Set<string> {
  if (!fs.existsSync(file)) writeFileAtomic(file, REJECT_LIST_HEADER);
  return new Set(
    fs
      .readFileSync(file, "utf8")
      .split(/\r?\n/)
      .map((line) => line.replace(/\s#.*$|^#.*$/, "").trim())
      .filter(Boolean),
  );
}

/** Adds entries (with a comment each) that the list does not hold yet. */
export function appendToRejectList(file: string, entries: { entry: string; comment?: string }[]): number {
  const existing = readRejectList(file);
  const fresh = entries.filter((e) => !existing.has(e.entry));
  if (fresh.length) {
    const text = fs.readFileSync(file, "utf8");
    const lines = fresh.map((e) => (e.comment ? `${e.entry}  # ${e.comment}` : e.entry)).join("\n");
    writeFileAtomic(file, `${text}${text.endsWith("\n") || !text ? "" : "\n"}${lines}\n`);
  }
  return fresh.length;
}

export function isRejected(list: ReadonlySet<string>, image: ScrapedImage): boolean {
  return list.has(image.relative) || list.has(image.url) || list.has(path.basename(image.file));
}
