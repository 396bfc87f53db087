// Data-parallel training steps on several cores. tfjs' wasm backend runs on one thread in Node, so
// each extra core gets a worker thread with its own wasm backend and its own copy of the model.
// A step splits the batch into `shares` parts: the main thread computes the first, each worker one
// of the others, at the same time; the workers' gradients come back through shared memory and
// are added to the main thread's, which applies the optimiser. Before the next step the main
// thread writes every weight (trained ones and BatchNorm statistics) to shared memory, and the
// workers load them, so every share always starts from the same weights.
//
// Each share's loss is its mean cross-entropy weighted by its rows / batch rows, so the summed
// gradients are those of the whole batch's mean loss: with no BatchNorm in training mode (frozen
// BatchNorm layers use their moving statistics) they match one-thread training up to float
// rounding (test/parallel-training.test.ts). A BatchNorm in training mode normalises each share
// with its own batch statistics ("ghost batch norm", like PyTorch's DataParallel), and only the
// main thread's share updates the moving statistics.
import * as tf from "@tensorflow/tfjs";
import * as path from "node:path";
import type { Worker } from "node:worker_threads";
import { foldedInference, type FoldedModel } from "../backends/folded-inference";
import { gradientShare, offsetsOf, type InitMessage, type StepMessage, type WorkerReply } from "./protocol";
import { startWorker } from "./worker-thread";

export interface DataParallelOptions {
  /** Threads computing gradients, the main thread included (2 on a 2-core machine). */
  shares: number;
  /** The training loss's label smoothing (default 0). */
  labelSmoothing?: number;
}

export interface ParallelStep {
  loss: number;
  hits: number;
  /** Gradients of the whole batch by variable name; the caller disposes them. */
  grads: Record<string, tf.Tensor>;
}

const WORKER_FILE = path.join(__dirname, "gradient-worker.ts");

export class DataParallel {
  private readonly weightsView: Float32Array;
  /** Per worker: the gradients it wrote, flattened. */
  private readonly gradViews: Float32Array[];
  private readonly weightOffsets: number[];
  private readonly gradOffsets: number[];
  /** The data of each weight last written to shared memory: a weight whose data is the same need not be sent again. */
  private readonly synced: object[] = [];
  private closed = false;
  private readonly labelSmoothing: number;
  /** The main thread's folded copy for predict, and the weight data it was folded from. */
  private folded?: { model: FoldedModel; from: object[] };

  private constructor(
    private readonly model: tf.LayersModel,
    private readonly variables: tf.LayerVariable[],
    private readonly numClasses: number,
    private readonly workers: Worker[],
    private readonly replies: ((reply: WorkerReply) => void)[][],
    inits: InitMessage[],
  ) {
    this.labelSmoothing = inits[0].labelSmoothing;
    this.weightsView = new Float32Array(inits[0].weights);
    this.gradViews = inits.map((init) => new Float32Array(init.grads));
    this.weightOffsets = offsetsOf(inits[0].weightShapes);
    this.gradOffsets = offsetsOf(inits[0].trainable.map((i) => inits[0].weightShapes[i]));
  }

