// Conv2D and FusedConv2D for wasm as matrix products: a 1x1, stride-1 convolution multiplies x
// itself by the filter; any other one multiplies the im2col matrix of x, gathered a block at a time.
// With BLAS loaded (../blas.ts) the products are its sgemm, then bias and activation in one pass;
// without, our register-tiled kernels (c/conv_gemm.c), faster than the stock XNNPACK ones on
// MobileNet's and ResNet's shapes (`npm run bench -- --only kernels,steps`), compute them, and stems
// (a few input channels) and output channels that are not a multiple of 4 go to the stock kernels.
// NCHW, fused activations other than ReLU/ReLU6 and other dtypes go to the stock kernels either way.
import { backend_util, Conv2D, FusedConv2D, util } from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { convKernel, isChannelBias, type ConvAttrs, type ConvInputs } from "./fused-conv";
import { blasActive, heapGemm } from "./blas-products";
import { isPointwise } from "./conv-shapes";
import { trainingKernels } from "./kernel-module";
import { allocateScratch, heapOffset, type WasmBackend } from "./wasm-backend";

type Shape4 = [number, number, number, number];

/** Rows x columns of the im2col block the C kernel gathers at a time (its MC and KC). */
const GATHERED_BLOCK = 64 * 256;
const MIN_GATHERED_CHANNELS = 16;
type ConvInfo = backend_util.Conv2DInfo;

/**
 * out = clamp(im2col(x) W + bias) by BLAS, one product per image: OpenBLAS's result for a row can
 * depend on how many rows the call has and where the row sits among them (its AVX2 kernels), so a
 * whole batch in one call would make an image's output depend on the other images in its batch.
 * Per image, it does not: the trunk gives an image the same features in any batch, which the
 * feature cache's guarantee (training on cached features trains what training on the images
 * trains, bit for bit) rests on. A 1x1 convolution multiplies x in place; others gather the
 * image's im2col rows first.
 */
function blasConv(backend: WasmBackend, info: ConvInfo, pointwise: boolean, inputs: ConvInputs, out: TensorInfo, clamp: readonly [number, number]): void {
  const { x, filter, bias } = inputs;
  const kernels = trainingKernels(backend);
  const n = info.outChannels;
  const k = info.filterHeight * info.filterWidth * info.inChannels;
  const perImage = info.outHeight * info.outWidth;
  const pixels = info.batchSize * perImage;
  const [xAt, filterAt, outAt] = [heapOffset(backend, x), heapOffset(backend, filter), heapOffset(backend, out)];
  const inputPerImage = 4 * info.inHeight * info.inWidth * info.inChannels;
  const rows = pointwise ? 0 : allocateScratch(backend, 4 * perImage * k);
  try {
    for (let image = 0; image < info.batchSize; image++) {
      const c = outAt + 4 * image * perImage * n;
      if (pointwise) heapGemm(backend, { m: perImage, n, k, a: xAt + image * inputPerImage, b: filterAt, c });
      else {
        kernels.im2col_rows_f32(xAt, rows, image * perImage, (image + 1) * perImage,
          info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
          info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
          info.padInfo.top, info.padInfo.left);
        heapGemm(backend, { m: perImage, n, k, a: rows, b: filterAt, c });
      }
    }
  } finally {
    if (rows) backend.wasm._free(rows);
  }
  if (bias || clamp[0] > -Infinity || clamp[1] < Infinity) {
    kernels.bias_clamp_f32(outAt, bias ? heapOffset(backend, bias) : 0, pixels, n, ...clamp);
  }
}

function convGemm(inputs: ConvInputs, backend: WasmBackend, attrs: ConvAttrs, clamp: readonly [number, number]): TensorInfo | undefined {
  const { x, filter, bias } = inputs;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filter.shape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
  const outChannels = info.outChannels;
  if (!isChannelBias(bias, outChannels) || info.outHeight < 0 || info.outWidth < 0) return undefined;
  const pointwise = isPointwise(info);
  if (blasActive()) {
    const out = backend.makeOutput(info.outShape, "float32");
    if (util.sizeFromShape(info.outShape) > 0) blasConv(backend, info, pointwise, inputs, out, clamp);
    return out;
  }
  if (outChannels % 4 !== 0) return undefined;
  // Gathering a few channels per tap costs more than XNNPACK's indirection (stems: 3 channels, 0.5x).
  if (!pointwise && info.inChannels < MIN_GATHERED_CHANNELS) return undefined;
  const depth = info.filterHeight * info.filterWidth * info.inChannels;
  const out = backend.makeOutput(info.outShape, "float32");
  const pixels = info.batchSize * info.outHeight * info.outWidth;
  if (pixels === 0) return out;
  const kernels = trainingKernels(backend);
  const packed = allocateScratch(backend, 4 * depth * Math.ceil(outChannels / 8) * 8); // the filter in panels of 8 columns
  const rows = pointwise ? 0 : allocateScratch(backend, 4 * GATHERED_BLOCK);
  const [xAt, filterAt, biasAt, outAt] = [heapOffset(backend, x), heapOffset(backend, filter), bias ? heapOffset(backend, bias) : 0, heapOffset(backend, out)];
  try {
    if (pointwise) kernels.pointwise_conv_f32(xAt, filterAt, biasAt, packed, outAt, pixels, depth, outChannels, ...clamp);
    else {
      kernels.conv_gemm_f32(xAt, filterAt, biasAt, packed, rows, outAt,
        info.batchSize, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, outChannels,
        info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
        info.padInfo.top, info.padInfo.left, ...clamp);
    }
  } finally {
    backend.wasm._free(packed);
    if (rows) backend.wasm._free(rows);
  }
  return out;
}

export const conv2dConfig = convKernel(Conv2D, convGemm);
export const fusedConv2dConfig = convKernel(FusedConv2D, convGemm);
