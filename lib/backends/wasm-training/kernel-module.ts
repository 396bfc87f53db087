// Loads training-kernels.wasm, or its relaxed-SIMD build (both built from ./c by
// scripts/build-wasm-kernels.sh; kernel-variant.ts picks one), into the heap of a TensorFlow.js wasm
// backend: it imports that backend's memory, so kernels read and write tensors in place. One
// instance per backend object.
import { readFileSync } from "node:fs";
import { kernelVariant, KERNELS_WASM_PATHS, relaxedSimdSupported, type KernelVariant } from "./kernel-variant";
import type { WasmBackend } from "./wasm-backend";

type Pointer = number;

/** The parts of the WebAssembly JS API used here (the notebook compiler's lib has no types for it). */
interface WebAssemblyApi {
  Module: { new (bytes: Uint8Array): object; imports(module: object): { module: string; name: string }[] };
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: object };
  Table: new (descriptor: { initial: number; element: "anyfunc" }) => object;
  Global: new (descriptor: { value: "i32"; mutable: false }, value: number) => object;
}
const wasmApi = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

export interface TrainingKernels {
  conv2d_filter_grad(x: Pointer, dy: Pointer, dw: Pointer, ...shape: number[]): void;
  conv2d_input_grad(dy: Pointer, filter: Pointer, scratch: Pointer, dx: Pointer, ...shape: number[]): void;
  depthwise_filter_grad(x: Pointer, dy: Pointer, dw: Pointer, ...shape: number[]): void;
  depthwise_input_grad(dy: Pointer, filter: Pointer, dx: Pointer, ...shape: number[]): void;
  depthwise3x3_f32(x: Pointer, filter: Pointer, bias: Pointer, out: Pointer, ...shapeAndClamp: number[]): void;
  pointwise_conv_f32(x: Pointer, filter: Pointer, bias: Pointer, packed: Pointer, out: Pointer, ...shapeAndClamp: number[]): void;
  conv_gemm_f32(x: Pointer, filter: Pointer, bias: Pointer, packed: Pointer, rows: Pointer, out: Pointer, ...shapeAndClamp: number[]): void;
  im2col_rows_f32(x: Pointer, rows: Pointer, first: number, end: number, ...shape: number[]): void;
  bias_clamp_f32(out: Pointer, bias: Pointer, rows: number, cols: number, min: number, max: number): void;
  sum_leading_axes(x: Pointer, out: Pointer, rows: number, cols: number, scale: number): void;
  binary_f32(a: Pointer, aRowStep: number, aColStep: number, b: Pointer, bRowStep: number, bColStep: number,
    out: Pointer, rows: number, cols: number, op: number): void;
  batch_norm_f32(x: Pointer, mean: Pointer, factor: Pointer, offset: Pointer, out: Pointer, rows: number, channels: number): void;
  batch_norm_grad_sums(x: Pointer, dy: Pointer, mean: Pointer, out: Pointer, rows: number, channels: number): void;
  clip_grad_f32(x: Pointer, dy: Pointer, out: Pointer, n: number, lo: number, hi: number): void;
  relu_grad_f32(x: Pointer, dy: Pointer, out: Pointer, n: number): void;
}

/** The baseline build, which every engine with SIMD128 runs. */
export const KERNELS_WASM_PATH = KERNELS_WASM_PATHS.baseline;
const DATA_SECTION_ID = 11;

const compiled = new Map<KernelVariant, object>();
const instances = new Map<KernelVariant, WeakMap<WasmBackend, TrainingKernels>>();
let override: KernelVariant | undefined;

/** The build trainingKernels returns now. */
export function activeKernelVariant(): KernelVariant {
  return override ?? kernelVariant();
}

export function trainingKernels(backend: WasmBackend): TrainingKernels {
  const variant = activeKernelVariant();
  let perBackend = instances.get(variant);
  if (!perBackend) instances.set(variant, (perBackend = new WeakMap()));
  let kernels = perBackend.get(backend);
  if (!kernels) {
    kernels = instantiate(backend, variant);
    perBackend.set(backend, kernels);
  }
  return kernels;
}

/** Runs `work` on the given build of the kernels, then goes back: for measuring what FMA gains (bench/steps.ts). */
export async function withKernelVariant<T>(variant: KernelVariant, work: () => Promise<T>): Promise<T> {
  if (variant === "relaxed" && !relaxedSimdSupported()) throw new Error("this engine does not validate relaxed SIMD");
  const before = override;
  override = variant;
  try {
    return await work();
  } finally {
    override = before;
  }
}

function instantiate(backend: WasmBackend, variant: KernelVariant): TrainingKernels {
  let module = compiled.get(variant);
  if (!module) compiled.set(variant, (module = compile(readFileSync(KERNELS_WASM_PATHS[variant]))));
  const env: Record<string, unknown> = {};
  for (const { module: from, name } of wasmApi.Module.imports(module)) {
    env[name] = importValue(backend, `${from}.${name}`);
  }
  return new wasmApi.Instance(module, { env }).exports as TrainingKernels;
}

function importValue(backend: WasmBackend, name: string): unknown {
  switch (name) {
    case "env.memory":
      return backend.wasm.asm.memory;
    case "env.__indirect_function_table":
      return new wasmApi.Table({ initial: 0, element: "anyfunc" });
    // Position-independent code is relocated by these; with no static data and no function
    // pointers in the module, nothing is relocated.
    case "env.__memory_base":
    case "env.__table_base":
      return new wasmApi.Global({ value: "i32", mutable: false }, 0);
    default:
      // e.g. env.__stack_pointer, if the C code ever spills to a stack in linear memory.
      throw new Error(`training-kernels.wasm imports ${name}, which the loader does not provide`);
  }
}

/** Static data would be placed at __memory_base = 0, over the backend's own data. */
export function compile(bytes: Uint8Array): object {
  if (sectionIds(bytes).includes(DATA_SECTION_ID)) {
    throw new Error("training-kernels.wasm has a data section; the C sources must not use static data");
  }
  return new wasmApi.Module(bytes);
}

function sectionIds(bytes: Uint8Array): number[] {
  const ids: number[] = [];
  let at = 8; // magic + version
  while (at < bytes.length) {
    ids.push(bytes[at++]);
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = bytes[at++];
      size += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) break;
    }
    at += size;
  }
  return ids;
}
