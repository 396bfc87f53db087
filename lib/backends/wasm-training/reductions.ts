// Sum and Mean over leading axes (the per-channel reductions of batch norm and its gradient)
// in one pass; the stock wasm kernels transpose the input so the axes come last first.
import { Mean, Sum, util } from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, NamedAttrMap, SumAttrs, TensorInfo } from "@tensorflow/tfjs-core";
import { trainingKernels } from "./kernel-module";
import { runStockKernel } from "./stock-kernels";
import { heapOffset, type WasmBackend } from "./wasm-backend";

type ReduceArgs = { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: SumAttrs };

/** How many leading axes `axis` names, or 0 when it is not exactly 0..k-1 with k < rank. */
function leadingAxes(axis: number | number[], shape: number[]): number {
  const axes = util.parseAxisParam(axis, shape).sort((a, b) => a - b);
  const leading = axes.every((a, i) => a === i) ? axes.length : 0;
  return leading < shape.length ? leading : 0;
}

function reducer(kernelName: string, mean: boolean): KernelFunc {
  const reduce = (args: ReduceArgs): TensorInfo => {
    const { inputs: { x }, backend, attrs: { axis, keepDims } } = args;
    const leading = leadingAxes(axis, x.shape);
    if (x.dtype !== "float32" || leading === 0 || util.sizeFromShape(x.shape) === 0) {
      return runStockKernel(kernelName, backend, args.inputs, args.attrs as unknown as NamedAttrMap);
    }
    const rows = util.sizeFromShape(x.shape.slice(0, leading));
    const kept = x.shape.slice(leading);
    const out = backend.makeOutput(keepDims ? [...new Array<number>(leading).fill(1), ...kept] : kept, "float32");
    trainingKernels(backend).sum_leading_axes(
      heapOffset(backend, x), heapOffset(backend, out), rows, util.sizeFromShape(kept), mean ? 1 / rows : 1);
    return out;
  };
  return reduce as unknown as KernelFunc;
}

export const sumConfig: KernelConfig = { kernelName: Sum, backendName: "wasm", kernelFunc: reducer(Sum, false) };
export const meanConfig: KernelConfig = { kernelName: Mean, backendName: "wasm", kernelFunc: reducer(Mean, true) };
