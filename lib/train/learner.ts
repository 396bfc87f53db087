import * as tf from "@tensorflow/tfjs";
import { foldedInference, type FoldedModel } from "../backends/folded-inference";
import { DataParallel, type ParallelStep } from "../parallel/data-parallel";
import { trainingLoss } from "../parallel/protocol";
import { defaultShares } from "../parallel/parallel-trunk";
import { wasmHeapBytes } from "../backend";
import { readCheckpoint, writeCheckpoint } from "./checkpoint";
import { asHeapExhaustion, assertFiniteWeights, explainingHeapExhaustion, TrainingDivergedError } from "./weight-health";
import type { Batch, BatchSource } from "./batch-source";
import type { Callback, EpochRecord } from "./callback";

/** Trainable variables that share one optimiser and learning rate (the seed: layer3[18:], layer4, fc). */
export interface OptimizerGroup {
  name: string;
  variables: readonly tf.LayerVariable[];
  lr: number;
}

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** Row-major [images, classes] softmax probabilities. */
  probabilities: Float32Array;
  predictions: Int32Array;
  labels: Int32Array;
  files: string[];
}

export interface LearnerOptions {
  model: tf.LayersModel;
  /**
   * The trainable top of `model` (see splitAtFreezePoint), for batches that carry cached trunk
   * features instead of images (see cachedFeatureSource). Batches of images still go through `model`.
   */
  top?: tf.LayersModel;
  groups: OptimizerGroup[];
  train: BatchSource;
  valid?: BatchSource;
  classes: readonly string[];
  callbacks?: Callback[];
  /**
   * Opt-in: training steps on `shares` threads at once (the main thread and shares - 1 worker
   * threads, each with its own wasm backend; see lib/parallel/data-parallel.ts). Omitted or 1: the
   * single-thread path. Call close() when done to stop the workers.
   */
  parallel?: { shares: number };
  /**
   * Label smoothing ε of the training loss, as PyTorch's `CrossEntropyLoss(label_smoothing=ε)`
   * (default 0). Validation loss is always plain cross-entropy, so checkpoints compare across ε.
   */
  labelSmoothing?: number;
}

/**
 * Threads to give `parallel` when the user does not say: both cores on the wasm backend (it runs
 * one thread per instance in Node), 1 on other backends, which run their own thread pools. On 2
 * cores, training the top of nsfwjs MobileNetV2 @224 (head + 8 blocks, cached features) took 45 s
 * an epoch on 2 threads against 85 s on 1.
 */
export function defaultTrainingThreads(): number {
  return defaultShares(Number.MAX_SAFE_INTEGER);
}

interface CheckpointMeta {
  kind: "learner";
  epoch: number;
  stopped: boolean;
  history: EpochRecord[];
  groups: { name: string; lr: number; iterations: number; accBeta1: number; accBeta2: number }[];
  weights: { name: string; shape: number[] }[];
}

/** tfjs keeps these private; we need them to change rates and to resume Adam bit for bit. */
interface AdamInternals {
  learningRate: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
}

/**
 * Keeps a model, its parameter groups (one Adam each) and the training history between notebook
 * cells. `fit(n)` trains n more epochs and can be called again and again. After `restore()` of a
 * checkpoint, re-running the same sequence of `fit` calls skips what the checkpoint already covers
 * and continues where the interrupted run stopped.
 */
export class Learner {
  readonly model: tf.LayersModel;
  readonly top?: tf.LayersModel;
  readonly groups: OptimizerGroup[];
  readonly classes: readonly string[];
  train: BatchSource;
  valid?: BatchSource;
  callbacks: Callback[];
  history: EpochRecord[] = [];
  /** Epochs trained so far (including those restored from a checkpoint). */
  epoch = 0;
  /** Set by a callback (e.g. early stopping) to end training; later `fit` calls do nothing. */
  stopped = false;
  private planned = 0;
  private readonly optimizers: tf.AdamOptimizer[];
  private readonly shares: number;
  readonly labelSmoothing: number;
  /** The `parallel` option's worker pools, one per network trained (the model, or its top on cached features). */
  private readonly pools = new Map<tf.LayersModel, Promise<DataParallel>>();

