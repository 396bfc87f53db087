// The "high heap" test mode (CHARID_HIGH_HEAP=1). Every wasm backend created while it is on first
// grows its heap past 2 GiB and leaves a free pool above that line filled with NaN, so that the
// tensors and scratch of the code under test sit at addresses >= 2^31, where a pointer read as a
// signed number goes wrong, and a kernel that reads memory it did not write returns NaN.
import * as tf from "@tensorflow/tfjs-core";
import type { EmscriptenHeap, WasmBackend } from "../../lib/backends/wasm-training/wasm-backend";

export const HIGH_HEAP_ENV = "CHARID_HIGH_HEAP";
export const TWO_GIB = 2 ** 31;
const CHUNK_BYTES = 64 * 2 ** 20;
/** Poisoned free memory above 2 GiB: room for every tensor a kernel test makes. */
const POOL_BYTES = 384 * 2 ** 20;

export function highHeapMode(): boolean {
  return process.env[HIGH_HEAP_ENV] === "1";
}

/**
 * Holds chunks until the heap's next free byte is past 2 GiB (untouched, they cost address space,
 * not memory), then frees a pool above the line filled with `poison`.
 */
export function growPastTwoGiB(wasm: EmscriptenHeap, poison = NaN): void {
  const allocate = () => {
    const at = wasm._malloc(CHUNK_BYTES) >>> 0;
    if (at === 0) throw new Error(`the wasm heap cannot grow past ${wasm.HEAPU8.length} bytes`);
    return at;
  };
  let at = allocate();
  while (at < TWO_GIB) at = allocate();
  const pool = [at];
  while (pool.length * CHUNK_BYTES < POOL_BYTES) pool.push(allocate());
  for (const start of pool) wasm.HEAPF32.fill(poison, start / 4, (start + CHUNK_BYTES) / 4);
  for (const start of pool) wasm._free(start);
}

/** From now on the "wasm" backend, each time it is created, starts with a heap grown past 2 GiB. */
export function useHighHeapWasm(): void {
  const create = tf.findBackendFactory("wasm");
  if (!create) throw new Error("import @tensorflow/tfjs-backend-wasm before useHighHeapWasm()");
  tf.removeBackend("wasm");
  tf.registerBackend("wasm", async () => {
    const backend = (await create()) as unknown as WasmBackend;
    growPastTwoGiB(backend.wasm);
    return backend as unknown as tf.KernelBackend;
  }, 2);
}
