// OpenBLAS for the wasm backend's matrix products: 1x1 convolutions (most of a MobileNet's
// multiply-adds, forward and backward), the im2col products of other convolutions and dense layers'
// gradients. wasm's 128-bit SIMD keeps our own kernels near 16-19 GMAC/s a core; OpenBLAS's sgemm
// runs natively, with AVX2 or AVX-512. It is called through koffi, a C FFI that ships prebuilt in
// its npm package, in place on the wasm heap: tensors are neither copied nor moved. Without the
// library (or with CHARID_BLAS=off) our wasm kernels compute everything, as before.
import * as fs from "node:fs";

type Koffi = typeof import("koffi");

export const BLAS_ENV = "CHARID_BLAS";
/** Debian's libopenblas0-pthread (or -serial, -openmp) installs it under this name. */
export const DEFAULT_BLAS_LIBRARY = "libopenblas.so.0";

const ROW_MAJOR = 101;
const NO_TRANS = 111;
const TRANS = 112;

/** C = op(A) op(B) + beta C on contiguous row-major float32 matrices, given as byte offsets into a heap. */
export interface GemmCall {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** Columns of op(A), rows of op(B). */
  k: number;
  a: number;
  /** A is stored k x m and used transposed. */
  transA?: boolean;
  b: number;
  /** B is stored n x k and used transposed. */
  transB?: boolean;
  c: number;
  /** 0 overwrites C, 1 adds to it. */
  beta?: number;
}

export interface Blas {
  /** What selectBackend prints and feature-cache keys name, e.g. "OpenBLAS 0.3.21, SkylakeX kernels". */
  label: string;
  gemm(heap: ArrayBuffer, call: GemmCall): void;
}

type Sgemm = (order: number, transA: number, transB: number, m: number, n: number, k: number, alpha: number,
  a: Float32Array, lda: number, b: Float32Array, ldb: number, beta: number, c: Float32Array, ldc: number) => void;

let loaded: { blas?: Blas; reason: string } | undefined;

/** The BLAS the wasm kernels hand matrix products to, or undefined (blasStatus says why). */
export function nativeBlas(): Blas | undefined {
  loaded ??= load();
  return loaded.blas;
}

/** The BLAS in use, or why there is none. */
export function blasStatus(): string {
  loaded ??= load();
  return loaded.blas ? loaded.blas.label : `no BLAS: ${loaded.reason}`;
}

function load(): { blas?: Blas; reason: string } {
  const requested = process.env[BLAS_ENV]?.trim() ?? "";
  if (requested.toLowerCase() === "off") return { reason: `${BLAS_ENV}=off` };
  const library = requested && requested.toLowerCase() !== "auto" ? requested : DEFAULT_BLAS_LIBRARY;
  preferAvx512Kernels();
  let handle: ReturnType<Koffi["load"]>;
  let sgemm: Sgemm;
  try {
    // Required here, not imported: where koffi has no build for the platform, only BLAS is lost.
    const koffi = require("koffi") as Koffi;
    handle = koffi.load(library);
    sgemm = handle.func("void cblas_sgemm(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *, int)") as Sgemm;
  } catch (error) {
    const reason = `${library} could not be loaded (${firstLine(error)}); on Debian/Ubuntu: apt-get install libopenblas0-pthread`;
    if (requested && requested.toLowerCase() !== "auto") throw new Error(`${BLAS_ENV}=${requested}: ${reason}, or ${BLAS_ENV}=off`);
    return { reason };
  }
  const optional = (signature: string) => {
    try {
      return handle.func(signature);
    } catch {
      return undefined;
    }
  };
  // One thread per call: the data-parallel training and the parallel trunk already give each core a
  // whole batch, and a product's result then does not depend on how many threads there are.
  optional("void openblas_set_num_threads(int)")?.(1);
  const config = optional("const char *openblas_get_config()")?.() as string | undefined;
  const core = optional("const char *openblas_get_corename()")?.() as string | undefined;
  const version = /OpenBLAS \S+/.exec(config ?? "")?.[0];
  const label = version ? `${version}, ${core ?? "?"} kernels` : `${library} (cblas_sgemm)`;
  return {
    reason: "",
    blas: {
      label,
      gemm(heap, { m, n, k, a, transA = false, b, transB = false, c, beta = 0 }) {
        const view = (offset: number, count: number) => new Float32Array(heap, offset, count);
        sgemm(ROW_MAJOR, transA ? TRANS : NO_TRANS, transB ? TRANS : NO_TRANS, m, n, k, 1,
          view(a, m * k), transA ? m : k, view(b, k * n), transB ? k : n, beta, view(c, m * n), n);
      },
    },
  };
}

/**
 * OpenBLAS up to 0.3.21 (Debian 12's) does not know AMD's AVX-512 cores (Zen 4, Zen 5) and runs its
 * AVX2 (Haswell) kernels there, at about half the speed of its AVX-512 (SkylakeX) ones on the same
 * core. It reads OPENBLAS_CORETYPE when it is loaded; one the user set is kept.
 */
function preferAvx512Kernels(): void {
  if (process.env.OPENBLAS_CORETYPE || process.arch !== "x64") return;
  let cpuinfo = "";
  try {
    cpuinfo = fs.readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return;
  }
  const flags = new Set(/^flags\s*:(.*)$/m.exec(cpuinfo)?.[1].trim().split(/\s+/) ?? []);
  const avx512 = ["avx512f", "avx512bw", "avx512dq", "avx512vl"].every((flag) => flags.has(flag));
  if (avx512 && /^vendor_id\s*:\s*AuthenticAMD$/m.test(cpuinfo)) process.env.OPENBLAS_CORETYPE = "SkylakeX";
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split("\n")[0];
}
