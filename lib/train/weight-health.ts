// Checks that stop training before broken weights reach a checkpoint: every weight finite (a
// BatchNorm moving variance can become Infinity while ReLU6 keeps the loss finite), and the wasm
// heap within wasm32's 4 GiB.
import * as tf from "@tensorflow/tfjs";
import { WASM_HEAP_LIMIT_BYTES, wasmHeapBytes } from "../backend";

export class TrainingDivergedError extends Error {}

/** A weight (trainable, or a BatchNorm moving statistic) holds NaN or an infinity. */
export class NonFiniteWeightsError extends TrainingDivergedError {
  constructor(readonly weights: string[], when: string) {
    const named = weights.slice(0, 3).join(", ") + (weights.length > 3 ? ` and ${weights.length - 3} more` : "");
    super(
      `weights became NaN or infinite ${when}: ${named}. Training stopped before writing them, so the last ` +
        `checkpoint on disk is the last good one: restore it and lower the learning rates.`,
    );
  }
}

/** The wasm backend ran out of heap (it aborts, and cannot compute anything afterwards). */
export class WasmHeapFullError extends Error {}

/** Names of the model's weights holding NaN or ±Infinity: one reduction per weight, one read. */
export function nonFiniteWeights(model: tf.LayersModel): string[] {
  const weights = model.weights;
  if (weights.length === 0) return [];
  // x * 0 is 0 for every finite x and NaN for NaN and ±Infinity.
  const sums = tf.tidy(() => tf.stack(weights.map((w) => tf.sum(tf.mul(w.read(), 0)))).dataSync());
  return weights.filter((_, i) => !Number.isFinite(sums[i])).map((w) => w.originalName);
}

export function assertFiniteWeights(model: tf.LayersModel, when: string): void {
  const bad = nonFiniteWeights(model);
  if (bad.length) throw new NonFiniteWeightsError(bad, when);
}

export function formatGiB(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
}

/**
 * Runs `step`, turning the wasm backend's failure on a full heap into an error that says what to
 * lower. When malloc fails, tfjs's wasm module aborts or traps ("memory access out of bounds"),
 * depending on where; either way it cannot compute anything afterwards, so the message says to restart.
 */
export function explainingHeapExhaustion<T>(step: () => T, what: string): T {
  try {
    return step();
  } catch (error) {
    throw asHeapExhaustion(error, what);
  }
}

/** `error` as a WasmHeapFullError saying what to lower when the wasm heap was full; otherwise `error` itself. */
export function asHeapExhaustion(error: unknown, what: string): unknown {
  const heap = wasmHeapBytes();
  const trapped = (error as Error)?.name === "RuntimeError"; // WebAssembly.RuntimeError: an abort or a trap
  if (heap === undefined || !trapped || heap < LIKELY_FULL_BYTES) return error;
  return new WasmHeapFullError(
    `${what} ran out of wasm memory at ${formatGiB(heap)} of heap (wasm32 allows ${formatGiB(WASM_HEAP_LIMIT_BYTES)}; ` +
      `the backend said "${(error as Error).message}"). Lower the batch size or the image size, or freeze more of the ` +
      `backbone (a freeze point trains the top on cached trunk features), then restart the kernel: the wasm backend ` +
      `cannot continue after this. README "Memory" lists what fits.`,
  );
}

/** A trap past this heap size is taken for exhaustion: a failed malloc asks for more than was left. */
const LIKELY_FULL_BYTES = 2 ** 31;
