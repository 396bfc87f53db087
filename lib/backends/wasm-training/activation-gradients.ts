// One-pass gradients of Relu and ClipByValue on wasm (tf.layers' ReLU6 is relu followed by
// clipByValue). Core builds them from step/mul and greaterEqual/lessEqual/logicalAnd/
// zerosLike/where: seven passes over the largest activations of MobileNetV2 instead of two.
import * as tf from "@tensorflow/tfjs-core";
import { ClipByValue, Relu, util } from "@tensorflow/tfjs-core";
import type { ClipByValueAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { overrideGradientOnWasm } from "./gradient-overrides";
import { trainingKernels } from "./kernel-module";
import { heapOffset, type WasmBackend } from "./wasm-backend";

const RELU_GRAD = "WasmTrainingReluGrad";
const CLIP_GRAD = "WasmTrainingClipByValueGrad";

type GradArgs = { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackend; attrs: ClipByValueAttrs };

function reluGrad({ inputs: { x, dy }, backend }: GradArgs): TensorInfo {
  const out = backend.makeOutput(x.shape, "float32");
  trainingKernels(backend).relu_grad_f32(heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), util.sizeFromShape(x.shape));
  return out;
}

function clipGrad({ inputs: { x, dy }, backend, attrs }: GradArgs): TensorInfo {
  const out = backend.makeOutput(x.shape, "float32");
  trainingKernels(backend).clip_grad_f32(
    heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, out), util.sizeFromShape(x.shape),
    attrs.clipValueMin, attrs.clipValueMax);
  return out;
}

export const activationGradientKernels: KernelConfig[] = [
  { kernelName: RELU_GRAD, backendName: "wasm", kernelFunc: reluGrad as unknown as KernelFunc },
  { kernelName: CLIP_GRAD, backendName: "wasm", kernelFunc: clipGrad as unknown as KernelFunc },
];

function applies(x: tf.Tensor, dy: tf.Tensor): boolean {
  return x.dtype === "float32" && dy.dtype === "float32" && util.arraysEqual(x.shape, dy.shape);
}

export function overrideActivationGradients(): void {
  overrideGradientOnWasm(Relu, (dy, [x]) =>
    applies(x, dy) ? { x: () => tf.engine().runKernel(RELU_GRAD, { x, dy }) as tf.Tensor } : undefined);
  overrideGradientOnWasm(ClipByValue, (dy, [x], attrs) =>
    applies(x, dy) ? { x: () => tf.engine().runKernel(CLIP_GRAD, { x, dy }, attrs) as tf.Tensor } : undefined);
}
