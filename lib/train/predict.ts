import * as tf from "@tensorflow/tfjs";
import { foldedInference } from "../backends/folded-inference";
import { ImageBatches, type ImageBatch } from "../data/batches";
import { checkScales, checkWindows, scaledSize } from "../data/preprocess";
import { inputConvention, type InputConventionName, type ModelInput } from "../data/input-convention";
import { defaultShares, ParallelTrunk } from "../parallel/parallel-trunk";
import type { Evaluation } from "./learner";

export interface ImagePredictions {
  files: string[];
  /** Row-major [files, classes] softmax probabilities (averaged over the scales, windows and TTA passes). */
  probabilities: Float32Array;
  /** The same for each of `options.windows` alone, in their order (averaged over the scales and TTA passes). */
  byWindow: Float32Array[];
  /** The same for each of `options.scales` alone, in their order (averaged over the windows and TTA passes). */
  byScale: Float32Array[];
  /** Indices (into `files`) of images that could not be decoded, with the reason. */
  failed: Map<number, string>;
}

export interface PredictOptions extends ModelInput {
  batchSize?: number;
  /**
   * Test-time augmentation: brightness factors, one inference pass each (per window), probabilities
   * averaged. [1] is plain inference. Flips are left out on purpose: they hurt on this task.
   */
  brightnessTta?: number[];
  /**
   * Threads. Default: defaultShares (2 on the wasm backend with 2 or more cores and 2 or more batches:
   * MobileNetV2 @96 inferred 431 img/s on two unfolded threads against 305 on one folded thread).
   * 1: one thread with BatchNorm folded into the convolutions.
   */
  shares?: number;
}

/** Predicts every file in the given order; an unreadable image gets a flagged row of zeros. */
export async function predictFiles(model: tf.LayersModel, files: readonly string[], options: PredictOptions): Promise<ImagePredictions> {
  const factors = options.brightnessTta ?? [1];
  const windows = checkWindows(options.windows ?? [0.5]);
  const scales = checkScales(options.scales ?? [1]);
  const numClasses = (model.outputs[0].shape as number[])[1];
  // One view per scale and window, view v = scale v / windows.length at window v % windows.length.
  const views = scales.flatMap((scale) => windows.map((window) => ({ size: scaledSize(options.size, scale), window })));
  const byView = views.map(() => new Float32Array(files.length * numClasses));
  const failed = new Map<number, string>();
  const batchSize = options.batchSize ?? 32;
  // Every view's batches in one stream, so that one folded model (or one set of threads) serves them all.
  async function* batches(): AsyncGenerator<ViewBatch> {
    for (const [v, { size, window }] of views.entries()) {
      const images = new ImageBatches(files.map((file) => ({ file })), { batchSize, size, convention: options.convention, window, onError: "flag", warn: () => {} });
      for await (const batch of images) yield { ...batch, view: v };
    }
  }
  const shares = options.shares ?? defaultShares(Math.ceil(files.length / batchSize) * factors.length * views.length);
  const passes = shares > 1 ? predictOnThreads(model, batches(), factors, shares, options.convention) : predictFolded(model, batches(), factors, options.convention);
  for await (const { view, indices, rowsFailed, softmax } of passes) {
    const out = byView[view];
    indices.forEach((fileIndex, row) => {
      for (let c = 0; c < numClasses; c++) out[fileIndex * numClasses + c] += softmax[row * numClasses + c] / factors.length;
    });
    for (const row of rowsFailed) failed.set(indices[row], "could not be decoded");
  }
  for (const index of failed.keys()) for (const out of byView) out.fill(0, index * numClasses, (index + 1) * numClasses);
  const byWindow = windows.map((_, w) => meanOf(byView.filter((_, v) => v % windows.length === w)));
  const byScale = scales.map((_, s) => meanOf(byView.slice(s * windows.length, (s + 1) * windows.length)));
  return { files: [...files], probabilities: meanOf(byView), byWindow, byScale, failed };
}

