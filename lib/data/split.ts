import { hashSeed, Rng } from "../random";
import type { LabelledImage } from "./scan";

export interface SplitOptions {
  /** Share of each class that goes to validation (the seed used about 0.2). */
  validFraction?: number;
  seed?: number;
}

export interface Split {
  train: LabelledImage[];
  valid: LabelledImage[];
  /** Classes too small to appear on both sides. */
  warnings: string[];
}

/**
 * Stratified split: each class is shuffled with the seed and `round(n * validFraction)` of it goes
 * to validation, clamped so that every class with two or more images keeps at least one image on
 * each side. The result does not depend on the order of `images`.
 */
export function stratifiedSplit(images: readonly LabelledImage[], options: SplitOptions = {}): Split {
  const validFraction = options.validFraction ?? 0.2;
  const seed = options.seed ?? 42;
  if (!(validFraction > 0 && validFraction < 1)) {
    throw new Error(`validFraction must be between 0 and 1 (exclusive), got ${validFraction}`);
  }
  const byClass = new Map<string, LabelledImage[]>();
  for (const image of images) {
    const group = byClass.get(image.label) ?? [];
    group.push(image);
    byClass.set(image.label, group);
  }
  const train: LabelledImage[] = [];
  const valid: LabelledImage[] = [];
  const warnings: string[] = [];
  for (const label of [...byClass.keys()].sort()) {
    const group = byClass.get(label)!.slice().sort((a, b) => compare(a.file, b.file));
    if (group.length < 2) {
      warnings.push(`class "${label}" has ${group.length} image: it stays in training, none in validation`);
      train.push(...group);
      continue;
    }
    const nValid = Math.min(group.length - 1, Math.max(1, Math.round(group.length * validFraction)));
    // Each class gets its own stream, so adding a class does not reshuffle the others.
    const order = new Rng(hashSeed(seed, label)).shuffle(group);
    valid.push(...order.slice(0, nValid));
    train.push(...order.slice(nValid));
  }
  return { train, valid, warnings };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
