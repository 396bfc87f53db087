// Picks the fastest TensorFlow.js backend this machine can run, in the order
// tensorflow (GPU, then CPU bindings) > wasm > cpu, and says which one it took.
// Set CHARID_BACKEND=tensorflow|wasm|cpu (or pass `force`) to choose one.
import * as tf from "@tensorflow/tfjs";
import { blasStatus, nativeBlas } from "./backends/blas";
import { adviseHugePagesOnGrowth } from "./backends/huge-pages";
import { registerWasmTrainingKernels } from "./backends/wasm-training";
import { kernelVariantLabel } from "./backends/wasm-training/kernel-variant";
import type { WasmBackend } from "./backends/wasm-training/wasm-backend";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  name: BackendName;
  /** What the computation runs on, e.g. "GPU (tfjs-node-gpu)" or "CPU (wasm, SIMD + relaxed FMA, 1 thread)". */
  device: string;
  /** Why faster backends were passed over. */
  skipped: string[];
}

const BACKEND_NAMES: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

let selected: BackendInfo | undefined;

export function isBackendName(name: string): name is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(name);
}

function requestedBackend(force?: BackendName): BackendName | undefined {
  if (force) return force;
  const fromEnv = process.env.CHARID_BACKEND?.trim().toLowerCase();
  if (!fromEnv) return undefined;
  if (!isBackendName(fromEnv)) {
    throw new Error(`CHARID_BACKEND=${fromEnv} is not a backend; use one of ${BACKEND_NAMES.join(", ")}`);
  }
  return fromEnv;
}

interface NodeBindingBackend {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

/** Loads one of the native TensorFlow packages; both register the "tensorflow" backend. */
async function tryTensorflow(skipped: string[]): Promise<string | undefined> {
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      require(pkg);
    } catch (error) {
      skipped.push(`${pkg}: ${firstLine(error)}`);
      continue;
    }
    if (await tf.setBackend("tensorflow")) {
      const binding = tf.backend() as unknown as NodeBindingBackend;
      const onGpu = Boolean(binding.isGPUPackage && binding.isUsingGpuDevice);
      return onGpu ? `GPU (${pkg})` : `CPU (${pkg})`;
    }
    skipped.push(`${pkg}: loaded but the tensorflow backend did not initialise`);
  }
  return undefined;
}

async function tryWasm(skipped: string[]): Promise<string | undefined> {
  try {
    require("@tensorflow/tfjs-backend-wasm");
    adviseHugePagesOnGrowth();
    if (await withoutNewProcessHandlers(() => tf.setBackend("wasm"))) {
      registerWasmTrainingKernels();
      const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT") ? kernelVariantLabel() : "no SIMD";
      const threads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT") ? "multi-threaded" : "1 thread";
      const products = nativeBlas()?.label ?? `our kernels, ${blasStatus()}`;
      return `CPU (wasm, ${simd}, ${threads}; matrix products: ${products})`;
    }
    skipped.push("@tensorflow/tfjs-backend-wasm: did not initialise");
  } catch (error) {
    skipped.push(`@tensorflow/tfjs-backend-wasm: ${firstLine(error)}`);
  }
  return undefined;
}

/**
 * Emscripten's Node glue (the wasm backend's loader) adds process handlers that rethrow every
 * uncaught exception and unhandled rejection. In a notebook that turns a stray asynchronous error,
 * which the kernel would report and survive, into a dead kernel that takes the training with it;
 * so the handlers it adds are removed and Node's (or the kernel's) own behaviour stays.
 */
async function withoutNewProcessHandlers<T>(init: () => Promise<T>): Promise<T> {
  const listeners = (event: string) => process.listeners(event as "uncaughtException") as ((...args: unknown[]) => void)[];
  const events = ["uncaughtException", "unhandledRejection"];
  const before = events.map((event) => new Set(listeners(event)));
  try {
    return await init();
  } finally {
    events.forEach((event, i) => {
      for (const listener of listeners(event)) if (!before[i].has(listener)) process.removeListener(event, listener);
    });
  }
}

async function tryCpu(): Promise<string | undefined> {
  return (await tf.setBackend("cpu")) ? "CPU (plain JavaScript, slow)" : undefined;
}

const ATTEMPTS: Record<BackendName, (skipped: string[]) => Promise<string | undefined>> = {
  tensorflow: tryTensorflow,
  wasm: tryWasm,
  cpu: tryCpu,
};

/**
 * Selects and initialises the backend once per process and prints it. Later calls return the
 * same choice; a different `force` after the first call is an error rather than a silent switch.
 */
export async function selectBackend(force?: BackendName, log: (line: string) => void = console.log): Promise<BackendInfo> {
  const wanted = requestedBackend(force);
  if (selected) {
    if (wanted && wanted !== selected.name) {
      throw new Error(`backend already set to ${selected.name}; restart the kernel to use ${wanted}`);
    }
    return selected;
  }
  const order = wanted ? [wanted] : BACKEND_NAMES;
  const skipped: string[] = [];
  for (const name of order) {
    const device = await ATTEMPTS[name](skipped);
    if (device) {
      await tf.ready();
      selected = { name, device, skipped };
      log(`tfjs backend: ${name} on ${device}`);
      return selected;
    }
  }
  throw new Error(`backend ${order.join("/")} is not available here:\n  ${skipped.join("\n  ")}`);
}

/** The largest heap the wasm backend can grow to: wasm32 addresses 4 GiB, less one 64 KiB page. */
export const WASM_HEAP_LIMIT_BYTES = 2 ** 32 - 2 ** 16;

/** Size of the wasm backend's heap (it grows, never shrinks), or undefined on another backend. */
export function wasmHeapBytes(): number | undefined {
  if (tf.getBackend() !== "wasm") return undefined;
  return (tf.backend() as unknown as WasmBackend).wasm.HEAPU8.length;
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}
