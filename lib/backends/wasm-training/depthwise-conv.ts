// DepthwiseConv2dNative and FusedDepthwiseConv2D for wasm, for the 3x3, multiplier-1 convolutions
// of MobileNet-style nets (c/depthwise_conv.c: the taps stay in registers; what it gains over the
// stock XNNPACK kernel: `npm run bench -- --only steps`). Other shapes, dilations, activations and
// dtypes go to the stock kernels.
import { backend_util, DepthwiseConv2dNative, FusedDepthwiseConv2D } from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { convKernel, isChannelBias, type ConvAttrs, type ConvInputs } from "./fused-conv";
import { trainingKernels } from "./kernel-module";
import { heapOffset, type WasmBackend } from "./wasm-backend";

type Shape4 = [number, number, number, number];

function depthwise3x3(inputs: ConvInputs, backend: WasmBackend, attrs: ConvAttrs, clamp: readonly [number, number]): TensorInfo | undefined {
  const { x, filter, bias } = inputs;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filter.shape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true); // null dilations mean 1
  const channels = info.inChannels;
  const supported = isChannelBias(bias, channels) && info.filterHeight === 3 && info.filterWidth === 3 && info.outChannels === channels &&
    info.dilationHeight === 1 && info.dilationWidth === 1 && channels % 4 === 0 && info.outHeight >= 0 && info.outWidth >= 0;
  if (!supported) return undefined;
  const out = backend.makeOutput(info.outShape, "float32");
  if (info.outHeight === 0 || info.outWidth === 0) return out; // the stock kernel crashes on an empty output
  trainingKernels(backend).depthwise3x3_f32(
    heapOffset(backend, x), heapOffset(backend, filter), bias ? heapOffset(backend, bias) : 0, heapOffset(backend, out),
    info.batchSize, info.inHeight, info.inWidth, channels, info.outHeight, info.outWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, ...clamp);
  return out;
}

export const depthwiseConv2dConfig = convKernel(DepthwiseConv2dNative, depthwise3x3);
export const fusedDepthwiseConv2dConfig = convKernel(FusedDepthwiseConv2D, depthwise3x3);
