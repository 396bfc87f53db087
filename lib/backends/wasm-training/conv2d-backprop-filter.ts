// Conv2DBackpropFilter for wasm (missing upstream, tfjs issue #8474).
import { backend_util, Conv2DBackpropFilter } from "@tensorflow/tfjs-core";
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { assertDyMatches } from "./conv-shapes";
import { trainingKernels } from "./kernel-module";
import { heapOffset, type WasmBackend } from "./wasm-backend";

function conv2dBackpropFilter(args: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: WasmBackend; attrs: Conv2DBackpropFilterAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  const { x, dy } = inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  if (dataFormat !== "NHWC") {
    throw new Error(`wasm backend Conv2DBackpropFilter does not support dataFormat:'${dataFormat}'. Please use 'NHWC'.`);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode);
  assertDyMatches(Conv2DBackpropFilter, dy, info);
  const dw = backend.makeOutput(info.filterShape, "float32");
  trainingKernels(backend).conv2d_filter_grad(
    heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dw),
    info.batchSize, info.inHeight, info.inWidth, info.inChannels,
    info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
    info.padInfo.top, info.padInfo.left);
  return dw;
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: "wasm",
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
