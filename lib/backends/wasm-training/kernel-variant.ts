// Which build of the training kernels runs: "relaxed" (relaxed SIMD: fused multiply-adds where the
// CPU has FMA) when the engine validates relaxed SIMD, else "baseline" (plain SIMD128, the kernels
// as they were before relaxed SIMD). CHARID_WASM_KERNELS=baseline|relaxed forces one.
import { setFlagsFromString } from "node:v8";
import * as path from "node:path";

export type KernelVariant = "baseline" | "relaxed";
export const KERNEL_VARIANTS: readonly KernelVariant[] = ["baseline", "relaxed"];
export const KERNEL_VARIANT_ENV = "CHARID_WASM_KERNELS";

export const KERNELS_WASM_PATHS: Record<KernelVariant, string> = {
  baseline: path.join(__dirname, "training-kernels.wasm"),
  relaxed: path.join(__dirname, "training-kernels-relaxed.wasm"),
};

/** (module (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)) */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // code
]);

const validates = () => (globalThis as unknown as { WebAssembly: { validate(bytes: Uint8Array): boolean } }).WebAssembly.validate(RELAXED_PROBE);

let relaxed: boolean | undefined;

/**
 * Whether this engine runs relaxed SIMD. Node 20's V8 has it behind --experimental-wasm-relaxed-simd,
 * which Node refuses in NODE_OPTIONS; V8 reads the flag whenever it validates a module, so it is
 * switched on here, before the first relaxed module, and every launcher (tsx, tslab, worker
 * threads, which share the process's V8 flags) gets it without a command-line change.
 */
export function relaxedSimdSupported(): boolean {
  if (relaxed === undefined) {
    relaxed = validates();
    if (!relaxed) {
      setFlagsFromString("--experimental-wasm-relaxed-simd");
      relaxed = validates();
    }
  }
  return relaxed;
}

let chosen: KernelVariant | undefined;

export function kernelVariant(): KernelVariant {
  if (chosen) return chosen;
  const forced = process.env[KERNEL_VARIANT_ENV]?.trim().toLowerCase();
  if (forced && forced !== "auto" && !(KERNEL_VARIANTS as readonly string[]).includes(forced)) {
    throw new Error(`${KERNEL_VARIANT_ENV}=${forced}: use baseline, relaxed or auto`);
  }
  if (forced === "relaxed" && !relaxedSimdSupported()) {
    throw new Error(`${KERNEL_VARIANT_ENV}=relaxed, but this engine does not validate relaxed SIMD`);
  }
  chosen = forced === "baseline" ? "baseline" : relaxedSimdSupported() ? "relaxed" : "baseline";
  return chosen;
}

/** How selectBackend names the variant, e.g. "SIMD + relaxed FMA". */
export function kernelVariantLabel(variant: KernelVariant = kernelVariant()): string {
  return variant === "relaxed" ? "SIMD + relaxed FMA" : "SIMD";
}
