// Shapes our convolution kernels rely on. The gradient kernels walk dy as a dense [batch, outHeight,
// outWidth, channels] tensor; refuse anything else rather than read past it.
import { util } from "@tensorflow/tfjs-core";
import type { backend_util, TensorInfo } from "@tensorflow/tfjs-core";

export function assertDyMatches(kernelName: string, dy: TensorInfo, info: backend_util.Conv2DInfo): void {
  if (!util.arraysEqual(dy.shape, info.outShape)) {
    throw new Error(`${kernelName}: dy has shape [${dy.shape}], but the convolution's output shape is [${info.outShape}]`);
  }
}

/** A 1x1, stride-1, unpadded convolution: x itself is the matrix multiplied by the filter. */
export function isPointwise(info: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    top === 0 && bottom === 0 && left === 0 && right === 0;
}
