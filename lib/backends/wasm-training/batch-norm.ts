// FusedBatchNorm (tf.batchNorm) for wasm with per-channel statistics, as one vectorised pass;
// the per-channel factor scale / sqrt(variance + epsilon) is computed once here. Other
// broadcasts go to the stock kernel.
import { FusedBatchNorm, util } from "@tensorflow/tfjs-core";
import type { FusedBatchNormAttrs, KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";
import { trainingKernels } from "./kernel-module";
import { runStockKernel } from "./stock-kernels";
import { allocateScratch, heapOffset, type WasmBackend } from "./wasm-backend";

type Inputs = { x: TensorInfo; mean: TensorInfo; variance: TensorInfo; offset?: TensorInfo; scale?: TensorInfo };

/** A [C] or [1, ..., 1, C] tensor, C being the last axis of `x`. */
function isPerChannel(t: TensorInfo | undefined, channels: number): boolean {
  if (!t) return true;
  const last = t.shape.length - 1;
  return t.dtype === "float32" && t.shape[last] === channels && t.shape.every((size, i) => i === last || size === 1);
}

function fusedBatchNorm(args: { inputs: Inputs; backend: WasmBackend; attrs: FusedBatchNormAttrs }): TensorInfo {
  const { inputs, backend, attrs: { varianceEpsilon } } = args;
  const { x, mean, variance, offset, scale } = inputs;
  const channels = x.shape[x.shape.length - 1];
  const perChannel = [mean, variance, offset, scale].every((t) => isPerChannel(t, channels));
  const size = util.sizeFromShape(x.shape);
  if (x.dtype !== "float32" || x.shape.length === 0 || !perChannel || size === 0) {
    return runStockKernel(FusedBatchNorm, backend, inputs as unknown as NamedTensorInfoMap, { varianceEpsilon });
  }
  const out = backend.makeOutput(x.shape, "float32");
  const scratch = allocateScratch(backend, 8 * channels);
  const heap = backend.wasm.HEAPF32;
  const at = (t: TensorInfo | undefined) => (t ? heapOffset(backend, t) / 4 : -1);
  const [varianceAt, scaleAt, offsetAt, factorAt] = [at(variance), at(scale), at(offset), scratch / 4];
  for (let c = 0; c < channels; c++) {
    heap[factorAt + c] = (scaleAt < 0 ? 1 : heap[scaleAt + c]) / Math.sqrt(heap[varianceAt + c] + varianceEpsilon);
    heap[factorAt + channels + c] = offsetAt < 0 ? 0 : heap[offsetAt + c];
  }
  trainingKernels(backend).batch_norm_f32(
    heapOffset(backend, x), heapOffset(backend, mean), scratch, scratch + 4 * channels, heapOffset(backend, out),
    size / channels, channels);
  backend.wasm._free(scratch);
  return out;
}

export const fusedBatchNormConfig: KernelConfig = {
  kernelName: FusedBatchNorm,
  backendName: "wasm",
  kernelFunc: fusedBatchNorm as unknown as KernelFunc,
};