/** The element-wise mean of equal-length arrays (the array itself when there is one). */
function meanOf(arrays: readonly Float32Array[]): Float32Array {
  if (arrays.length === 1) return arrays[0];
  const out = new Float32Array(arrays[0].length);
  for (const a of arrays) a.forEach((p, i) => (out[i] += p / arrays.length));
  return out;
}

/**
 * A validation evaluation made at the trained size (Learner.evaluate, e.g. on cached trunk features,
 * through the input's windows) with the input's other scales predicted on the same images and averaged
 * in, each scale weighing one share: what predictFiles gives at every scale, without predicting the
 * trained size again. The loss is the cross-entropy of the averaged probabilities.
 */
export async function evaluateAtScales(evaluation: Evaluation, model: tf.LayersModel, input: ModelInput, options: { batchSize?: number } = {}): Promise<Evaluation> {
  const scales = checkScales(input.scales ?? [1]);
  if (!scales.includes(1)) throw new Error(`evaluateAtScales: scales ${JSON.stringify(scales)} must include 1, the size the evaluation was made at`);
  const others = scales.filter((s) => s !== 1);
  if (others.length === 0) return evaluation;
  const predicted = await predictFiles(model, evaluation.files, { ...input, scales: others, batchSize: options.batchSize });
  if (predicted.failed.size > 0) throw new Error(`${evaluation.files[[...predicted.failed.keys()][0]]} could not be decoded at another scale, though it was evaluated: is the file changing?`);
  const probabilities = meanOf([evaluation.probabilities, ...predicted.byScale]);
  const n = evaluation.labels.length;
  const k = probabilities.length / n;
  const predictions = new Int32Array(n);
  let right = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const row = probabilities.subarray(i * k, (i + 1) * k);
    predictions[i] = row.indexOf(Math.max(...row));
    if (predictions[i] === evaluation.labels[i]) right++;
    loss -= Math.log(Math.max(row[evaluation.labels[i]], 1e-12));
  }
  return { ...evaluation, probabilities, predictions, accuracy: right / n, loss: loss / n };
}

/** What predictEnsemble needs of a loaded classifier (see loadClassifier). */
export interface EnsembleMember {
  model: tf.LayersModel;
  input: ModelInput;
  classes: readonly string[];
  /** Where it came from, for errors: e.g. its folder. */
  name?: string;
}

/**
 * Several classifiers as one (e.g. notebook 05 trained under other seeds): each predicts with its own
 * input (size, convention, windows, scales) and their probabilities are averaged. `byWindow` (`byScale`)
 * is averaged too when every member has the same windows (scales), else it is empty. An image any
 * member cannot decode is failed.
 */
export async function predictEnsemble(members: readonly EnsembleMember[], files: readonly string[], options: Omit<PredictOptions, keyof ModelInput> = {}): Promise<ImagePredictions> {
  if (members.length === 0) throw new Error("predictEnsemble: no classifiers given");
  const [first, ...others] = members;
  const label = (m: EnsembleMember, i: number) => m.name ?? `classifier ${i + 1}`;
  others.forEach((m, i) => {
    if (m.classes.join("\n") !== first.classes.join("\n")) {
      throw new Error(`${label(m, i + 1)} has other classes than ${label(first, 0)} (${m.classes.length} against ${first.classes.length}, or in another order): only classifiers of one split can be averaged`);
    }
  });
  const windowsKey = (m: EnsembleMember) => (m.input.windows ?? [0.5]).join();
  const sameWindows = members.every((m) => windowsKey(m) === windowsKey(first));
  const scalesKey = (m: EnsembleMember) => (m.input.scales ?? [1]).join();
  const sameScales = members.every((m) => scalesKey(m) === scalesKey(first));
  const all: ImagePredictions[] = [];
  for (const m of members) all.push(await predictFiles(m.model, files, { ...options, ...m.input }));
  if (all.length === 1) return all[0];
  const mean = (pick: (p: ImagePredictions) => Float32Array) => meanOf(all.map(pick));
  const failed = new Map(all.flatMap((p) => [...p.failed]));
  const numClasses = first.classes.length;
  const probabilities = mean((p) => p.probabilities);
  const byWindow = sameWindows ? all[0].byWindow.map((_, w) => mean((p) => p.byWindow[w])) : [];
  const byScale = sameScales ? all[0].byScale.map((_, s) => mean((p) => p.byScale[s])) : [];
  for (const index of failed.keys()) for (const out of [probabilities, ...byWindow, ...byScale]) out.fill(0, index * numClasses, (index + 1) * numClasses);
  return { files: [...files], probabilities, byWindow, byScale, failed };
}

