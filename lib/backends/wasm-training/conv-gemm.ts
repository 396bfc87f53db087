// Conv2D and FusedConv2D for wasm as register-tiled matrix products (c/conv_gemm.c): a 1x1,
// stride-1 convolution multiplies x itself by the filter; any other one multiplies the im2col
// matrix of x, gathered a block at a time. Faster than the stock XNNPACK kernels on MobileNet's and
// ResNet's shapes (`npm run bench -- --only kernels,steps`). Stems (a few input channels), NCHW, fused
// activations other than ReLU/ReLU6, output channels that are not a multiple of 4 and other dtypes
// go to the stock kernels.
import { backend_util, Conv2D, FusedConv2D } from "@tensorflow/tfjs-core";
import type { TensorInfo } from "@tensorflow/tfjs-core";
import { convKernel, isChannelBias, type ConvAttrs, type ConvInputs } from "./fused-conv";
import { trainingKernels } from "./kernel-module";
import { allocateScratch, heapOffset, type WasmBackend } from "./wasm-backend";

type Shape4 = [number, number, number, number];

/** Rows x columns of the im2col block the C kernel gathers at a time (its MC and KC). */
const GATHERED_BLOCK = 64 * 256;
const MIN_GATHERED_CHANNELS = 16;

function convGemm(inputs: ConvInputs, backend: WasmBackend, attrs: ConvAttrs, clamp: readonly [number, number]): TensorInfo | undefined {
  const { x, filter, bias } = inputs;
  const info = backend_util.computeConv2DInfo(
    x.shape as Shape4, filter.shape as Shape4, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode);
  const outChannels = info.outChannels;
  if (!isChannelBias(bias, outChannels) || outChannels % 4 !== 0 || info.outHeight < 0 || info.outWidth < 0) return undefined;
  const { top, bottom, left, right } = info.padInfo;
  const pointwise = info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    top === 0 && bottom === 0 && left === 0 && right === 0;
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
        top, left, ...clamp);
    }
  } finally {
    backend.wasm._free(packed);
    if (rows) backend.wasm._free(rows);
  }
  return out;
}

export const conv2dConfig = convKernel(Conv2D, convGemm);
export const fusedConv2dConfig = convKernel(FusedConv2D, convGemm);
