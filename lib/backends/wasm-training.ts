// Kernels that let the TensorFlow.js wasm backend train conv nets (tfjs issue #8474), and
// faster kernels and gradients for what dominated MobileNetV2 training there. Works before or
// after the wasm backend is initialised; calling it again does nothing.
import type { KernelConfig } from "@tensorflow/tfjs-core";
import { activationGradientKernels, overrideActivationGradients } from "./wasm-training/activation-gradients";
import { batchMatMulConfig } from "./wasm-training/batch-matmul";
import { fusedBatchNormConfig } from "./wasm-training/batch-norm";
import { batchNormGradientKernels, overrideBatchNormGradient } from "./wasm-training/batch-norm-gradient";
import { addConfig, multiplyConfig, realDivConfig, subConfig } from "./wasm-training/binary";
import { conv2dConfig, fusedConv2dConfig } from "./wasm-training/conv-gemm";
import { conv2dBackpropFilterConfig } from "./wasm-training/conv2d-backprop-filter";
import { conv2dBackpropInputConfig } from "./wasm-training/conv2d-backprop-input";
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from "./wasm-training/depthwise-backprop";
import { depthwiseConv2dConfig, fusedDepthwiseConv2dConfig } from "./wasm-training/depthwise-conv";
import { castConfig, identityConfig } from "./wasm-training/identity";
import { overrideMeanGradient } from "./wasm-training/mean-gradient";
import { meanConfig, sumConfig } from "./wasm-training/reductions";
import { sliceConfig } from "./wasm-training/slice";
import { registerWasmKernel } from "./wasm-training/stock-kernels";
import { tileConfig } from "./wasm-training/tile";

const KERNELS: readonly KernelConfig[] = [
  // Missing from the stock wasm backend.
  conv2dBackpropFilterConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  // Faster replacements; each hands the cases it does not cover to the stock kernel.
  addConfig,
  batchMatMulConfig,
  castConfig,
  conv2dConfig,
  conv2dBackpropInputConfig,
  depthwiseConv2dConfig,
  fusedBatchNormConfig,
  fusedConv2dConfig,
  fusedDepthwiseConv2dConfig,
  identityConfig,
  meanConfig,
  multiplyConfig,
  realDivConfig,
  sliceConfig,
  subConfig,
  sumConfig,
  tileConfig,
  // Used by the gradients below.
  ...activationGradientKernels,
  ...batchNormGradientKernels,
];

export function registerWasmTrainingKernels(): void {
  for (const config of KERNELS) registerWasmKernel(config);
  overrideActivationGradients();
  overrideBatchNormGradient();
  overrideMeanGradient();
}
