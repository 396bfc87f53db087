// Perceptual hashes of the images a scraped one must not duplicate: the training, validation
// and test images of the dataset. Cached by path, size and modification time, so a rerun only
// hashes what changed.
import * as fs from "node:fs";
import * as path from "node:path";
import type { SplitManifest } from "../data/manifest";
import { writeJsonAtomic } from "../io";
import { mapWithConcurrency } from "../pool";
import { perceptualHash } from "./hashes";

export type ReferenceSet = "test" | "valid" | "train";

export interface ReferenceImage {
  set: ReferenceSet;
  /** Absolute path. */
  file: string;
  phash: string;
}

interface CacheEntry {
  size: number;
  mtimeMs: number;
  phash: string;
}

export interface ReferenceOptions {
  /** JSON cache of hashes; default none. */
  cacheFile?: string;
  /** Images under this folder are left out (the scrape folder itself, if a manifest lists it). */
  excludeDir?: string;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith("."))
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : e.isFile() ? [path.join(dir, e.name)] : []))
    .sort();
}

/** The images of the manifest's split and of its dataset's test folder. */
export function referenceFiles(manifest: SplitManifest): { set: ReferenceSet; file: string }[] {
  const test = manifest.testDir ? listFiles(path.join(manifest.root, manifest.testDir)) : [];
  return [
    ...test.map((file) => ({ set: "test" as const, file })),
    ...manifest.valid.map((image) => ({ set: "valid" as const, file: path.join(manifest.root, image.file) })),
    ...manifest.train.map((image) => ({ set: "train" as const, file: path.join(manifest.root, image.file) })),
  ];
}

export async function hashReferenceImages(manifest: SplitManifest, options: ReferenceOptions = {}): Promise<{ images: ReferenceImage[]; unreadable: string[] }> {
  const exclude = options.excludeDir ? path.resolve(options.excludeDir) + path.sep : undefined;
  const files = referenceFiles(manifest).filter((f) => !exclude || !path.resolve(f.file).startsWith(exclude));
  let cache: Record<string, CacheEntry> = {};
  if (options.cacheFile && fs.existsSync(options.cacheFile)) {
    try {
      cache = JSON.parse(fs.readFileSync(options.cacheFile, "utf8")).entries ?? {};
    } catch {
      cache = {}; // a damaged cache is rebuilt
    }
  }
  const fresh: Record<string, CacheEntry> = {};
  const unreadable: string[] = [];
  const hashes = await mapWithConcurrency(
    files,
    options.concurrency ?? 4,
    async ({ file }) => {
      try {
        const stat = fs.statSync(file);
        const cached = cache[file];
        const phash = cached && cached.size === stat.size && cached.mtimeMs === stat.mtimeMs ? cached.phash : await perceptualHash(file);
        fresh[file] = { size: stat.size, mtimeMs: stat.mtimeMs, phash };
        return phash;
      } catch {
        unreadable.push(file); // broken test files cannot be duplicated by a decodable image
        return undefined;
      }
    },
    options.onProgress,
  );
  if (options.cacheFile) writeJsonAtomic(options.cacheFile, { version: 1, entries: fresh });
  const images = files.flatMap((f, i) => (hashes[i] ? [{ set: f.set, file: f.file, phash: hashes[i]! }] : []));
  return { images, unreadable: unreadable.sort() };
}
