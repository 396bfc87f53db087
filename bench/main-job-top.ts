// Notebook 05's main-job recipe as one call, for the benches that train several tops on one trunk's
// cached features (bench:ensemble, bench:pseudo): the notebook's parameter defaults with the main
// job's settings over them (nsfwjs MobileNetV2 @224 on notebook 02's expanded split, top from
// block.10, 3 brightness draws cached under seed 42, 6 epochs of one cycle, validated through 3
// windows at 224 and 269 px); then the test set predicted through the same windows and sizes.
// `-p name=value` changes one of notebook 05's parameters, e.g. -p 'scales=[1]' -p manifestPath='"data/splits/embedded.json"'.
import * as fs from "node:fs";
import * as path from "node:path";
import { loadBackbone } from "../lib/backbone";
import { argMax } from "../lib/ensemble";
import { readManifest, scanTestImages, type AugmentSpec, type LabelledImage, type ModelInput, type SplitManifest } from "../lib/data";
import { freezeBefore } from "../lib/models";
import { readNotebook } from "../lib/runner/notebook";
import { declaredParameters, type Params } from "../lib/runner/parameters";
import { imageId, readAnswerKey } from "../lib/submission";
import { defaultTrainingThreads, evaluateAtScales, fitSchedule, groupsByPath, Learner, predictFiles, trainingSources, type BatchSource, type Evaluation } from "../lib/train";
import { MAIN_JOB_PARAMS } from "../scripts/main-job-params";
import { paramOverrides } from "./common";

/** Notebook 05's parameter defaults, the main job's settings over them, and `-p name=value` from the command line over those. */
function mainJobRecipe(): Params {
  const declared = declaredParameters(readNotebook("notebooks/05-lr-schedule-training.ipynb"));
  const defaults = declared.flatMap((p) => (p.defaultValue === undefined ? [] : [[p.name, p.defaultValue] as const]));
  const overrides = paramOverrides();
  const unknown = Object.keys(overrides).find((name) => !declared.some((p) => p.name === name));
  if (unknown) throw new Error(`-p ${unknown}: notebook 05 has no parameter ${unknown}`);
  return { ...Object.fromEntries(defaults), ...MAIN_JOB_PARAMS["05"], ...overrides };
}

const RECIPE = mainJobRecipe();
export const MAIN_JOB_LABEL_SMOOTHING = RECIPE.labelSmoothing as number;
/** The split the main job trains on (notebook 02's expanded one, unless -p manifestPath=... says otherwise). */
export const MANIFEST = RECIPE.manifestPath as string;
/** The embedded dataset's own split (notebook 01's), whose root holds the test set and its answer key. */
const EMBEDDED_MANIFEST = "data/splits/embedded.json";

/** `--name value` from the command line. */
export function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? process.argv[at + 1] : undefined;
}

/** The main job's split, the embedded test files (absolute) and the answer key's class per file. */
export async function embeddedTask(): Promise<{ manifest: SplitManifest; testFiles: string[]; truth: number[] }> {
  for (const file of [MANIFEST, EMBEDDED_MANIFEST]) if (!fs.existsSync(file)) throw new Error(`${file} is missing: run npm start (notebooks 01 and 02) first`);
  const manifest = readManifest(MANIFEST);
  const root = readManifest(EMBEDDED_MANIFEST).root;
  const testFiles = (await scanTestImages(root)).files.map((file) => path.join(root, file));
  const key = readAnswerKey(path.join(root, "test_answers.csv"));
  return { manifest, testFiles, truth: testFiles.map((file) => manifest.classes.indexOf(key.get(imageId(file)) ?? "")) };
}

/** The same cached draws, the batches of epoch e taken from epoch e + draws * k's order (same draw, other order). */
function reordered(source: BatchSource, k: number): BatchSource {
  return { size: source.size, batches: (epoch: number) => source.batches(epoch + (RECIPE.draws as number) * k) };
}

export interface TopOptions {
  /** Seeds the new head; top k = headSeed - the recipe's seed (42) takes the batches in another order. */
  headSeed: number;
  labelSmoothing: number;
  /** Images appended to the training set (pseudo-labels), their files relative to the manifest's root. */
  extraTrain?: LabelledImage[];
}

export async function trainMainJobTop(manifest: SplitManifest, testFiles: string[], options: TopOptions): Promise<{ valid: Evaluation; test: Float32Array; trainSeconds: number; predictSeconds: number }> {
  const started = Date.now();
  const phaseEpochs = RECIPE.phaseEpochs as number[];
  const epochs = phaseEpochs.reduce((a, b) => a + b, 0);
  const rates = RECIPE.groupRates as Record<string, number>;
  const windows = RECIPE.windows as number[];
  const net = await loadBackbone(RECIPE.backbone as string, { numClasses: manifest.classes.length, seed: options.headSeed });
  freezeBefore(net.model, RECIPE.freezePoint as string);
  const sources = await trainingSources(net, manifest, {
    batchSize: RECIPE.batchSize as number, seed: RECIPE.seed as number, epochs, augment: RECIPE.augment as AugmentSpec, featureCache: RECIPE.featureCache as string,
    draws: RECIPE.draws as number, windows, cacheBytes: (RECIPE.cacheMegabytes as number) * 2 ** 20, extraTrain: options.extraTrain,
  });
  const learner = new Learner({
    model: net.model, top: sources.top, groups: groupsByPath(net.model, rates), train: reordered(sources.train, options.headSeed - (RECIPE.seed as number)), valid: sources.valid, classes: manifest.classes,
    parallel: { shares: defaultTrainingThreads() }, labelSmoothing: options.labelSmoothing,
  });
  await fitSchedule(learner, epochs, { schedule: RECIPE.schedule as "one-cycle" | "steps", rates, oneCyclePeak: RECIPE.oneCyclePeak as number, phaseEpochs, lowerRates: RECIPE.lowerRates as number[] });
  const input: ModelInput = { ...net.input, windows, scales: RECIPE.scales as number[] };
  const valid = await evaluateAtScales(await learner.evaluate(sources.valid!), net.model, input);
  await learner.close();
  const trainSeconds = (Date.now() - started) / 1000;
  const predicted = await predictFiles(net.model, testFiles, input);
  if (predicted.failed.size > 0) throw new Error(`${predicted.failed.size} test images could not be read, e.g. ${testFiles[[...predicted.failed.keys()][0]]}`);
  net.model.dispose();
  sources.dispose();
  return { valid, test: predicted.probabilities, trainSeconds, predictSeconds: (Date.now() - started) / 1000 - trainSeconds };
}

export const pct = (x: number) => `${(100 * x).toFixed(2)} %`;

/** Share of rows whose largest probability is at the true class. */
export function accuracy(probabilities: Float32Array, labels: ArrayLike<number>, classes: number): number {
  let right = 0;
  for (let i = 0; i < labels.length; i++) if (argMax(probabilities.subarray(i * classes, (i + 1) * classes)) === labels[i]) right++;
  return right / labels.length;
}
