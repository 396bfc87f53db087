import * as fs from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../io";
import { Rng } from "../random";
import type { DatasetScan, LabelledImage, Rejection } from "./scan";
import type { Split } from "./split";

export const MANIFEST_VERSION = 1;

/**
 * The train/validation split of a dataset, as a file: no image is moved or copied. Paths are
 * relative to `root`, so a dataset folder can move together with its manifest by editing `root`.
 */
export interface SplitManifest {
  version: typeof MANIFEST_VERSION;
  root: string;
  trainDir: string;
  testDir?: string;
  seed: number;
  validFraction: number;
  /** True for the final run: the validation images were merged back into `train`. */
  mergedValidation: boolean;
  classes: string[];
  train: LabelledImage[];
  valid: LabelledImage[];
  rejected: Rejection[];
}

export function buildManifest(
  scan: DatasetScan,
  split: Split,
  options: { seed: number; validFraction: number; mergeValidation?: boolean },
): SplitManifest {
  const merge = options.mergeValidation ?? false;
  return {
    version: MANIFEST_VERSION,
    root: scan.root,
    trainDir: scan.trainDir,
    testDir: scan.testDir,
    seed: options.seed,
    validFraction: options.validFraction,
    mergedValidation: merge,
    classes: scan.classes,
    train: merge ? [...split.train, ...split.valid] : split.train,
    valid: merge ? [] : split.valid,
    rejected: scan.rejected,
  };
}

export function writeManifest(file: string, manifest: SplitManifest): void {
  writeJsonAtomic(file, manifest);
}

export function readManifest(file: string): SplitManifest {
  if (!fs.existsSync(file)) {
    throw new Error(`split manifest ${path.resolve(file)} does not exist: run notebooks/01-data-split.ipynb first`);
  }
  let manifest: SplitManifest;
  try {
    manifest = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new Error(`split manifest ${file} is not valid JSON (${(error as Error).message}): delete it and rerun notebook 01`);
  }
  if (manifest.version !== MANIFEST_VERSION || !Array.isArray(manifest.train) || !Array.isArray(manifest.valid)) {
    throw new Error(`split manifest ${file} has an unknown format: delete it and rerun notebook 01`);
  }
  return manifest;
}

/**
 * The images to train on. With `mergeValidation` (the final run before a submission) the
 * validation images join the training set and nothing is held out.
 */
export function trainingImages(manifest: SplitManifest, options: { mergeValidation?: boolean } = {}): LabelledImage[] {
  return options.mergeValidation ? [...manifest.train, ...manifest.valid] : manifest.train;
}

export function validationImages(manifest: SplitManifest, options: { mergeValidation?: boolean } = {}): LabelledImage[] {
  return options.mergeValidation ? [] : manifest.valid;
}

/** Absolute path of an image listed in the manifest. */
export function imagePath(manifest: SplitManifest, image: LabelledImage): string {
  return path.join(manifest.root, image.file);
}

/** Per-class counts, in class order: the numbers behind notebook 01's bar chart. */
export function classCounts(manifest: SplitManifest): { label: string; train: number; valid: number }[] {
  const counts = new Map(manifest.classes.map((label) => [label, { label, train: 0, valid: 0 }]));
  for (const image of manifest.train) counts.get(image.label)!.train++;
  for (const image of manifest.valid) counts.get(image.label)!.valid++;
  return [...counts.values()];
}

/** A few images of every class (seeded choice from both sides of the split), for a look at the data. */
export function samplePerClass(manifest: SplitManifest, perClass: number, seed = 0): { title: string; files: string[] }[] {
  const random = new Rng(seed);
  return manifest.classes.map((label) => {
    const images = [...manifest.train, ...manifest.valid].filter((image) => image.label === label);
    return { title: label, files: random.shuffle(images).slice(0, perClass).map((image) => imagePath(manifest, image)) };
  });
}
