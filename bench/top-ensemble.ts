// npm run bench:ensemble -- what an ensemble of tops costs and gains when they share one frozen trunk:
// notebook 05's main-job recipe (nsfwjs MobileNetV2 @224, top from block.10, 3 brightness draws
// cached under seed 42, 6 epochs of one cycle, the main job's label smoothing, 3 validation windows)
// trained `--members` times on the same cached features, member k with the head initialised from
// seed 42 + k and the batches in another order, so only the first member's extraction is paid. After each member: its validation
// and answer-key accuracy, and those of the average of the members so far.
//   npm run bench:ensemble -- --members 3      (after npm start, which caches seed 42's features)
//   npm run bench:ensemble -- --members 3 --label-smoothing 0   (another label smoothing)
import * as fs from "node:fs";
import * as path from "node:path";
import { selectBackend } from "../lib/backend";
import { loadBackbone } from "../lib/backbone";
import { readManifest, scanTestImages } from "../lib/data";
import { freezeBefore } from "../lib/models";
import { imageId, readAnswerKey } from "../lib/submission";
import { defaultTrainingThreads, fitSchedule, groupsByPath, Learner, predictFiles, trainingSources, type BatchSource } from "../lib/train";
import { MAIN_JOB_PARAMS } from "../scripts/main-job-params";
import { cpuModel } from "./common";

const MANIFEST = "data/splits/embedded.json";
const FREEZE_POINT = "block.10";
const RATES = { "block.10:": 1e-3, predictions: 3e-3 };
const DRAWS = 3;
const WINDOWS = [0, 0.5, 1];

/** The same cached draws, the batches of epoch e taken from epoch e + draws * k's order (same draw, other order). */
function reordered(source: BatchSource, k: number): BatchSource {
  return { size: source.size, batches: (epoch: number) => source.batches(epoch + DRAWS * k) };
}

function accuracy(probabilities: Float32Array, labels: ArrayLike<number>, classes: number): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    if (row.indexOf(Math.max(...row)) === labels[i]) right++;
  }
  return right / labels.length;
}

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

async function main(): Promise<void> {
  const members = Number(option("members") ?? 3);
  const labelSmoothing = Number(option("label-smoothing") ?? MAIN_JOB_PARAMS["05"].labelSmoothing ?? 0);
  if (!fs.existsSync(MANIFEST)) throw new Error(`${MANIFEST} is missing: run npm start (or notebook 01) first`);
  await selectBackend();
  const manifest = readManifest(MANIFEST);
  const classes = manifest.classes;
  const epochs = (MAIN_JOB_PARAMS["05"].phaseEpochs as number[]).reduce((a, b) => a + b, 0);
  const testFiles = (await scanTestImages(manifest.root)).files.map((file) => path.join(manifest.root, file));
  const answers = readAnswerKey(path.join(manifest.root, "test_answers.csv"));
  const truth = testFiles.map((file) => classes.indexOf(answers.get(imageId(file)) ?? ""));
  console.log(`${cpuModel()}; ${members} tops on one trunk's cached features, ${epochs} epochs each, label smoothing ${labelSmoothing}`);
  let validSum: Float32Array | undefined;
  let testSum: Float32Array | undefined;
  for (let k = 0; k < members; k++) {
    const started = Date.now();
    const net = await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: classes.length, seed: 42 + k });
    freezeBefore(net.model, FREEZE_POINT);
    const sources = await trainingSources(net, manifest, {
      batchSize: 50, seed: 42, epochs, augment: { brightness: 0.05 }, featureCache: "data/cache/features", draws: DRAWS, windows: WINDOWS, cacheBytes: 512 * 2 ** 20,
    });
    const learner = new Learner({
      model: net.model, top: sources.top, groups: groupsByPath(net.model, RATES), train: reordered(sources.train, k), valid: sources.valid, classes,
      parallel: { shares: defaultTrainingThreads() }, labelSmoothing,
    });
    await fitSchedule(learner, epochs, { schedule: "one-cycle", rates: RATES, oneCyclePeak: 2, phaseEpochs: [epochs], lowerRates: [] });
    const valid = await learner.evaluate(sources.valid!);
    await learner.close();
    const trainSeconds = (Date.now() - started) / 1000;
    const predicted = await predictFiles(net.model, testFiles, { ...net.input, windows: WINDOWS });
    if (predicted.failed.size > 0) throw new Error(`${predicted.failed.size} test images could not be read, e.g. ${testFiles[[...predicted.failed.keys()][0]]}`);
    validSum ??= new Float32Array(valid.probabilities.length);
    testSum ??= new Float32Array(predicted.probabilities.length);
    valid.probabilities.forEach((p, i) => (validSum![i] += p));
    predicted.probabilities.forEach((p, i) => (testSum![i] += p));
    const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
    console.log(
      `member ${k + 1} (head seed ${42 + k}): validation ${pct(valid.accuracy)}, answer key ${pct(accuracy(predicted.probabilities, truth, classes.length))}` +
        ` | ${k + 1} averaged: validation ${pct(accuracy(validSum, valid.labels, classes.length))}, answer key ${pct(accuracy(testSum, truth, classes.length))}` +
        ` | ${trainSeconds.toFixed(0)} s extracting (first member) and training, ${((Date.now() - started) / 1000 - trainSeconds).toFixed(0)} s predicting the test set`,
    );
    net.model.dispose();
    sources.dispose();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
