// A frozen trunk run over a stream of batches on several threads: the main thread and shares - 1
// worker threads (each with its own wasm backend and copy of the trunk). Unlike DataParallel, which
// splits each batch into rows, every batch goes whole to one thread, whichever is free: a thread
// then runs exactly the computation one-thread extraction runs on that batch (same kernels, same
// batch), so the outputs are bit-identical to one thread's, whichever thread ran a batch
// (test/parallel-extraction.test.ts). Trunks are frozen, so weights go to the workers once.
import * as os from "node:os";
import * as path from "node:path";
import type { Worker } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs";
import { trunkOutput, type TrunkInit, type TrunkReply } from "./trunk-protocol";
import { startWorker } from "./worker-thread";

const WORKER_FILE = path.join(__dirname, "trunk-worker.ts");

/**
 * Threads for extraction when the caller does not say: 2 when the backend is wasm (single-threaded
 * in Node, so a second core is otherwise idle) and the machine has 2 or more cores, and only when
 * there are at least 2 batches to share out; else 1. Other backends run their own thread pools.
 */
export function defaultShares(batches: number): number {
  if (tf.getBackend() !== "wasm") return 1;
  return Math.max(1, Math.min(2, os.cpus().length, batches));
}

/** One worker thread and the replies it owes, answered in order. */
class TrunkWorker {
  private readonly waiting: ((reply: TrunkReply) => void)[] = [];

  constructor(readonly thread: Worker) {
    const answer = (reply: TrunkReply) => {
      this.waiting.shift()?.(reply);
      // Referenced only while a reply is awaited: an idle worker never keeps the process alive.
      if (this.waiting.length === 0) thread.unref();
    };
    thread.on("message", answer);
    thread.on("error", (error) => answer({ type: "error", message: error.stack ?? String(error) }));
    thread.on("exit", (code) => {
      while (this.waiting.length) answer({ type: "error", message: `trunk worker exited (code ${code})` });
    });
  }

  next(): Promise<TrunkReply> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.thread.ref();
    });
  }

  async run(x: Float32Array, shape: number[]): Promise<Float32Array> {
    const reply = this.next();
    this.thread.postMessage({ x, shape }, [x.buffer]);
    const r = await reply;
    if (r.type !== "output") throw new Error(`trunk worker failed: ${r.type === "error" ? r.message : r.type}`);
    return r.data;
  }
}

export class ParallelTrunk {
  private closed = false;

  private constructor(
    private readonly trunk: tf.LayersModel,
    private readonly workers: TrunkWorker[],
  ) {}

  /** Starts shares - 1 worker threads with copies of `trunk` (none for 1 share). Call close() when done. */
  static async start(trunk: tf.LayersModel, shares: number): Promise<ParallelTrunk> {
    if (!Number.isInteger(shares) || shares < 1) throw new Error(`shares must be an integer >= 1, got ${shares}`);
    if (shares > 1 && tf.getBackend() !== "wasm") {
      throw new Error(`extraction on ${shares} threads needs the wasm backend (the workers run wasm; outputs must match this thread's), not ${tf.getBackend()}`);
    }
    const workers: TrunkWorker[] = [];
    if (shares > 1) {
      const init: TrunkInit = {
        modelJson: JSON.stringify(trunk.toJSON(null, false)),
        weightNames: trunk.weights.map((w) => w.originalName),
        weightShapes: trunk.weights.map((w) => w.shape as number[]),
        weights: trunk.weights.map((w) => w.read().dataSync() as Float32Array),
      };
      for (let k = 1; k < shares; k++) workers.push(new TrunkWorker(startWorker(WORKER_FILE, init)));
      const ready = await Promise.all(workers.map((w) => w.next()));
      const failed = ready.find((r) => r.type !== "ready");
      if (failed) {
        await Promise.all(workers.map((w) => w.thread.terminate()));
        throw new Error(`trunk worker: ${failed.type === "error" ? failed.message : failed.type}`);
      }
    }
    return new ParallelTrunk(trunk, workers);
  }

  get shares(): number {
    return this.workers.length + 1;
  }

  /**
   * Runs the trunk (inference mode) over every batch, each whole on one thread: a free worker if
   * there is one, else this thread. `onOutput` receives each batch with its output, row-major, in
   * the order batches finish. Each batch's `x` is disposed here.
   */
  async run<B extends { x: tf.Tensor }>(batches: AsyncIterable<B>, onOutput: (batch: B, output: Float32Array) => void): Promise<void> {
    if (this.closed) throw new Error("ParallelTrunk is closed");
    const idle = [...this.workers];
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    try {
      for await (const batch of batches) {
        if (failure) {
          batch.x.dispose();
          break;
        }
        // Worker replies arrive as macrotasks; let those that are in land before choosing a thread.
        if (idle.length < this.workers.length) await new Promise((resolve) => setImmediate(resolve));
        const worker = idle.pop();
        if (!worker) {
          const output = trunkOutput(this.trunk, batch.x);
          batch.x.dispose();
          onOutput(batch, output);
          continue;
        }
        const x = (batch.x.dataSync() as Float32Array).slice();
        const shape = batch.x.shape;
        batch.x.dispose();
        const job: Promise<void> = worker
          .run(x, shape)
          .then((output) => onOutput(batch, output))
          .catch((error: unknown) => {
            failure ??= { error };
          })
          .finally(() => {
            idle.push(worker);
            inFlight.delete(job);
          });
        inFlight.add(job);
      }
    } finally {
      await Promise.all(inFlight);
    }
    if (failure) throw failure.error;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.thread.terminate()));
  }
}

/**
 * One ParallelTrunk for several runs over the same frozen trunk (e.g. a training set's draws and the
 * validation windows), started by the first run that needs it and kept until close(): each new
 * worker costs a start and a slow first batch (its heap's pages touched for the first time).
 */
export class SharedParallelTrunk {
  private started?: Promise<ParallelTrunk>;

  constructor(
    readonly trunk: tf.LayersModel,
    readonly shares: number,
  ) {}

  runner(): Promise<ParallelTrunk> {
    this.started ??= ParallelTrunk.start(this.trunk, this.shares);
    return this.started;
  }

  async close(): Promise<void> {
    const started = this.started;
    this.started = undefined;
    if (started) await (await started).close();
  }
}
