// npm run bench:pseudo -- what one pseudo-label round buys notebook 05's main-job recipe
// (bench/main-job-top.ts): a top trained as the main job's, its test-set predictions, the test images
// it is sure of labelled with its answers and added to the training set, a new top (same head seed)
// trained on both. "Sure" is chosen on validation: the lowest probability at which the first top's
// validation answers are at least --precision right. Validation and answer-key accuracy of each; the
// key only reports, nothing is chosen on it.
//   npm run bench:pseudo                      (after npm start, which caches seed 42's features)
//   npm run bench:pseudo -- --precision 0.95
import * as path from "node:path";
import { selectBackend } from "../lib/backend";
import { argMax } from "../lib/ensemble";
import { cpuModel } from "./common";
import { accuracy, embeddedTask, MAIN_JOB_LABEL_SMOOTHING, option, pct, trainMainJobTop } from "./main-job-top";

/** Per row: the argmax and its probability. */
function answers(probabilities: Float32Array, classes: number): { label: number; p: number }[] {
  return Array.from({ length: probabilities.length / classes }, (_, i) => {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    const label = argMax(row);
    return { label, p: row[label] };
  });
}

/** The lowest probability at which the answers at or above it are at least `precision` right. */
function thresholdFor(rows: { label: number; p: number }[], truth: ArrayLike<number>, precision: number): number {
  const sorted = rows.map((r, i) => ({ ...r, right: r.label === truth[i] })).sort((a, b) => b.p - a.p);
  let right = 0;
  let threshold = Infinity;
  sorted.forEach((r, k) => {
    if (r.right) right++;
    if (right / (k + 1) >= precision) threshold = r.p;
  });
  return threshold;
}

async function main(): Promise<void> {
  const precision = Number(option("precision") ?? 0.97);
  const labelSmoothing = Number(option("label-smoothing") ?? MAIN_JOB_LABEL_SMOOTHING);
  await selectBackend();
  const { manifest, testFiles, truth } = await embeddedTask();
  const classes = manifest.classes.length;
  console.log(`${cpuModel()}; label smoothing ${labelSmoothing}, pseudo-labels at validation precision ${precision}`);

  const first = await trainMainJobTop(manifest, testFiles, { headSeed: 42, labelSmoothing });
  console.log(`round 1: validation ${pct(first.valid.accuracy)}, answer key ${pct(accuracy(first.test, truth, classes))} | ${first.trainSeconds.toFixed(0)} s training, ${first.predictSeconds.toFixed(0)} s predicting`);
  const validRows = answers(first.valid.probabilities, classes);
  const threshold = thresholdFor(validRows, first.valid.labels, precision);
  const chosen = answers(first.test, classes).map((r, i) => ({ ...r, i })).filter((r) => r.p >= threshold);
  const rightOnKey = chosen.filter((r) => r.label === truth[r.i]).length;
  console.log(
    `threshold ${threshold.toFixed(4)}: ${validRows.filter((r) => r.p >= threshold).length} of ${validRows.length} validation answers at or above it;` +
      ` ${chosen.length} of ${testFiles.length} test images pseudo-labelled (${pct(rightOnKey / chosen.length)} right on the key)`,
  );
  const extraTrain = chosen.map((r) => ({ file: path.relative(manifest.root, testFiles[r.i]), label: manifest.classes[r.label] }));
  const second = await trainMainJobTop(manifest, testFiles, { headSeed: 42, labelSmoothing, extraTrain });
  console.log(`round 2: validation ${pct(second.valid.accuracy)}, answer key ${pct(accuracy(second.test, truth, classes))} | ${second.trainSeconds.toFixed(0)} s extracting and training, ${second.predictSeconds.toFixed(0)} s predicting`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