  constructor(options: LearnerOptions) {
    this.model = options.model;
    this.top = options.top;
    this.groups = options.groups.map((g) => ({ ...g }));
    this.classes = options.classes;
    this.train = options.train;
    this.valid = options.valid;
    this.callbacks = options.callbacks ?? [];
    this.shares = options.parallel?.shares ?? 1;
    if (!Number.isInteger(this.shares) || this.shares < 1) throw new Error(`parallel.shares must be an integer >= 1, got ${this.shares}`);
    this.labelSmoothing = options.labelSmoothing ?? 0;
    if (!(this.labelSmoothing >= 0 && this.labelSmoothing < 1)) throw new Error(`labelSmoothing must be in [0, 1), got ${options.labelSmoothing}`);
    checkGroups(this.groups);
    // epsilon 1e-8 as PyTorch's Adam (tfjs defaults to the backend's 1e-7).
    this.optimizers = this.groups.map((g) => tf.train.adam(g.lr, 0.9, 0.999, 1e-8));
  }

  learningRates(): Record<string, number> {
    return Object.fromEntries(this.groups.map((g) => [g.name, g.lr]));
  }

  /** One rate for every group, or a rate per group name. */
  setLearningRates(rates: number | Record<string, number>): void {
    this.groups.forEach((group, i) => {
      const lr = typeof rates === "number" ? rates : rates[group.name];
      if (lr === undefined) return;
      if (!(lr >= 0)) throw new Error(`learning rate for ${group.name} must be >= 0, got ${lr}`);
      group.lr = lr;
      (this.optimizers[i] as unknown as AdamInternals).learningRate = lr;
    });
    const unknown = typeof rates === "number" ? [] : Object.keys(rates).filter((n) => !this.groups.some((g) => g.name === n));
    if (unknown.length) throw new Error(`no parameter group ${unknown.join(", ")}; groups are ${this.groups.map((g) => g.name).join(", ")}`);
  }

  /** Trains `epochs` more epochs (fewer when a restored checkpoint already covers some). */
  async fit(epochs: number): Promise<EpochRecord[]> {
    const toEpoch = (this.planned += epochs);
    const fromEpoch = Math.max(this.epoch, toEpoch - epochs);
    if (this.stopped || fromEpoch >= toEpoch) return [];
    for (const cb of this.callbacks) await cb.onFitStart?.(this, { fromEpoch, toEpoch });
    const records: EpochRecord[] = [];
    for (let e = fromEpoch; e < toEpoch && !this.stopped; e++) {
      const record = await this.trainEpoch(e);
      this.epoch = e + 1;
      this.history.push(record);
      records.push(record);
      for (const cb of this.callbacks) await cb.onEpochEnd?.(this, record);
    }
    for (const cb of this.callbacks) await cb.onFitEnd?.(this);
    return records;
  }

