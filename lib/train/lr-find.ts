// The learning-rate range test (Smith 2015, "Cyclical Learning Rates"; fastai's lr_find): train
// from the current weights with an exponentially growing rate, one step per batch, record the
// loss, stop when it diverges, then put every weight back. The suggestions follow fastai's
// (minimum / 10, steepest descent, longest valley) on the smoothed loss.
import * as tf from "@tensorflow/tfjs";
import type { Batch } from "./batch-source";
import type { Learner } from "./learner";
import { trainingLoss } from "../parallel/protocol";

export interface LrFindOptions {
  /** Rate of the first step (fastai: 1e-7). */
  startLr?: number;
  /** Rate the last step would reach (fastai: 10). */
  endLr?: number;
  /** Steps (batches) at most (fastai: 100); the epochs of the training source repeat as needed. */
  iterations?: number;
  /** Exponential smoothing of the loss, debiased (fastai: 0.98). */
  beta?: number;
  /** Stop when the smoothed loss exceeds this many times its minimum (fastai: 4). */
  divergence?: number;
  /**
   * The parameter group whose rate sweeps; the other groups stay still (rate 0), so the curve is
   * that group's alone. Omitted: every group sweeps at the same rate, as fastai does.
   */
  group?: string;
}

export interface LrSuggestions {
  /** A tenth of the rate at the lowest smoothed loss. */
  minimum: number;
  /** Where the smoothed loss falls fastest per log-rate. */
  steep: number;
  /** fastai's default: a third of the way into the longest descending stretch. */
  valley: number;
}

export interface LrFindResult {
  /** The swept group's name, or "all". */
  group: string;
  lrs: number[];
  losses: number[];
  smoothed: number[];
  /** Stopped because the loss diverged (before `iterations`). */
  diverged: boolean;
  suggestions: LrSuggestions;
  seconds: number;
}

/**
 * Runs the range test on the learner's model (or its top, for batches of cached trunk features) and
 * training source. Its own Adam per group (the learner's settings, fresh moments) does the steps,
 * so the learner's optimisers are never touched; every weight of the model (BatchNorm statistics
 * included) is copied before and written back after, so the learner is bit for bit as before.
 */
export async function lrFind(learner: Learner, options: LrFindOptions = {}): Promise<LrFindResult> {
  const { startLr = 1e-7, endLr = 10, iterations = 100, beta = 0.98, divergence = 4 } = options;
  if (!(startLr > 0 && endLr > startLr)) throw new Error(`lrFind needs 0 < startLr < endLr, got ${startLr}, ${endLr}`);
  if (!(Number.isInteger(iterations) && iterations >= 2)) throw new Error(`lrFind: iterations must be a whole number >= 2, got ${iterations}`);
  const groups = options.group === undefined ? learner.groups : learner.groups.filter((g) => g.name === options.group);
  if (groups.length === 0) throw new Error(`no parameter group ${options.group}; groups are ${learner.groups.map((g) => g.name).join(", ")}`);
  const started = Date.now();
  const saved = learner.model.weights.map((w) => tf.keep(w.read().clone()));
  const optimizers = groups.map(() => tf.train.adam(startLr, 0.9, 0.999, 1e-8));
  const variables = groups.map((g) => g.variables.map((v) => v.read() as tf.Variable));
  const numClasses = learner.classes.length;
  const result: LrFindResult = { group: options.group ?? "all", lrs: [], losses: [], smoothed: [], diverged: false, suggestions: { minimum: NaN, steep: NaN, valley: NaN }, seconds: 0 };
  let average = 0;
  let best = Infinity;
  try {
    for (let epoch = 0; result.lrs.length < iterations && !result.diverged; epoch++) {
      let batches = 0;
      for await (const batch of learner.train.batches(epoch)) {
        batches++;
        const step = result.lrs.length;
        const lr = startLr * (endLr / startLr) ** (step / iterations);
        for (const optimizer of optimizers) (optimizer as unknown as { learningRate: number }).learningRate = lr;
        const loss = trainStep(networkFor(learner, batch), batch, variables, optimizers, numClasses, learner.labelSmoothing);
        tf.dispose([batch.x, batch.y]);
        average = beta * average + (1 - beta) * loss;
        const smooth = average / (1 - beta ** (step + 1));
        result.lrs.push(lr);
        result.losses.push(loss);
        result.smoothed.push(smooth);
        if (smooth < best) best = smooth;
        if (!Number.isFinite(smooth) || smooth > divergence * best) result.diverged = true;
        if (result.diverged || result.lrs.length >= iterations) break;
      }
      if (batches === 0) throw new Error("lrFind: the training source yielded no batches");
    }
  } finally {
    learner.model.weights.forEach((w, i) => w.write(saved[i]));
    tf.dispose(saved);
    for (const optimizer of optimizers) optimizer.dispose();
  }
  result.suggestions = suggestLearningRates(result.lrs, result.smoothed, iterations);
  result.seconds = (Date.now() - started) / 1000;
  return result;
}

