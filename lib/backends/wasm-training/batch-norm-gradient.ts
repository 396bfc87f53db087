// The gradient of FusedBatchNorm (tf.batchNorm) on wasm with per-channel statistics. Core's
// spends about fourteen passes over the activations (sub, muls, a tile, four sums); all five
// input gradients follow from sum(dy) and sum(dy * (x - mean)), which one kernel computes in a
// single pass, and dx = dy * scale / sqrt(variance + epsilon) is one more.
import * as tf from "@tensorflow/tfjs-core";
import { FusedBatchNorm, util } from "@tensorflow/tfjs-core";
import type { FusedBatchNormAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { overrideGradientOnWasm } from "./gradient-overrides";
import { trainingKernels } from "./kernel-module";
import { heapOffset, type WasmBackend } from "./wasm-backend";

const GRAD_SUMS = "WasmTrainingBatchNormGradSums";

type SumsArgs = { inputs: { x: TensorInfo; dy: TensorInfo; mean: TensorInfo }; backend: WasmBackend };

/** [2, C]: sum(dy) and sum(dy * (x - mean)) over every axis but the last. */
function gradSums({ inputs: { x, dy, mean }, backend }: SumsArgs): TensorInfo {
  const channels = mean.shape[0];
  const out = backend.makeOutput([2, channels], "float32");
  trainingKernels(backend).batch_norm_grad_sums(
    heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, mean), heapOffset(backend, out),
    util.sizeFromShape(x.shape) / channels, channels);
  return out;
}

export const batchNormGradientKernels: KernelConfig[] = [
  { kernelName: GRAD_SUMS, backendName: "wasm", kernelFunc: gradSums as unknown as KernelFunc },
];

export function overrideBatchNormGradient(): void {
  overrideGradientOnWasm(FusedBatchNorm, (dy, [x, mean, variance, scale], attrs) => {
    const channels = x.shape[x.shape.length - 1];
    const perChannel = (t: tf.Tensor | undefined) => !t || (t.rank === 1 && t.shape[0] === channels && t.dtype === "float32");
    if (x.dtype !== "float32" || !perChannel(mean) || !perChannel(variance) || !perChannel(scale)) return undefined;
    const { varianceEpsilon } = attrs as unknown as FusedBatchNormAttrs;
    const scaleValue = scale ?? tf.scalar(1);
    const rsqrtVariance = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const [sumDy, sumDyXc] = tf.unstack(tf.engine().runKernel(GRAD_SUMS, { x, dy, mean }) as tf.Tensor);
    return {
      x: () => tf.mul(dy, tf.mul(rsqrtVariance, scaleValue)),
      mean: () => tf.mul(tf.mul(sumDy, rsqrtVariance), tf.neg(scaleValue)),
      variance: () => tf.mul(tf.mul(sumDyXc, scaleValue), tf.mul(tf.pow(rsqrtVariance, 3), -0.5)),
      scale: () => tf.mul(sumDyXc, rsqrtVariance),
      offset: () => sumDy,
    };
  });
}
