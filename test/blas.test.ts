// OpenBLAS through koffi, in place on a wasm heap (lib/backends/blas.ts): the products against a
// plain loop, every transpose, beta; the library the setup installs is found; a BLAS asked for by
// name that cannot be loaded is an error with the fix; CHARID_BLAS=off leaves the products to our
// kernels, and selectBackend says which computes the products. The kernels that call it are checked
// against the cpu backend in wasm-kernels.test.ts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { BLAS_ENV, blasStatus, nativeBlas } from "../lib/backends/blas";
import { Rng } from "../lib/random";

const ROOT = path.join(__dirname, "..");

function reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number, transA: boolean, transB: boolean): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[transA ? p * m + i : i * k + p] * b[transB ? j * k + p : p * n + j];
      c[i * n + j] = sum;
    }
  }
  return c;
}

/** A blas status line from a fresh process with `env` added. */
function statusIn(env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
  const script = `const b = require("./lib/backends/blas"); console.log(b.blasStatus());`;
  const run = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
  return { status: run.status, stdout: run.stdout.trim(), stderr: run.stderr };
}

test("OpenBLAS, which the setup installs, is found and named", () => {
  if (process.env[BLAS_ENV]) return;
  const blas = nativeBlas();
  assert.ok(blas, blasStatus());
  assert.match(blas.label, /^OpenBLAS \d+\.\d+\.\d+, \w+ kernels$/);
});

test("products in place on a wasm heap match a plain loop: every transpose, beta 0 and 1, offsets anywhere in the heap", (t) => {
  const blas = nativeBlas();
  if (!blas) return t.skip(blasStatus());
  const memory = new WebAssembly.Memory({ initial: 64 }); // 4 MiB
  const heap = new Float32Array(memory.buffer);
  const rng = new Rng(3);
  const [m, n, k] = [37, 29, 71];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const beta of [0, 1]) {
        const at = 4 * 1001, bt = at + 4 * m * k + 4 * 17, ct = bt + 4 * k * n + 4 * 5;
        for (let i = 0; i < m * k + k * n + m * n + 100; i++) heap[at / 4 + i] = rng.next() * 2 - 1;
        const a = heap.slice(at / 4, at / 4 + m * k);
        const b = heap.slice(bt / 4, bt / 4 + k * n);
        const before = heap.slice(ct / 4, ct / 4 + m * n);
        const after = heap.slice(ct / 4 + m * n, ct / 4 + m * n + 64);
        blas.gemm(memory.buffer, { m, n, k, a: at, transA, b: bt, transB, c: ct, beta });
        const expected = reference(a, b, m, n, k, transA, transB);
        const what = `transA ${transA}, transB ${transB}, beta ${beta}`;
        for (let i = 0; i < m * n; i++) {
          const want = expected[i] + beta * before[i];
          assert.ok(Math.abs(heap[ct / 4 + i] - want) <= 1e-5 * (1 + Math.abs(want)), `${what}: c[${i}] = ${heap[ct / 4 + i]}, expected ${want}`);
        }
        assert.deepEqual(heap.slice(ct / 4 + m * n, ct / 4 + m * n + 64), after, `${what}: wrote past C`);
      }
    }
  }
});

test("a BLAS named in CHARID_BLAS that cannot be loaded stops with the library and the fix; CHARID_BLAS=off turns it off", () => {
  const missing = statusIn({ [BLAS_ENV]: "/nonexistent/libnoblas.so" });
  assert.notEqual(missing.status, 0);
  assert.match(missing.stderr, /CHARID_BLAS=\/nonexistent\/libnoblas\.so: \/nonexistent\/libnoblas\.so could not be loaded/);
  assert.match(missing.stderr, /apt-get install libopenblas0-pthread/);
  assert.match(missing.stderr, /CHARID_BLAS=off/);
  const off = statusIn({ [BLAS_ENV]: "off" });
  assert.equal(off.status, 0, off.stderr);
  assert.equal(off.stdout, "no BLAS: CHARID_BLAS=off");
});

test("on an AMD CPU with AVX-512 OpenBLAS runs its AVX-512 kernels unless OPENBLAS_CORETYPE says otherwise", (t) => {
  const cpuinfo = require("node:fs").readFileSync("/proc/cpuinfo", "utf8") as string;
  const amdAvx512 = /AuthenticAMD/.test(cpuinfo) && /\bavx512f\b/.test(cpuinfo) && /\bavx512bw\b/.test(cpuinfo) && /\bavx512dq\b/.test(cpuinfo) && /\bavx512vl\b/.test(cpuinfo);
  if (!amdAvx512 || !nativeBlas()) return t.skip("not an AMD CPU with AVX-512, or no OpenBLAS");
  const { OPENBLAS_CORETYPE: _, ...unset } = process.env;
  const script = `const b = require("./lib/backends/blas"); console.log(b.blasStatus());`;
  const run = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT, encoding: "utf8", env: unset });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /SkylakeX kernels/);
  assert.match(statusIn({ OPENBLAS_CORETYPE: "Haswell" }).stdout, /Haswell kernels/);
});

test("selectBackend says what computes the matrix products, and why not BLAS when it is off", () => {
  const line = (env: Record<string, string>) => {
    const script = `require("./lib/backend").selectBackend("wasm")`;
    const run = spawnSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });
    assert.equal(run.status, 0, run.stderr);
    return /^tfjs backend: .*$/m.exec(run.stdout)?.[0] ?? run.stdout;
  };
  assert.match(line({ [BLAS_ENV]: "off" }), /; matrix products: our kernels, no BLAS: CHARID_BLAS=off\)$/);
  if (nativeBlas()) assert.match(line({}), /; matrix products: OpenBLAS \S+, \w+ kernels\)$/);
});
