// Our convolution gradient kernels walk dy as a dense [batch, outHeight, outWidth, channels]
// tensor; refuse anything else rather than read past it.
import { util } from "@tensorflow/tfjs-core";
import type { backend_util, TensorInfo } from "@tensorflow/tfjs-core";

export function assertDyMatches(kernelName: string, dy: TensorInfo, info: backend_util.Conv2DInfo): void {
  if (!util.arraysEqual(dy.shape, info.outShape)) {
    throw new Error(`${kernelName}: dy has shape [${dy.shape}], but the convolution's output shape is [${info.outShape}]`);
  }
}
