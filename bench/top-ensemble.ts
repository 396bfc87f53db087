// npm run bench:ensemble -- what an ensemble of tops costs and gains when they share one frozen trunk:
// notebook 05's main-job recipe (bench/main-job-top.ts, the main job's label smoothing) trained
// `--members` times on the same cached features, member k with the head initialised from seed 42 + k
// and the batches in another order, so only the first member's extraction is paid. After each member:
// its validation and answer-key accuracy, and those of the average of the members so far.
//   npm run bench:ensemble -- --members 3      (after npm start, which caches seed 42's features)
//   npm run bench:ensemble -- --members 3 --label-smoothing 0   (another label smoothing)
//   npm run bench:ensemble -- -p 'scales=[1]' -p manifestPath='"data/splits/embedded.json"'   (224 px alone, without the scraped images)
import { selectBackend } from "../lib/backend";
import { cpuModel } from "./common";
import { accuracy, embeddedTask, MAIN_JOB_LABEL_SMOOTHING, option, pct, trainMainJobTop } from "./main-job-top";

async function main(): Promise<void> {
  const members = Number(option("members") ?? 3);
  const labelSmoothing = Number(option("label-smoothing") ?? MAIN_JOB_LABEL_SMOOTHING);
  await selectBackend();
  const { manifest, testFiles, truth } = await embeddedTask();
  const classes = manifest.classes.length;
  console.log(`${cpuModel()}; ${members} tops on one trunk's cached features, label smoothing ${labelSmoothing}`);
  let validSum: Float32Array | undefined;
  let testSum: Float32Array | undefined;
  for (let k = 0; k < members; k++) {
    const { valid, test, trainSeconds, predictSeconds } = await trainMainJobTop(manifest, testFiles, { headSeed: 42 + k, labelSmoothing });
    validSum ??= new Float32Array(valid.probabilities.length);
    testSum ??= new Float32Array(test.length);
    valid.probabilities.forEach((p, i) => (validSum![i] += p));
    test.forEach((p, i) => (testSum![i] += p));
    console.log(
      `member ${k + 1} (head seed ${42 + k}): validation ${pct(valid.accuracy)}, answer key ${pct(accuracy(test, truth, classes))}` +
        ` | ${k + 1} averaged: validation ${pct(accuracy(validSum, valid.labels, classes))}, answer key ${pct(accuracy(testSum, truth, classes))}` +
        ` | ${trainSeconds.toFixed(0)} s extracting (first member) and training, ${predictSeconds.toFixed(0)} s predicting the test set`,
    );
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