  /** Starts `shares - 1` workers with copies of `model`; `variables` are the ones to train (in model.weights). */
  static async start(model: tf.LayersModel, variables: readonly tf.LayerVariable[], numClasses: number, options: DataParallelOptions): Promise<DataParallel> {
    const { shares } = options;
    if (!Number.isInteger(shares) || shares < 2) throw new Error(`DataParallel needs at least 2 shares, got ${shares}`);
    const weightShapes = model.weights.map((w) => w.shape as number[]);
    const trainable = variables.map((v) => {
      const i = model.weights.indexOf(v);
      if (i < 0) throw new Error(`variable ${v.name} is not a weight of ${model.name}`);
      return i;
    });
    const size = (shapes: number[][]) => shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
    const base = {
      modelJson: JSON.stringify(model.toJSON(null, false)),
      weightShapes,
      trainable,
      numClasses,
      labelSmoothing: options.labelSmoothing ?? 0,
      weights: new SharedArrayBuffer(4 * size(weightShapes)),
    };
    const workers: Worker[] = [];
    const replies: ((reply: WorkerReply) => void)[][] = [];
    const ready: Promise<void>[] = [];
    const inits: InitMessage[] = [];
    for (let w = 1; w < shares; w++) {
      // One gradient buffer per worker, so that all of them can write at once.
      const init: InitMessage = { ...base, grads: new SharedArrayBuffer(4 * size(trainable.map((i) => weightShapes[i]))) };
      inits.push(init);
      const worker = startWorker(WORKER_FILE, init);
      // Referenced only while a reply is awaited: an idle pool never keeps the process alive, and
      // a pending reply always does.
      const queue: ((reply: WorkerReply) => void)[] = [];
      const answer = (reply: WorkerReply) => {
        queue.shift()?.(reply);
        if (queue.length === 0) worker.unref();
      };
      worker.on("message", answer);
      worker.on("error", (error) => answer({ type: "error", message: error.stack ?? String(error) }));
      ready.push(new Promise((resolve, reject) => queue.push((r) => (r.type === "ready" ? resolve() : reject(new Error(`gradient worker: ${r.type === "error" ? r.message : r.type}`))))));
      workers.push(worker);
      replies.push(queue);
    }
    try {
      await Promise.all(ready);
    } catch (error) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw error;
    }
    return new DataParallel(model, [...variables], numClasses, workers, replies, inits);
  }

  get shares(): number {
    return this.workers.length + 1;
  }

  /** The gradients, loss and correct count of one batch, computed on all shares at once. */
  async step(x: tf.Tensor, y: tf.Tensor1D): Promise<ParallelStep> {
    const { bounds, pending } = this.scatter("grads", x, y);
    const variables = this.variables.map((v) => v.read() as tf.Variable);
    const own = tf.tidy(() => {
      const xs = tf.slice(x, 0, bounds[1]);
      const ys = tf.slice(y, 0, bounds[1]);
      return gradientShare(this.model, variables, xs, ys, this.numClasses, y.shape[0], this.labelSmoothing);
    });
    const replies = await Promise.all(pending);
    let loss = own.loss.dataSync()[0];
    let hits = own.hits.dataSync()[0];
    const failed = replies.find((r) => r.type === "error");
    if (failed) {
      tf.dispose([own.loss, own.hits, ...own.grads]);
      throw new Error(`gradient worker failed: ${failed.type === "error" ? failed.message : ""}`);
    }
    for (const r of replies) {
      if (r.type === "done") {
        loss += r.loss;
        hits += r.hits;
      }
    }
    const grads: Record<string, tf.Tensor> = {};
    tf.tidy(() => {
      variables.forEach((v, k) => {
        let sum = own.grads[k];
        for (const view of this.gradViews) {
          sum = tf.add(sum, tf.tensor(view.subarray(this.gradOffsets[k], this.gradOffsets[k + 1]), v.shape));
        }
        grads[v.name] = tf.keep(sum);
      });
    });
    tf.dispose([own.loss, own.hits, ...own.grads.filter((g) => !Object.values(grads).includes(g))]);
    return { loss, hits, grads };
  }

  /** The model's logits in inference mode (BatchNorm folded into the convolutions), the rows shared out like a training step's. */
  async predict(x: tf.Tensor): Promise<tf.Tensor2D> {
    const { bounds, pending } = this.scatter("logits", x);
    const folded = this.foldedModel();
    const own = tf.tidy(() => folded.predict(tf.slice(x, 0, bounds[1])) as tf.Tensor2D);
    const replies = await Promise.all(pending);
    const parts: tf.Tensor2D[] = [own];
    for (const r of replies) {
      if (r.type !== "logits") {
        tf.dispose(parts);
        throw new Error(`gradient worker failed: ${r.type === "error" ? r.message : r.type}`);
      }
      parts.push(tf.tensor2d(r.data, r.shape as [number, number]));
    }
    const logits = tf.concat(parts, 0);
    tf.dispose(parts);
    return logits;
  }

  /**
   * Writes every weight to shared memory (the workers load them first) and sends each worker its
   * rows of the batch; row range 0 .. bounds[1] is the main thread's share.
   */
  private scatter(kind: StepMessage["kind"], x: tf.Tensor, y?: tf.Tensor1D): { bounds: number[]; pending: Promise<WorkerReply>[] } {
    if (this.closed) throw new Error("DataParallel is closed");
    const rows = x.shape[0];
    const bounds = Array.from({ length: this.shares + 1 }, (_, i) => Math.round((i * rows) / this.shares));
    // tfjs gives a variable new data (a new dataId) on every write, so an unchanged dataId is an unchanged weight.
    const changed: number[] = [];
    this.model.weights.forEach((w, i) => {
      const value = w.read();
      if (this.synced[i] === value.dataId) return;
      this.weightsView.set(value.dataSync() as Float32Array, this.weightOffsets[i]);
      this.synced[i] = value.dataId;
      changed.push(i);
    });
    const rowShape = x.shape.slice(1);
    const rowSize = rowShape.reduce((a, b) => a * b, 1);
    const xData = x.dataSync() as Float32Array;
    const yData = y ? (y.dataSync() as Int32Array) : new Int32Array(rows);
    const pending = this.workers.map((worker, k) => {
      const [from, to] = [bounds[k + 1], bounds[k + 2]];
      const message: StepMessage = {
        kind,
        changed,
        x: xData.slice(from * rowSize, to * rowSize),
        xShape: [to - from, ...rowShape],
        y: yData.slice(from, to),
        total: rows,
      };
      return new Promise<WorkerReply>((resolve) => {
        this.replies[k].push(resolve);
        worker.ref();
        worker.postMessage(message, [message.x.buffer, message.y.buffer]);
      });
    });
    return { bounds, pending };
  }

  /** foldedInference of the model's current weights, folded again only after a weight changed. */
  private foldedModel(): FoldedModel {
    const from = this.model.weights.map((w) => w.read().dataId);
    if (!this.folded || from.some((id, i) => id !== this.folded!.from[i])) {
      this.folded?.model.dispose();
      this.folded = { model: foldedInference(this.model), from };
    }
    return this.folded.model;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.folded?.model.dispose();
    this.folded = undefined;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
