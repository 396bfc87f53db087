// Conv2D and FusedConv2D for wasm, for the 1x1, stride-1 convolutions that carry most of the
// multiply-adds of MobileNet-style nets and half of ResNet's (c/pointwise_conv.c: a register-tiled
// matrix product, about 1.3x the stock XNNPACK kernel; `npm run bench -- --only kernels`). Other
// filters, strides, paddings, activations and dtypes go to the stock kernels.
import { backend_util, Conv2D, FusedConv2D } from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { convKernel, isChannelBias, type ConvAttrs, type ConvInputs } from "./fused-conv";
import { trainingKernels } from "./kernel-module";
import { heapOffset, type WasmBackend } from "./wasm-backend";

type Shape4 = [number, number, number, number];

function pointwise(inputs: ConvInputs, backend: WasmBackend, attrs: ConvAttrs, clamp: readonly [number, number]): TensorInfo | undefined {
  const { x, filter, bias } = inputs;
  const [kh, kw, inChannels, outChannels] = filter.shape;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filter.shape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
  const { top, bottom, left, right } = info.padInfo;
  const supported = kh === 1 && kw === 1 && isChannelBias(bias, outChannels) && info.strideHeight === 1 && info.strideWidth === 1 &&
    top === 0 && bottom === 0 && left === 0 && right === 0 && outChannels % 4 === 0 && inChannels === info.inChannels;
  if (!supported) return undefined;
  const out = backend.makeOutput(info.outShape, "float32");
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  if (pixels === 0) return out;
  const packed = backend.wasm._malloc(4 * inChannels * Math.ceil(outChannels / 8) * 8); // the filter in panels of 8 columns
  try {
    trainingKernels(backend).pointwise_conv_f32(
      heapOffset(backend, x), heapOffset(backend, filter), bias ? heapOffset(backend, bias) : 0, packed, heapOffset(backend, out),
      pixels, inChannels, outChannels, ...clamp);
  } finally {
    backend.wasm._free(packed);
  }
  return out;
}

export const conv2dConfig = convKernel(Conv2D, pointwise);
export const fusedConv2dConfig = convKernel(FusedConv2D, pointwise);
