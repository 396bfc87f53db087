// Tile for wasm by block copies that double in size. The stock kernel computes every output
// element's source index, which made tiling the per-channel batch-norm factors in
// FusedBatchNorm's gradient the slowest kernel of MobileNetV2 training.
import { Tile, util } from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo, TileAttrs } from "@tensorflow/tfjs-core";
import { runStockKernel } from "./stock-kernels";
import { heapOffset, type WasmBackend } from "./wasm-backend";

function tile(args: { inputs: { x: TensorInfo }; backend: WasmBackend; attrs: TileAttrs }): TensorInfo {
  const { inputs: { x }, backend, attrs: { reps } } = args;
  // Strings do not live in the heap.
  if (x.dtype === "string") return runStockKernel(Tile, backend, args.inputs, args.attrs as unknown as NamedAttrMap);
  const shape = x.shape;
  const outShape = shape.map((size, i) => size * reps[i]);
  const out = backend.makeOutput(outShape, x.dtype);
  if (util.sizeFromShape(outShape) === 0) return out;
  const elementBytes = util.bytesPerElement(x.dtype);
  const inStrides = util.computeStrides(shape).concat(1).map((stride) => stride * elementBytes);
  const outStrides = util.computeStrides(outShape).concat(1).map((stride) => stride * elementBytes);
  // Trailing axes that are not repeated form one contiguous block in both input and output.
  let contiguousFrom = shape.length;
  while (contiguousFrom > 0 && reps[contiguousFrom - 1] === 1) contiguousFrom--;
  const contiguousBytes = util.sizeFromShape(shape.slice(contiguousFrom)) * elementBytes;
  const heap = backend.wasm.HEAPU8;

  /** Writes the output block of axes `axis...` from the input block at `src` to `dst`. */
  const fill = (axis: number, src: number, dst: number): void => {
    if (axis === contiguousFrom) {
      heap.copyWithin(dst, src, src + contiguousBytes);
      return;
    }
    for (let i = 0; i < shape[axis]; i++) fill(axis + 1, src + i * inStrides[axis], dst + i * outStrides[axis]);
    const once = shape[axis] * outStrides[axis];
    const total = once * reps[axis];
    for (let filled = once; filled < total; filled *= 2) {
      heap.copyWithin(dst + filled, dst, dst + Math.min(filled, total - filled));
    }
  };
  fill(0, heapOffset(backend, x), heapOffset(backend, out));
  return out;
}

export const tileConfig: KernelConfig = { kernelName: Tile, backendName: "wasm", kernelFunc: tile as unknown as KernelFunc };
