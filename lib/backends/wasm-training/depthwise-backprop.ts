// DepthwiseConv2dNativeBackpropFilter / BackpropInput for wasm (missing upstream, tfjs issue #8474).
import { backend_util, DepthwiseConv2dNativeBackpropFilter, DepthwiseConv2dNativeBackpropInput } from "@tensorflow/tfjs-core";
import type {
  DepthwiseConv2dNativeBackpropFilterAttrs, DepthwiseConv2dNativeBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo,
} from "@tensorflow/tfjs-core";
import { assertDyMatches } from "./conv-shapes";
import { trainingKernels } from "./kernel-module";
import { heapOffset, type WasmBackend } from "./wasm-backend";

type Shape4 = [number, number, number, number];

/** The shape arguments of the C kernels, in their order. */
function depthwiseShapeArgs(info: backend_util.Conv2DInfo): number[] {
  return [
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
    info.outChannels / info.inChannels, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left,
  ];
}

function backpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackend; attrs: DepthwiseConv2dNativeBackpropFilterAttrs }): TensorInfo {
  const { inputs: { x, dy }, backend, attrs } = args;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, attrs.filterShape, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
  assertDyMatches(DepthwiseConv2dNativeBackpropFilter, dy, info);
  const dw = backend.makeOutput(info.filterShape, "float32");
  trainingKernels(backend).depthwise_filter_grad(
    heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dw), ...depthwiseShapeArgs(info));
  return dw;
}

function backpropInput(args: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: WasmBackend; attrs: DepthwiseConv2dNativeBackpropInputAttrs }): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const info = backend_util.computeConv2DInfo(
    attrs.inputShape, filter.shape as Shape4, attrs.strides, attrs.dilations, attrs.pad, attrs.dimRoundingMode, true);
  assertDyMatches(DepthwiseConv2dNativeBackpropInput, dy, info);
  const dx = backend.makeOutput(info.inShape, "float32");
  trainingKernels(backend).depthwise_input_grad(
    heapOffset(backend, dy), heapOffset(backend, filter), heapOffset(backend, dx), ...depthwiseShapeArgs(info));
  return dx;
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: "wasm",
  kernelFunc: backpropFilter as unknown as KernelFunc,
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: "wasm",
  kernelFunc: backpropInput as unknown as KernelFunc,
};
