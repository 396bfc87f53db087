// Registering our kernels for wasm, and calling the stock wasm kernels they replace (for the
// cases they do not handle) or build on. Stock kernels bind their C functions in setupFunc,
// which the engine runs only for kernels registered when the backend initialises, so it is
// run here, once per backend, before the first call.
import * as tf from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, NamedAttrMap, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";
import type { WasmBackend } from "./wasm-backend";

const stock = new Map<string, KernelConfig>();
const setUp = new Map<string, WeakSet<object>>();

/** Registers `config` for wasm in place of whatever is there, remembering the stock kernel. */
export function registerWasmKernel(config: KernelConfig): void {
  const current = tf.getKernel(config.kernelName, "wasm");
  if (current === config) return;
  if (current) {
    if (!stock.has(config.kernelName)) stock.set(config.kernelName, current);
    tf.unregisterKernel(config.kernelName, "wasm");
  }
  tf.registerKernel(config);
}

/** Runs the stock wasm kernel `kernelName` (the one registered before ours, if replaced). */
export function runStockKernel(
  kernelName: string, backend: WasmBackend, inputs: NamedTensorInfoMap, attrs: NamedAttrMap = {},
): TensorInfo {
  const config = stock.get(kernelName) ?? tf.getKernel(kernelName, "wasm");
  if (!config) throw new Error(`the wasm backend has no ${kernelName} kernel`);
  let backends = setUp.get(kernelName);
  if (!backends) setUp.set(kernelName, (backends = new WeakSet()));
  if (!backends.has(backend)) {
    config.setupFunc?.(backend as unknown as tf.KernelBackend);
    backends.add(backend);
  }
  return (config.kernelFunc as KernelFunc)({ inputs, backend, attrs }) as TensorInfo;
}

/**
 * Runs `work` with the stock wasm kernels in place of ours for `kernelNames`, then puts ours back:
 * for measuring what a kernel of ours gains (bench/steps.ts).
 */
export async function withStockKernels<T>(kernelNames: readonly string[], work: () => Promise<T>): Promise<T> {
  const ours = kernelNames.map((name) => tf.getKernel(name, "wasm")).filter((config): config is KernelConfig => config !== undefined && stock.has(config.kernelName));
  for (const config of ours) {
    tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel({
      kernelName: config.kernelName,
      backendName: "wasm",
      kernelFunc: ({ inputs, backend, attrs }) => runStockKernel(config.kernelName, backend as unknown as WasmBackend, inputs, attrs),
    });
  }
  try {
    return await work();
  } finally {
    for (const config of ours) {
      tf.unregisterKernel(config.kernelName, "wasm");
      tf.registerKernel(config);
    }
  }
}
