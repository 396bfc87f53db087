// The parts of @tensorflow/tfjs-backend-wasm's BackendWasm that our kernels use: tensor
// data lives in the emscripten heap at `memoryOffset` (bytes), outputs are made with
// `makeOutput`. Typed here because the package's own types lean on @types/emscripten.
import type { DataType, TensorInfo } from "@tensorflow/tfjs-core";

export interface EmscriptenHeap {
  /** Exports of the backend's wasm instance; `memory` is its WebAssembly.Memory. */
  asm: { memory: object };
  HEAPU8: Uint8Array;
  HEAPF32: Float32Array;
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

export interface WasmBackend {
  wasm: EmscriptenHeap;
  dataIdMap: { get(dataId: object): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object): boolean;
  incRef(dataId: object): void;
}

/** Byte offset of a tensor's data in the wasm heap (tfjs stores it unsigned). */
export function heapOffset(backend: WasmBackend, tensor: TensorInfo): number {
  return backend.dataIdMap.get(tensor.dataId).memoryOffset >>> 0;
}

/**
 * `bytes` of scratch in the wasm heap, as an unsigned byte offset. emscripten's `_malloc`
 * returns a signed i32: past 2 GiB of heap it is negative, and a typed array silently drops
 * writes at a negative index (wasm32 addresses are unsigned; the heap may reach 4 GiB).
 * Release it with `backend.wasm._free`.
 */
export function allocateScratch(backend: WasmBackend, bytes: number): number {
  return backend.wasm._malloc(bytes) >>> 0;
}
