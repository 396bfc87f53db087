// Stratified k folds: every labelled image is in exactly one fold's validation part, and each
// class is spread over the folds as evenly as its size allows.
import { hashSeed, Rng } from "../random";

/**
 * The fold (0..k-1) of each label's position. Per class, a seeded shuffle is dealt round-robin,
 * each class starting at the fold after the one where the previous class stopped, so class counts
 * per fold differ by at most one and so do fold sizes. A pure function of (labels, k, seed).
 */
export function stratifiedFolds(labels: readonly (number | string)[], k: number, seed: number): number[] {
  if (!Number.isInteger(k) || k < 2) throw new Error(`k must be a whole number >= 2, got ${k}`);
  if (labels.length < k) throw new Error(`${labels.length} images cannot make ${k} folds`);
  const byClass = new Map<string, number[]>();
  labels.forEach((label, i) => {
    const key = String(label);
    byClass.set(key, [...(byClass.get(key) ?? []), i]);
  });
  const folds = new Array<number>(labels.length).fill(-1);
  let next = 0;
  for (const key of [...byClass.keys()].sort()) {
    const members = new Rng(hashSeed(seed, "folds", key)).shuffle(byClass.get(key)!);
    for (const i of members) {
      folds[i] = next;
      next = (next + 1) % k;
    }
  }
  return folds;
}

/** Positions in fold `fold` (its validation part) and the others (its training part). */
export function foldParts(folds: readonly number[], fold: number): { train: number[]; valid: number[] } {
  const train: number[] = [];
  const valid: number[] = [];
  folds.forEach((f, i) => (f === fold ? valid : train).push(i));
  return { train, valid };
}

/** A seeded, stratified subset of about `count` positions (all when count <= 0 or >= the size). */
export function stratifiedSample(labels: readonly (number | string)[], count: number, seed: number): number[] {
  if (count <= 0 || count >= labels.length) return labels.map((_, i) => i);
  const k = Math.max(2, Math.round(labels.length / count));
  const folds = stratifiedFolds(labels, k, hashSeed(seed, "sample"));
  return folds.flatMap((f, i) => (f === 0 ? [i] : []));
}
