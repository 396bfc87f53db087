// DepthwiseConv2dNative and FusedDepthwiseConv2D for wasm, for the 3x3, multiplier-1 convolutions
// of MobileNet-style nets (c/depthwise_conv.c: the taps stay in registers; about twice the stock
// XNNPACK kernel's speed on those shapes). Other shapes, dilations, activations and dtypes go to
// the stock kernels.
import { backend_util, DepthwiseConv2dNative, FusedDepthwiseConv2D } from "@tensorflow/tfjs-core";
import type { DepthwiseConv2dNativeAttrs, FusedDepthwiseConv2DAttrs, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";
import { trainingKernels } from "./kernel-module";
import { runStockKernel } from "./stock-kernels";
import { heapOffset, type WasmBackend } from "./wasm-backend";

type Shape4 = [number, number, number, number];

/** The clamp of each fused activation this kernel takes. */
const CLAMPS: Record<string, [number, number]> = {
  linear: [-Infinity, Infinity],
  relu: [0, Infinity],
  relu6: [0, 6],
};

interface Inputs {
  x: TensorInfo;
  filter: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}

function depthwise(kernelName: string) {
  return (args: { inputs: Inputs; backend: WasmBackend; attrs: DepthwiseConv2dNativeAttrs & Partial<FusedDepthwiseConv2DAttrs> }): TensorInfo => {
    const { inputs, backend, attrs } = args;
    const { x, filter, bias } = inputs;
    const clampRange = CLAMPS[attrs.activation ?? "linear"];
    const info = backend_util.computeConv2DInfo(
      x.shape as Shape4, filter.shape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true); // null dilations mean 1
    const channels = info.inChannels;
    const supported =
      clampRange && x.dtype === "float32" && filter.dtype === "float32" && (!bias || (bias.dtype === "float32" && bias.shape.length === 1 && bias.shape[0] === channels)) &&
      (attrs.dataFormat ?? "NHWC") === "NHWC" && info.filterHeight === 3 && info.filterWidth === 3 && info.outChannels === channels &&
      info.dilationHeight === 1 && info.dilationWidth === 1 && channels % 4 === 0 && info.outHeight >= 0 && info.outWidth >= 0;
    if (!supported) return runStockKernel(kernelName, backend, inputs as unknown as NamedTensorInfoMap, attrs as unknown as NamedAttrMap);
    const out = backend.makeOutput(info.outShape, "float32");
    if (info.outHeight === 0 || info.outWidth === 0) return out; // the stock kernel crashes on an empty output
    trainingKernels(backend).depthwise3x3_f32(
      heapOffset(backend, x), heapOffset(backend, filter), bias ? heapOffset(backend, bias) : 0, heapOffset(backend, out),
      info.batchSize, info.inHeight, info.inWidth, channels, info.outHeight, info.outWidth,
      info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, ...clampRange);
    return out;
  };
}

export const depthwiseConv2dConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNative,
  backendName: "wasm",
  kernelFunc: depthwise(DepthwiseConv2dNative) as unknown as KernelFunc,
};

export const fusedDepthwiseConv2dConfig: KernelConfig = {
  kernelName: FusedDepthwiseConv2D,
  backendName: "wasm",
  kernelFunc: depthwise(FusedDepthwiseConv2D) as unknown as KernelFunc,
};