type ViewBatch = ImageBatch & { view: number };

/** The softmax of one inference pass over a batch (one view, one brightness factor), for the rows `indices`. */
interface Pass {
  view: number;
  indices: number[];
  rowsFailed: number[];
  softmax: Float32Array;
}

async function* predictFolded(model: tf.LayersModel, batches: AsyncIterable<ViewBatch>, factors: number[], convention: InputConventionName): AsyncGenerator<Pass> {
  const folded = foldedInference(model); // BatchNorm folded into the convolutions: the same outputs, faster
  try {
    for await (const batch of batches) {
      for (const f of factors) {
        const softmax = tf.tidy(() => tf.softmax(folded.predict(f === 1 ? batch.x : withBrightness(batch.x, f, convention)) as tf.Tensor2D).dataSync() as Float32Array);
        yield { view: batch.view, indices: batch.indices, rowsFailed: batch.failed, softmax };
      }
      tf.dispose([batch.x, batch.y]);
    }
  } finally {
    folded.dispose();
  }
}

/** Every pass whole on one of `shares` threads (ParallelTrunk: the unfolded model, bit-identical on each thread). */
async function* predictOnThreads(model: tf.LayersModel, batches: AsyncIterable<ViewBatch>, factors: number[], shares: number, convention: InputConventionName): AsyncGenerator<Pass> {
  async function* views(): AsyncGenerator<{ x: tf.Tensor; view: number; indices: number[]; rowsFailed: number[] }> {
    for await (const batch of batches) {
      for (const f of factors) yield { x: f === 1 ? tf.clone(batch.x) : withBrightness(batch.x, f, convention), view: batch.view, indices: batch.indices, rowsFailed: batch.failed };
      tf.dispose([batch.x, batch.y]);
    }
  }
  const done: Pass[] = [];
  const runner = await ParallelTrunk.start(model, shares);
  try {
    await runner.run(views(), (view, logits) => done.push({ view: view.view, indices: view.indices, rowsFailed: view.rowsFailed, softmax: softmaxRows(logits, logits.length / view.indices.length) }));
  } finally {
    await runner.close();
  }
  for (const pass of done) yield pass;
}

function softmaxRows(logits: Float32Array, width: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let start = 0; start < logits.length; start += width) {
    let max = -Infinity;
    for (let c = 0; c < width; c++) max = Math.max(max, logits[start + c]);
    let sum = 0;
    for (let c = 0; c < width; c++) sum += out[start + c] = Math.exp(logits[start + c] - max);
    for (let c = 0; c < width; c++) out[start + c] /= sum;
  }
  return out;
}

/** torchvision adjust_brightness on a normalised batch: back to [0, 1], scale, clamp, normalise again. */
export function withBrightness(x: tf.Tensor4D, factor: number, convention?: InputConventionName): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean: m, std: s } = inputConvention(convention);
    const mean = tf.tensor1d([...m]);
    const std = tf.tensor1d([...s]);
    const pixels = tf.add(tf.mul(x, std), mean);
    return tf.div(tf.sub(tf.clipByValue(tf.mul(pixels, factor), 0, 1), mean), std) as tf.Tensor4D;
  });
}
