// Gradients replaced while the wasm backend is active, for ops whose core gradient spends
// many element-wise passes (or a JavaScript-built tensor) where one or two kernels suffice.
// Gradients are registered for all backends at once, so each override checks the backend
// and otherwise, or when it returns undefined, runs core's gradient.
import * as tf from "@tensorflow/tfjs-core";
import type { GradConfig, NamedAttrMap } from "@tensorflow/tfjs-core";

type GradientMap = ReturnType<GradConfig["gradFunc"]>;
export type WasmGradFunc = (dy: tf.Tensor, saved: tf.Tensor[], attrs: NamedAttrMap) => GradientMap | undefined;

const installed = new Map<string, GradConfig>();

export function overrideGradientOnWasm(kernelName: string, wasmGradFunc: WasmGradFunc): void {
  const core = tf.getGradient(kernelName);
  if (!core) {
    throw new Error(`no gradient for ${kernelName} is registered yet; import @tensorflow/tfjs (which registers them) first`);
  }
  if (core === installed.get(kernelName)) return;
  const config: GradConfig = {
    kernelName,
    inputsToSave: core.inputsToSave,
    outputsToSave: core.outputsToSave,
    gradFunc: (dy, saved, attrs) => {
      const ours = tf.getBackend() === "wasm" && !Array.isArray(dy) ? wasmGradFunc(dy, saved, attrs) : undefined;
      return ours ?? core.gradFunc(dy, saved, attrs);
    },
  };
  installed.set(kernelName, config);
  tf.registerGradient(config);
}
