// What the folds' predictions add up to: out-of-fold accuracy, TTA settings measured on a sample
// of out-of-fold images and kept where they help, pseudo-labels from each fold's own model.
import type { FeatureBank, FeatureRow } from "./feature-bank";
import type { FoldResult } from "./kfold";

/** Out-of-fold probabilities per bank position ([items, classes]; rows never validated stay 0) and their accuracy. */
export function outOfFold(results: readonly FoldResult[], bank: FeatureBank, numClasses: number): { probabilities: Float32Array; accuracy: number; count: number } {
  const probabilities = new Float32Array(bank.items.length * numClasses);
  let [correct, count] = [0, 0];
  for (const result of results) {
    result.valid.forEach((position, i) => {
      const row = result.probabilities.slice(i * numClasses, (i + 1) * numClasses);
      probabilities.set(row, position * numClasses);
      count++;
      if (argMax(row) === bank.labels[position]) correct++;
    });
  }
  return { probabilities, accuracy: count ? correct / count : NaN, count };
}

export interface TtaMeasure {
  setting: string;
  views: string[];
  /** Accuracy on the sample: plain, and averaged with the setting's views. */
  plain: number;
  withViews: number;
  images: number;
  kept: boolean;
}

/**
 * Each setting (a list of views) against plain on the sampled out-of-fold images: the average of
 * the plain probabilities and the setting's views. A setting is kept when it beats plain.
 * The last row is every kept view together.
 */
export function measureTta(results: readonly FoldResult[], bank: FeatureBank, numClasses: number, settings: Record<string, string[]>): { rows: TtaMeasure[]; kept: string[] } {
  const { probabilities: oof } = outOfFold(results, bank, numClasses);
  const viewProbs = new Map<string, Map<number, number[]>>();
  for (const result of results) {
    for (const [view, { positions, probabilities }] of Object.entries(result.views)) {
      const byPosition = viewProbs.get(view) ?? new Map<number, number[]>();
      positions.forEach((p, i) => byPosition.set(p, probabilities.slice(i * numClasses, (i + 1) * numClasses)));
      viewProbs.set(view, byPosition);
    }
  }
  const positions = [...(viewProbs.values().next().value?.keys() ?? [])];
  const accuracyWith = (views: string[]) => {
    let correct = 0;
    for (const p of positions) {
      const sum = Array.from(oof.subarray(p * numClasses, (p + 1) * numClasses));
      for (const view of views) viewProbs.get(view)!.get(p)!.forEach((v, c) => (sum[c] += v));
      if (argMax(sum) === bank.labels[p]) correct++;
    }
    return positions.length ? correct / positions.length : NaN;
  };
  const plain = accuracyWith([]);
  const rows: TtaMeasure[] = Object.entries(settings).map(([setting, views]) => {
    const missing = views.filter((v) => !viewProbs.has(v));
    if (missing.length) throw new Error(`TTA setting ${setting}: no out-of-fold predictions for ${missing.join(", ")}`);
    const withViews = accuracyWith(views);
    return { setting, views, plain, withViews, images: positions.length, kept: withViews > plain };
  });
  const kept = rows.filter((r) => r.kept).flatMap((r) => r.views);
  rows.push({ setting: "kept together", views: kept, plain, withViews: accuracyWith(kept), images: positions.length, kept: kept.length > 0 });
  return { rows, kept };
}

/**
 * Test images fold `result`'s own model predicts with probability >= threshold, labelled with that
 * prediction. Using the fold's own model (trained without its validation images) keeps those
 * images out of its next round entirely, so the next round's out-of-fold accuracy stays honest.
 */
export function pseudoLabelRows(result: FoldResult, bank: FeatureBank, numClasses: number, threshold: number): FeatureRow[] {
  const rows: FeatureRow[] = [];
  for (let i = 0; i < bank.test.count; i++) {
    if (bank.test.failed.includes(i)) continue;
    const p = result.test.slice(i * numClasses, (i + 1) * numClasses);
    const best = argMax(p);
    if (p[best] >= threshold) rows.push({ sets: [bank.test], row: i, label: best, file: bank.testItems[i].file });
  }
  return rows;
}

/** Share of pseudo-labels that are right, when the answers are known (the embedded default). */
export function pseudoLabelAccuracy(rows: readonly FeatureRow[], answer: (file: string) => number | undefined): number {
  const known = rows.filter((r) => answer(r.file) !== undefined);
  return known.length ? known.filter((r) => answer(r.file) === r.label).length / known.length : NaN;
}

export function argMax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}
