// Notebook 05's main-job recipe as one call, for the benches that train several tops on one trunk's
// cached features (bench:ensemble, bench:pseudo): nsfwjs MobileNetV2 @224, top from block.10, 3
// brightness draws cached under seed 42, 6 epochs of one cycle, 3 validation windows; then the
// test set predicted through the same windows.
import * as path from "node:path";
import { loadBackbone } from "../lib/backbone";
import { readManifest, scanTestImages, type LabelledImage, type SplitManifest } from "../lib/data";
import { freezeBefore } from "../lib/models";
import { imageId, readAnswerKey } from "../lib/submission";
import { defaultTrainingThreads, fitSchedule, groupsByPath, Learner, predictFiles, trainingSources, type BatchSource, type Evaluation } from "../lib/train";
import { MAIN_JOB_PARAMS } from "../scripts/main-job-params";

export const MANIFEST = "data/splits/embedded.json";
const FREEZE_POINT = "block.10";
const RATES = { "block.10:": 1e-3, predictions: 3e-3 };
const DRAWS = 3;
const WINDOWS = [0, 0.5, 1];
export const MAIN_JOB_LABEL_SMOOTHING = MAIN_JOB_PARAMS["05"].labelSmoothing ?? 0;

/** `--name value` from the command line. */
export function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

/** The embedded split, its test files (relative to the root and absolute) and the answer key's class per file. */
export async function embeddedTask(): Promise<{ manifest: SplitManifest; testRelative: string[]; testFiles: string[]; truth: number[] }> {
  const manifest = readManifest(MANIFEST);
  const testRelative = (await scanTestImages(manifest.root)).files;
  const testFiles = testRelative.map((file) => path.join(manifest.root, file));
  const key = readAnswerKey(path.join(manifest.root, "test_answers.csv"));
  return { manifest, testRelative, testFiles, truth: testFiles.map((file) => manifest.classes.indexOf(key.get(imageId(file)) ?? "")) };
}

/** The same cached draws, the batches of epoch e taken from epoch e + draws * k's order (same draw, other order). */
function reordered(source: BatchSource, k: number): BatchSource {
  return { size: source.size, batches: (epoch: number) => source.batches(epoch + DRAWS * k) };
}

export interface TopOptions {
  /** Seeds the new head; the batches of top k = headSeed - 42 come in another order. */
  headSeed: number;
  labelSmoothing: number;
  /** Images appended to the training set (pseudo-labels). */
  extraTrain?: LabelledImage[];
}

export async function trainMainJobTop(manifest: SplitManifest, testFiles: string[], options: TopOptions): Promise<{ valid: Evaluation; test: Float32Array; trainSeconds: number; predictSeconds: number }> {
  const started = Date.now();
  const epochs = (MAIN_JOB_PARAMS["05"].phaseEpochs as number[]).reduce((a, b) => a + b, 0);
  const net = await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: manifest.classes.length, seed: options.headSeed });
  freezeBefore(net.model, FREEZE_POINT);
  const sources = await trainingSources(net, manifest, {
    batchSize: 50, seed: 42, epochs, augment: { brightness: 0.05 }, featureCache: "data/cache/features", draws: DRAWS, windows: WINDOWS, cacheBytes: 512 * 2 ** 20, extraTrain: options.extraTrain,
  });
  const learner = new Learner({
    model: net.model, top: sources.top, groups: groupsByPath(net.model, RATES), train: reordered(sources.train, options.headSeed - 42), valid: sources.valid, classes: manifest.classes,
    parallel: { shares: defaultTrainingThreads() }, labelSmoothing: options.labelSmoothing,
  });
  await fitSchedule(learner, epochs, { schedule: "one-cycle", rates: RATES, oneCyclePeak: 2, phaseEpochs: [epochs], lowerRates: [] });
  const valid = await learner.evaluate(sources.valid!);
  await learner.close();
  const trainSeconds = (Date.now() - started) / 1000;
  const predicted = await predictFiles(net.model, testFiles, { ...net.input, windows: WINDOWS });
  if (predicted.failed.size > 0) throw new Error(`${predicted.failed.size} test images could not be read, e.g. ${testFiles[[...predicted.failed.keys()][0]]}`);
  net.model.dispose();
  sources.dispose();
  return { valid, test: predicted.probabilities, trainSeconds, predictSeconds: (Date.now() - started) / 1000 - trainSeconds };
}

/** Share of rows whose largest probability is at the true class. */
export function accuracy(probabilities: Float32Array, labels: ArrayLike<number>, classes: number): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = probabilities.subarray(i * classes, (i + 1) * classes);
    if (row.indexOf(Math.max(...row)) === labels[i]) right++;
  }
  return right / labels.length;
}