  private async trainEpoch(epochIndex: number): Promise<EpochRecord> {
    const started = Date.now();
    const variables = this.groups.map((g) => g.variables.map((v) => v.read() as tf.Variable));
    const all = variables.flat();
    let images = 0;
    let lossSum = 0;
    let correct = 0;
    for await (const batch of this.train.batches(epochIndex)) {
      if ((batch.views ?? 1) > 1) throw new Error("a training batch holds several views of each image: views are for evaluation sources only");
      const n = batch.y.shape[0];
      let batchLoss: number;
      let batchHits: number;
      if (this.shares > 1) {
        ({ batchLoss, batchHits } = await this.parallelStep(batch, variables));
      } else {
        const { loss, hits } = explainingHeapExhaustion(() => tf.tidy(() => {
          let hits: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const logits = this.networkFor(batch.x).apply(batch.x, { training: true }) as tf.Tensor2D;
            hits = tf.keep(correctCount(logits, batch.y)); // the logits die with this scope
            return trainingLoss(logits, batch.y, this.classes.length, this.labelSmoothing);
          }, all);
          variables.forEach((vars, i) => this.optimizers[i].applyGradients(vars.map((v) => ({ name: v.name, tensor: grads[v.name] }))));
          return { loss: value, hits: hits! };
        }), `a training step on a batch of ${batch.x.shape.join("x")}`);
        batchLoss = loss.dataSync()[0];
        batchHits = hits.dataSync()[0];
        tf.dispose([loss, hits]);
      }
      tf.dispose([batch.x, batch.y]);
      if (!Number.isFinite(batchLoss)) {
        throw new TrainingDivergedError(
          `loss became ${batchLoss} in epoch ${epochIndex + 1} after ${images} images: training stopped. ` +
            `The weights in memory are unusable; restore the last checkpoint and lower the learning rates.`,
        );
      }
      images += n;
      lossSum += batchLoss * n;
      correct += batchHits;
      for (const cb of this.callbacks) cb.onBatchEnd?.(this, { epoch: epochIndex + 1, images, totalImages: this.train.size, loss: lossSum / images });
    }
    if (images === 0) throw new Error("the training set yielded no batches");
    assertFiniteWeights(this.model, `in epoch ${epochIndex + 1}`);
    const record: EpochRecord = {
      epoch: epochIndex + 1,
      trainLoss: lossSum / images,
      trainAccuracy: correct / images,
      seconds: 0,
      lrs: this.learningRates(),
      wasmHeapBytes: wasmHeapBytes(),
      threads: this.shares,
    };
    if (this.valid) {
      const evaluation = await this.evaluate(this.valid);
      record.validLoss = evaluation.loss;
      record.validAccuracy = evaluation.accuracy;
    }
    record.seconds = (Date.now() - started) / 1000;
    return record;
  }

  /** One training step on all shares (opt-in `parallel`): gradients summed over the shares, then each group's Adam. */
  private async parallelStep(batch: Batch, variables: tf.Variable[][]): Promise<{ batchLoss: number; batchHits: number }> {
    let step: ParallelStep;
    try {
      step = await (await this.dataParallel(this.networkFor(batch.x))).step(batch.x, batch.y);
    } catch (error) {
      throw asHeapExhaustion(error, `a training step on a batch of ${batch.x.shape.join("x")} over ${this.shares} threads`);
    }
    tf.tidy(() => variables.forEach((vars, i) => this.optimizers[i].applyGradients(vars.map((v) => ({ name: v.name, tensor: step.grads[v.name] })))));
    tf.dispose(Object.values(step.grads));
    return { batchLoss: step.loss, batchHits: step.hits };
  }

  private dataParallel(network: tf.LayersModel): Promise<DataParallel> {
    let pool = this.pools.get(network);
    if (!pool) this.pools.set(network, (pool = DataParallel.start(network, this.groups.flatMap((g) => g.variables), this.classes.length, { shares: this.shares, labelSmoothing: this.labelSmoothing })));
    return pool;
  }

  /** Stops the worker threads of the `parallel` option (a later fit starts them again). */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    for (const pool of pools) await (await pool).close();
  }

  /** Frees what training allocated (Adam's moment estimates, worker threads), not the model; the learner cannot train afterwards. */
  async dispose(): Promise<void> {
    await this.close();
    for (const optimizer of this.optimizers) optimizer.dispose();
  }

  /** Loss, accuracy (counted per image) and every prediction, in inference mode. */
  async evaluate(source: BatchSource): Promise<Evaluation> {
    const probabilities: number[] = [];
    const labels: number[] = [];
    const files: string[] = [];
    let lossSum = 0;
    // BatchNorm folded into the convolutions (the weights do not change while evaluating): same outputs, faster.
    const folded = new Map<tf.LayersModel, FoldedModel>();
    const foldedFor = (network: tf.LayersModel): FoldedModel => {
      let f = folded.get(network);
      if (!f) folded.set(network, (f = foldedInference(network))); // outside any tidy: it lives until the end
      return f;
    };
    try {
      for await (const batch of source.batches(0)) {
        // Opt-in `parallel`: the rows are shared out over the threads.
        const network = this.networkFor(batch.x);
        const shared = this.shares > 1 ? await (await this.dataParallel(network)).predict(batch.x) : undefined;
        const local = shared ? undefined : foldedFor(network);
        const { loss, probs } = explainingHeapExhaustion(() => tf.tidy(() => {
          const logits = shared ?? (local!.predict(batch.x) as tf.Tensor2D);
          const views = batch.views ?? 1;
          if (views === 1) return { loss: trainingLoss(logits, batch.y, this.classes.length), probs: tf.softmax(logits) };
          // The averaged prediction, and the cross-entropy of that average.
          const mean = tf.mean(tf.reshape(tf.softmax(logits), [views, batch.y.shape[0], this.classes.length]), 0) as tf.Tensor2D;
          const picked = tf.sum(tf.mul(mean, tf.oneHot(batch.y, this.classes.length)), 1);
          return { loss: tf.neg(tf.mean(tf.log(tf.maximum(picked, 1e-12)))) as tf.Scalar, probs: mean };
        }), `evaluating a batch of ${batch.x.shape.join("x")}`);
        shared?.dispose();
        const n = batch.y.shape[0];
        lossSum += loss.dataSync()[0] * n;
        probabilities.push(...probs.dataSync());
        labels.push(...batch.y.dataSync());
        files.push(...(batch.files ?? []));
        tf.dispose([loss, probs, batch.x, batch.y]);
      }
    } finally {
      for (const f of folded.values()) f.dispose();
    }
    const k = this.classes.length;
    const predictions = Int32Array.from({ length: labels.length }, (_, i) => argMax(probabilities, i * k, k));
    const correct = predictions.reduce((sum, p, i) => sum + (p === labels[i] ? 1 : 0), 0);
    return {
      loss: labels.length ? lossSum / labels.length : NaN,
      accuracy: labels.length ? correct / labels.length : NaN,
      probabilities: Float32Array.from(probabilities),
      predictions,
      labels: Int32Array.from(labels),
      files,
    };
  }

  /** The whole model for images, its top for cached features: chosen by the batch's shape. */
  private networkFor(x: tf.Tensor): tf.LayersModel {
    const rowShape = x.shape.slice(1).join("x");
    const inputShape = (net: tf.LayersModel) => net.inputs[0].shape.slice(1).join("x");
    if (rowShape === inputShape(this.model)) return this.model;
    if (this.top && rowShape === inputShape(this.top)) return this.top;
    const expected = [this.model, this.top].filter((n) => n !== undefined).map((n) => `${inputShape(n!)} (${n!.name})`).join(" or ");
    throw new Error(`a batch row is ${rowShape} but the learner takes ${expected}: images of the model's input size, or features from its trunk`);
  }

  /** Saves weights, optimiser states, rates, history and the epoch counter; refuses non-finite weights. */
  async save(file: string): Promise<void> {
    assertFiniteWeights(this.model, `before saving ${file}`);
    const tensors = new Map<string, tf.Tensor>();
    for (const w of this.model.weights) tensors.set(`model/${w.originalName}`, w.read());
    const groups: CheckpointMeta["groups"] = [];
    for (const [i, optimizer] of this.optimizers.entries()) {
      const internals = optimizer as unknown as AdamInternals;
      for (const { name, tensor } of await optimizer.getWeights()) {
        if (name !== "iter") tensors.set(`optimizer/${this.groups[i].name}/${name}`, tensor);
      }
      groups.push({
        name: this.groups[i].name,
        lr: this.groups[i].lr,
        iterations: optimizer.iterations,
        accBeta1: internals.accBeta1.dataSync()[0],
        accBeta2: internals.accBeta2.dataSync()[0],
      });
    }
    const meta: CheckpointMeta = {
      kind: "learner",
      epoch: this.epoch,
      stopped: this.stopped,
      history: this.history,
      groups,
      weights: this.model.weights.map((w) => ({ name: w.originalName, shape: w.shape as number[] })),
    };
    writeCheckpoint(file, meta, tensors);
  }

  /** Restores a checkpoint written by `save` into this learner (same architecture and groups). */
  async restore(file: string): Promise<void> {
    const { meta, tensors } = readCheckpoint<CheckpointMeta>(file);
    try {
      checkSameArchitecture(file, meta, this.model);
      for (const w of this.model.weights) w.write(tensors.get(`model/${w.originalName}`)!);
      for (const [i, optimizer] of this.optimizers.entries()) {
        const saved = meta.groups.find((g) => g.name === this.groups[i].name);
        if (!saved) throw new Error(`${file} has no parameter group "${this.groups[i].name}" (it has ${meta.groups.map((g) => g.name).join(", ")})`);
        const prefix = `optimizer/${saved.name}/`;
        const state = [...tensors].filter(([name]) => name.startsWith(prefix)).map(([name, tensor]) => ({ name: name.slice(prefix.length), tensor }));
        await optimizer.setWeights([{ name: "iter", tensor: tf.scalar(saved.iterations, "int32") }, ...state]);
        const internals = optimizer as unknown as AdamInternals;
        internals.accBeta1.assign(tf.scalar(saved.accBeta1));
        internals.accBeta2.assign(tf.scalar(saved.accBeta2));
        this.groups[i].lr = saved.lr;
        internals.learningRate = saved.lr;
      }
    } finally {
      tf.dispose([...tensors.values()]);
    }
    this.epoch = meta.epoch;
    this.stopped = meta.stopped;
    this.history = meta.history;
  }

  /** Loads only the model weights of a checkpoint (e.g. the best one), leaving training state alone. */
  loadWeights(file: string): void {
    const { meta, tensors } = readCheckpoint<CheckpointMeta>(file);
    try {
      checkSameArchitecture(file, meta, this.model);
      for (const w of this.model.weights) w.write(tensors.get(`model/${w.originalName}`)!);
    } finally {
      tf.dispose([...tensors.values()]);
    }
  }
}

