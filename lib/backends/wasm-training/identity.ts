// Identity and same-dtype Cast for wasm share the input's data by reference count, as the
// cpu backend does and as the stock wasm Reshape does, instead of copying it. Tensors are
// immutable, and the engine clones every tensor it saves for the backward pass through
// Identity, so the copies cost a MobileNetV2 training step a copy of most activations.
import { Cast, Identity } from "@tensorflow/tfjs-core";
import type { CastAttrs, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { runStockKernel } from "./stock-kernels";
import type { WasmBackend } from "./wasm-backend";

type Args = { inputs: { x: TensorInfo }; backend: WasmBackend };

function share(backend: WasmBackend, x: TensorInfo): TensorInfo {
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

function identity({ inputs, backend }: Args): TensorInfo {
  // String tensors keep their bytes outside the heap; the stock kernel handles them.
  return inputs.x.dtype === "string" ? runStockKernel(Identity, backend, inputs) : share(backend, inputs.x);
}

function cast(args: Args & { attrs: CastAttrs }): TensorInfo {
  const { inputs, backend, attrs } = args;
  if (inputs.x.dtype === attrs.dtype && inputs.x.dtype !== "string") return share(backend, inputs.x);
  return runStockKernel(Cast, backend, inputs, attrs as unknown as NamedAttrMap);
}

export const identityConfig: KernelConfig = { kernelName: Identity, backendName: "wasm", kernelFunc: identity as unknown as KernelFunc };
export const castConfig: KernelConfig = { kernelName: Cast, backendName: "wasm", kernelFunc: cast as unknown as KernelFunc };
