// Slice for wasm as block copies inside the heap (the gradient of the zero padding in front
// of strided convolutions). The stock kernel first copies the whole input out of the heap.
import { Slice, slice_util, util } from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, NamedAttrMap, SliceAttrs, TensorInfo } from "@tensorflow/tfjs-core";
import { runStockKernel } from "./stock-kernels";
import { heapOffset, type WasmBackend } from "./wasm-backend";

/** Below this many elements per contiguous run, per-run copies cost more than they save. */
const MIN_RUN = 16;

function slice(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: SliceAttrs }): TensorInfo {
  const { inputs: { x }, backend, attrs } = args;
  const [begin, size] = slice_util.parseSliceParams(x, attrs.begin, attrs.size);
  const rank = x.shape.length;
  // The innermost axis that is cut; everything inside it is copied whole.
  let cut = rank - 1;
  while (cut > 0 && begin[cut] === 0 && size[cut] === x.shape[cut]) cut--;
  const run = size[cut] * util.sizeFromShape(x.shape.slice(cut + 1));
  if (x.dtype === "string" || rank === 0 || run < MIN_RUN) {
    return runStockKernel(Slice, backend, args.inputs, attrs as unknown as NamedAttrMap);
  }
  const out = backend.makeOutput(size, x.dtype);
  const count = util.sizeFromShape(size.slice(0, cut));
  if (count === 0) return out;
  const bytes = util.bytesPerElement(x.dtype);
  const strides = util.computeStrides(x.shape).concat(1);
  const heap = backend.wasm.HEAPU8;
  const src = heapOffset(backend, x) + slice_util.computeFlatOffset(begin, strides) * bytes;
  const dst = heapOffset(backend, out);
  const index = new Array<number>(cut).fill(0);
  for (let i = 0; i < count; i++) {
    let from = src;
    for (let axis = 0; axis < cut; axis++) from += index[axis] * strides[axis] * bytes;
    heap.copyWithin(dst + i * run * bytes, from, from + run * bytes);
    for (let axis = cut - 1; axis >= 0 && ++index[axis] === size[axis]; axis--) index[axis] = 0;
  }
  return out;
}

export const sliceConfig: KernelConfig = { kernelName: Slice, backendName: "wasm", kernelFunc: slice as unknown as KernelFunc };
