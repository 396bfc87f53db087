// Conv2DBackpropFilter for wasm (missing upstream, tfjs issue #8474): dW = im2col(x)^T dy, BLAS's
// product when one is loaded (../blas.ts; the im2col rows gathered a block at a time unless the
// convolution is 1x1, stride 1, unpadded, where x is the matrix itself), else our C kernel.
import { backend_util, Conv2DBackpropFilter } from "@tensorflow/tfjs-core";
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from "@tensorflow/tfjs-core";
import { assertDyMatches, isPointwise } from "./conv-shapes";
import { blasActive, heapGemm } from "./blas-products";
import { trainingKernels } from "./kernel-module";
import { allocateScratch, heapOffset, type WasmBackend } from "./wasm-backend";

/** Floats of im2col rows gathered per BLAS product (16 MiB of scratch). */
const BLAS_GATHERED_FLOATS = 4 * 2 ** 20;

/** dW by BLAS, or false (nothing done) when none is active. */
function blasFilterGrad(backend: WasmBackend, x: TensorInfo, dy: TensorInfo, dw: TensorInfo, info: backend_util.Conv2DInfo): boolean {
  if (!blasActive()) return false;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const n = info.outChannels;
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  const [xAt, dyAt, dwAt] = [heapOffset(backend, x), heapOffset(backend, dy), heapOffset(backend, dw)];
  if (isPointwise(info)) {
    heapGemm(backend, { m: k, n, k: pixels, a: xAt, transA: true, b: dyAt, c: dwAt });
    return true;
  }
  const block = Math.max(1, Math.min(pixels, Math.floor(BLAS_GATHERED_FLOATS / k)));
  const rows = allocateScratch(backend, 4 * block * k);
  try {
    for (let first = 0; first < pixels; first += block) {
      const end = Math.min(pixels, first + block);
      trainingKernels(backend).im2col_rows_f32(xAt, rows, first, end,
        info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
        info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
        info.padInfo.top, info.padInfo.left);
      heapGemm(backend, { m: k, n, k: end - first, a: rows, transA: true, b: dyAt + 4 * first * n, c: dwAt, beta: first === 0 ? 0 : 1 });
    }
  } finally {
    backend.wasm._free(rows);
  }
  return true;
}

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
  if (info.batchSize * info.outHeight * info.outWidth > 0 && blasFilterGrad(backend, x, dy, dw, info)) return dw;
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