/** One range test per parameter group (body and head each get their own curve and suggestions). */
export async function lrFindPerGroup(learner: Learner, options: Omit<LrFindOptions, "group"> = {}): Promise<LrFindResult[]> {
  const results: LrFindResult[] = [];
  for (const group of learner.groups) results.push(await lrFind(learner, { ...options, group: group.name }));
  return results;
}

function trainStep(network: tf.LayersModel, batch: Batch, variables: tf.Variable[][], optimizers: tf.AdamOptimizer[], numClasses: number, labelSmoothing: number): number {
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const logits = network.apply(batch.x, { training: true }) as tf.Tensor2D;
      return trainingLoss(logits, batch.y, numClasses, labelSmoothing);
    }, variables.flat());
    variables.forEach((vars, i) => optimizers[i].applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] }))));
    return value;
  });
  const value = loss.dataSync()[0];
  loss.dispose();
  return value;
}

/** The learner's model for images, its top for cached trunk features (as the learner chooses). */
function networkFor(learner: Learner, batch: Batch): tf.LayersModel {
  const row = batch.x.shape.slice(1).join("x");
  const top = learner.top;
  if (top && row === top.inputs[0].shape.slice(1).join("x")) return top;
  return learner.model;
}

/**
 * fastai's three suggestions, on the curve without its first tenth of `iterations` and its last 5
 * points (the start is noise around the initial loss, the end the divergence), or the whole
 * curve when that leaves fewer than 3 points.
 */
export function suggestLearningRates(lrs: readonly number[], losses: readonly number[], iterations = lrs.length): LrSuggestions {
  let from = Math.floor(iterations / 10);
  let to = lrs.length - 5;
  if (to - from < 3) [from, to] = [0, lrs.length];
  const x = lrs.slice(from, to);
  const y = losses.slice(from, to);
  if (x.length === 0) return { minimum: NaN, steep: NaN, valley: NaN };
  let lowest = 0;
  y.forEach((v, i) => (v < y[lowest] ? (lowest = i) : undefined));
  let steepest = 0;
  let slope = Infinity;
  for (let i = 0; i + 1 < x.length; i++) {
    const s = (y[i + 1] - y[i]) / (Math.log(x[i + 1]) - Math.log(x[i]));
    if (s < slope) [slope, steepest] = [s, i];
  }
  return { minimum: x[lowest] / 10, steep: x[steepest], valley: x[valleyIndex(y)] };
}

/** fastai's valley: the longest decreasing subsequence; a third plus a sixth of the way along it. */
function valleyIndex(losses: readonly number[]): number {
  const n = losses.length;
  const lengths = new Array<number>(n).fill(1);
  let [start, end] = [0, 0];
  for (let i = 1; i < n; i++) {
    for (let j = 0; j < i; j++) {
      if (losses[i] < losses[j] && lengths[i] < lengths[j] + 1) lengths[i] = lengths[j] + 1;
      if (lengths[end] < lengths[i]) {
        end = i;
        start = end - lengths[end];
      }
    }
  }
  const sections = (end - start) / 3;
  return Math.max(0, Math.min(n - 1, start + Math.floor(sections) + Math.floor(sections / 2)));
}
