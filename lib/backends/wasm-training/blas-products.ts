// The matrix products of our wasm kernels, handed to BLAS (../blas.ts) when one is loaded: the
// product runs natively, in place on the tensors in the wasm heap.
import { nativeBlas, type GemmCall } from "../blas";
import type { WasmBackend } from "./wasm-backend";

let disabled = false;

/** Whether products go to BLAS now. */
export function blasActive(): boolean {
  return !disabled && nativeBlas() !== undefined;
}

/** The BLAS computing the products now (its label), or undefined: results differ from our kernels' in the last bits. */
export function activeBlasLabel(): string | undefined {
  return disabled ? undefined : nativeBlas()?.label;
}

/** C = op(A) op(B) + beta C on byte offsets into the backend's heap, by BLAS; callers check blasActive() first. */
export function heapGemm(backend: WasmBackend, call: GemmCall): void {
  const blas = disabled ? undefined : nativeBlas();
  if (!blas) throw new Error("heapGemm: no BLAS is active (check blasActive() first)");
  // Read the heap's buffer only now: an allocation may have grown the memory, which detaches the old one.
  blas.gemm(backend.wasm.HEAPU8.buffer as ArrayBuffer, call);
}

/**
 * Runs `work` with our wasm kernels computing every product on this thread (worker threads keep
 * theirs), then goes back: for measuring what BLAS gains in one run (bench/). CHARID_BLAS=off
 * turns BLAS off everywhere.
 */
export async function withoutBlas<T>(work: () => Promise<T>): Promise<T> {
  const before = disabled;
  disabled = true;
  try {
    return await work();
  } finally {
    disabled = before;
  }
}
