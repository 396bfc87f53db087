// Conv2DBackpropInput for wasm. The stock kernel is a plain loop nest. Pointwise (1x1,
// stride 1, unpadded) convolutions, which carry most of MobileNetV2's backward pass, become
// one matrix product dx = dy * W^T: BLAS's when one is loaded (../blas.ts), else ours
// (c/conv_gemm.c) on the relaxed-SIMD build when the input channels are a multiple of 4, else the
// backend's XNNPACK matMul; other NHWC convolutions
// run our register-blocked C kernel; NCHW, and a dy whose shape is not the convolution's
// output shape (conv2dTranspose allows that), go to the stock kernel.
import { backend_util, BatchMatMul, Conv2DBackpropInput, util } from "@tensorflow/tfjs-core";
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { blasActive, heapGemm } from "./blas-products";
import { isPointwise } from "./conv-shapes";
import { activeKernelVariant, trainingKernels } from "./kernel-module";
import { runStockKernel } from "./stock-kernels";
import { allocateScratch, heapOffset, type WasmBackend } from "./wasm-backend";

type Args = { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: WasmBackend; attrs: Conv2DBackpropInputAttrs };

function pointwise(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const { inChannels, outChannels } = info;
  const pixels = info.batchSize * info.inHeight * info.inWidth;
  if (pixels > 0 && blasActive()) {
    const dx = backend.makeOutput(info.inShape, "float32");
    heapGemm(backend, { m: pixels, n: inChannels, k: outChannels, a: heapOffset(backend, dy), b: heapOffset(backend, filter), transB: true, c: heapOffset(backend, dx) });
    return dx;
  }
  // Both matrix products want W^T as a plain [outChannels][inChannels] matrix: transpose the (small) filter.
  const transpose = (to: number) => {
    const heap = backend.wasm.HEAPF32;
    const from = heapOffset(backend, filter) / 4;
    for (let ci = 0; ci < inChannels; ci++) {
      for (let co = 0; co < outChannels; co++) heap[to / 4 + co * inChannels + ci] = heap[from + ci * outChannels + co];
    }
  };
  if (inChannels % 4 === 0 && activeKernelVariant() === "relaxed") {
    // Our register-tiled product (c/conv_gemm.c) with fused multiply-adds, which XNNPACK's wasm build lacks.
    const dx = backend.makeOutput(info.inShape, "float32");
    const filterT = allocateScratch(backend, 4 * inChannels * outChannels);
    const packed = allocateScratch(backend, 4 * outChannels * Math.ceil(inChannels / 8) * 8);
    try {
      transpose(filterT);
      trainingKernels(backend).pointwise_conv_f32(heapOffset(backend, dy), filterT, 0, packed, heapOffset(backend, dx),
        pixels, outChannels, inChannels, -Infinity, Infinity);
    } finally {
      backend.wasm._free(filterT);
      backend.wasm._free(packed);
    }
    return dx;
  }
  // XNNPACK's matMul is fast only untransposed.
  const filterT = backend.makeOutput([1, outChannels, inChannels], "float32");
  transpose(heapOffset(backend, filterT));
  const dyMatrix: TensorInfo = { dataId: dy.dataId, shape: [1, pixels, outChannels], dtype: "float32" };
  const dx = runStockKernel(BatchMatMul, backend, { a: dyMatrix, b: filterT }, { transposeA: false, transposeB: false });
  backend.disposeData(filterT.dataId);
  return { ...dx, shape: info.inShape };
}

function general(backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const dx = backend.makeOutput(info.inShape, "float32");
  const transposedFilter = allocateScratch(backend, 4 * util.sizeFromShape(filter.shape));
  trainingKernels(backend).conv2d_input_grad(
    heapOffset(backend, dy), heapOffset(backend, filter), transposedFilter, heapOffset(backend, dx),
    info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
    info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left);
  backend.wasm._free(transposedFilter);
  return dx;
}

function conv2dBackpropInput(args: Args): TensorInfo {
  const { inputs: { dy, filter }, backend, attrs } = args;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  const info = dataFormat === "NHWC"
    ? backend_util.computeConv2DInfo(inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode)
    : undefined;
  if (!info || dy.dtype !== "float32" || !util.arraysEqual(dy.shape, info.outShape)) {
    return runStockKernel(Conv2DBackpropInput, backend, args.inputs, attrs as unknown as NamedAttrMap);
  }
  return isPointwise(info) ? pointwise(backend, dy, filter, info) : general(backend, dy, filter, info);
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: "wasm",
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
