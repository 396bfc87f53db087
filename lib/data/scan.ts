import * as fs from "node:fs";
import * as path from "node:path";
import { mapWithConcurrency } from "../pool";
import { inspectImage, type InspectOptions } from "./validate";

/** One usable image: `file` is relative to the dataset root, with forward slashes. */
export interface LabelledImage {
  file: string;
  label: string;
}

export interface Rejection {
  file: string;
  reason: string;
}

export interface DatasetScan {
  /** Absolute path of the folder the user pointed at. */
  root: string;
  /** Folder holding the class subfolders, relative to root ("" or "train"). */
  trainDir: string;
  /** Flat folder of unlabelled test images relative to root, when the contest layout has one. */
  testDir?: string;
  /** Sorted class names (folder names) that have at least one usable image. */
  classes: string[];
  images: LabelledImage[];
  rejected: Rejection[];
  /** Problems with whole classes (empty folders, nothing usable). */
  warnings: string[];
}

export interface ScanOptions extends InspectOptions {
  /** Images checked at once; sharp decodes on libuv's thread pool. */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Scans an ImageFolder-style dataset: either `root/<class>/**` or the contest layout
 * `root/train/<class>/**` (+ an optional flat `root/test/`). Every file is decoded with sharp;
 * broken ones are listed in `rejected` with the reason and never stop the scan.
 */
export async function scanDataset(root: string, options: ScanOptions = {}): Promise<DatasetScan> {
  const absRoot = path.resolve(root);
  if (!isDirectory(absRoot)) {
    throw new Error(
      `dataset folder ${absRoot} does not exist or is not a folder: point it at a folder holding ` +
        `<class>/<image> subfolders (or train/<class>/<image>); \`npm run generate\` writes the embedded default`,
    );
  }
  const trainDir = isDirectory(path.join(absRoot, "train")) ? "train" : "";
  const testDir = trainDir && isDirectory(path.join(absRoot, "test")) ? "test" : undefined;
  const classFolder = path.join(absRoot, trainDir);
  const entries = fs.readdirSync(classFolder, { withFileTypes: true }).filter((e) => !e.name.startsWith("."));
  const classDirs = entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  if (classDirs.length === 0) {
    throw new Error(
      `${classFolder} has no class subfolders: expected one folder per class holding its images ` +
        `(e.g. ${path.join(classFolder, "pikachu", "0001.jpg")})`,
    );
  }

  const rejected: Rejection[] = entries
    .filter((e) => e.isFile())
    .map((e) => ({ file: relative(absRoot, path.join(classFolder, e.name)), reason: "not inside a class folder: move it into one" }));
  const warnings: string[] = [];
  const candidates: LabelledImage[] = [];
  for (const label of classDirs) {
    const files = listFiles(path.join(classFolder, label));
    if (files.length === 0) warnings.push(`class "${label}" has no files: left out (add images or remove the folder)`);
    for (const file of files) candidates.push({ file: relative(absRoot, file), label });
  }

  const inspections = await mapWithConcurrency(candidates, options.concurrency ?? 8, (c) => inspectImage(path.join(absRoot, c.file), options), options.onProgress);
  const images: LabelledImage[] = [];
  candidates.forEach((candidate, i) => {
    const result = inspections[i];
    // `=== false`: tslab compiles lib without strictNullChecks, where only this form narrows.
    if (result.ok === false) rejected.push({ file: candidate.file, reason: result.reason });
    else images.push(candidate);
  });

  const usable = new Set(images.map((image) => image.label));
  for (const label of classDirs) {
    if (!usable.has(label) && candidates.some((c) => c.label === label)) {
      warnings.push(`class "${label}" has no usable image: left out (see the rejected files)`);
    }
  }
  return { root: absRoot, trainDir, testDir, classes: classDirs.filter((c) => usable.has(c)), images, rejected, warnings };
}

/** Lists the unlabelled test images of a contest-layout dataset, checked like the training images. */
export async function scanTestImages(root: string, options: ScanOptions = {}): Promise<{ files: string[]; rejected: Rejection[] }> {
  const absRoot = path.resolve(root);
  const testFolder = isDirectory(path.join(absRoot, "test")) ? path.join(absRoot, "test") : absRoot;
  const files = listFiles(testFolder).map((file) => relative(absRoot, file));
  const inspections = await mapWithConcurrency(files, options.concurrency ?? 8, (f) => inspectImage(path.join(absRoot, f), options), options.onProgress);
  return {
    files: files.filter((_, i) => inspections[i].ok),
    rejected: files.flatMap((file, i) => {
      const result = inspections[i];
      return result.ok === false ? [{ file, reason: result.reason }] : [];
    }),
  };
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else if (entry.isFile()) out.push(full);
  }
  return out.sort();
}

function isDirectory(p: string): boolean {
  return fs.existsSync(p) && fs.statSync(p).isDirectory();
}

function relative(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join("/");
}
