// What our convolution kernels (depthwise-conv.ts, conv-gemm.ts) share: the fused activations
// they apply, as the clamp [min, max] each amounts to, and the hand-over to the stock kernel for
// every case they do not cover (prelu, leakyrelu, other shapes, strides, dtypes, NCHW).
import type { Conv2DAttrs, DepthwiseConv2dNativeAttrs, FusedConv2DAttrs, KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";
import { runStockKernel } from "./stock-kernels";
import type { WasmBackend } from "./wasm-backend";

const ACTIVATION_CLAMPS: Readonly<Record<string, readonly [number, number]>> = {
  linear: [-Infinity, Infinity],
  relu: [0, Infinity],
  relu6: [0, 6],
};

export interface ConvInputs {
  x: TensorInfo;
  filter: TensorInfo;
  bias?: TensorInfo;
  preluActivationWeights?: TensorInfo;
}

/** Attributes of the plain and the fused kernels alike (the fused ones add activation and bias). */
export type ConvAttrs = (Conv2DAttrs | DepthwiseConv2dNativeAttrs) & Partial<FusedConv2DAttrs>;

/** Our kernel, or the stock one when `run` returns undefined (a case it does not cover). */
export function convKernel(
  kernelName: string,
  run: (inputs: ConvInputs, backend: WasmBackend, attrs: ConvAttrs, clamp: readonly [number, number]) => TensorInfo | undefined,
): KernelConfig {
  const kernelFunc = ({ inputs, backend, attrs }: { inputs: ConvInputs; backend: WasmBackend; attrs: ConvAttrs }): TensorInfo => {
    const clamp = ACTIVATION_CLAMPS[attrs.activation ?? "linear"];
    const out = clamp && inputs.x.dtype === "float32" && inputs.filter.dtype === "float32" && (attrs.dataFormat ?? "NHWC") === "NHWC"
      ? run(inputs, backend, attrs, clamp)
      : undefined;
    return out ?? runStockKernel(kernelName, backend, inputs as unknown as NamedTensorInfoMap, attrs as unknown as NamedAttrMap);
  };
  return { kernelName, backendName: "wasm", kernelFunc: kernelFunc as unknown as KernelFunc };
}

/** A float32 bias of one value per output channel, or none. */
export function isChannelBias(bias: TensorInfo | undefined, channels: number): boolean {
  return !bias || (bias.dtype === "float32" && bias.shape.length === 1 && bias.shape[0] === channels);
}