function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), "int32"));
}

function argMax(values: readonly number[], offset: number, length: number): number {
  let best = 0;
  for (let j = 1; j < length; j++) if (values[offset + j] > values[offset + best]) best = j;
  return best;
}

function checkGroups(groups: readonly OptimizerGroup[]): void {
  const owner = new Map<string, string>();
  for (const group of groups) {
    for (const v of group.variables) {
      const other = owner.get(v.name);
      if (other) throw new Error(`variable ${v.name} is in parameter groups "${other}" and "${group.name}"`);
      if (!v.trainable) throw new Error(`variable ${v.name} in group "${group.name}" is frozen (trainable = false)`);
      owner.set(v.name, group.name);
    }
  }
}

function checkSameArchitecture(file: string, meta: CheckpointMeta, model: tf.LayersModel): void {
  if (meta.kind !== "learner") throw new Error(`${file} is not a training checkpoint`);
  const saved = new Map(meta.weights.map((w) => [w.name, w.shape.join("x")]));
  const mismatch = model.weights.find((w) => saved.get(w.originalName) !== (w.shape as number[]).join("x"));
  if (mismatch || saved.size !== model.weights.length) {
    const detail = mismatch
      ? `${mismatch.originalName} is ${(mismatch.shape as number[]).join("x")} here but ${saved.get(mismatch.originalName) ?? "absent"} in the checkpoint`
      : `${saved.size} weights in the checkpoint, ${model.weights.length} in the model`;
    throw new Error(`${file} was saved from another architecture (${detail}): build the same model, or start without it`);
  }
}
