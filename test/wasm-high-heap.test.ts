// The wasm heap past 2 GiB (a MobileNetV2-1.0 training step grows it to about 3.2 GiB): pointers
// there are >= 2^31, which emscripten's _malloc returns as negative numbers. Checks the high-heap
// test mode itself, the kernel that broke, and runs the wasm kernel tests in that mode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../lib/backends/wasm-training";
import { allocateScratch, heapOffset, type WasmBackend } from "../lib/backends/wasm-training/wasm-backend";
import { Rng } from "../lib/random";
import { HIGH_HEAP_ENV, TWO_GIB, useHighHeapWasm } from "./helpers/high-heap";
import { runTestFile } from "./helpers/kernel-variants";

let backend: WasmBackend;

test.before(async () => {
  useHighHeapWasm();
  assert.ok(await tf.setBackend("wasm"));
  registerWasmTrainingKernels();
  backend = tf.backend() as unknown as WasmBackend;
});

test("in high-heap mode tensors and scratch sit above 2 GiB, in memory filled with NaN", () => {
  assert.ok(backend.wasm.HEAPU8.length > TWO_GIB, `heap is ${backend.wasm.HEAPU8.length} bytes`);
  const scratch = allocateScratch(backend, 4 * 64);
  try {
    assert.ok(scratch >= TWO_GIB, `scratch at ${scratch}`);
    assert.ok(Number.isNaN(backend.wasm.HEAPF32[scratch / 4 + 17]), "freed memory is not poisoned");
  } finally {
    backend.wasm._free(scratch);
  }
  const t = tf.zeros([1000]);
  assert.ok(heapOffset(backend, t) >= TWO_GIB, `tensor at ${heapOffset(backend, t)}`);
  t.dispose();
});

test("per-channel batch norm above 2 GiB equals a plain JavaScript reference", () => {
  const rng = new Rng(12);
  const [rows, channels] = [2 * 4 * 4, 8];
  const draw = (n: number, lo: number, hi: number) => Float32Array.from({ length: n }, () => lo + (hi - lo) * rng.next());
  const [x, mean, variance, offset, scale] = [draw(rows * channels, -2, 2), draw(channels, -1, 1), draw(channels, 0.5, 2),
    draw(channels, -1, 1), draw(channels, 0.5, 1.5)];
  const out = tf.tidy(() => tf.batchNorm(tf.tensor4d(x, [2, 4, 4, channels]), tf.tensor1d(mean), tf.tensor1d(variance),
    tf.tensor1d(offset), tf.tensor1d(scale), 1e-3)).dataSync();
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    const expected = (x[i] - mean[c]) * scale[c] / Math.sqrt(variance[c] + 1e-3) + offset[c];
    worst = Math.max(worst, Math.abs(out[i] - expected));
  }
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
});

test("the wasm kernel tests pass with the heap grown past 2 GiB", () => {
  const run = runTestFile(path.join(__dirname, "wasm-kernels.test.ts"), { [HIGH_HEAP_ENV]: "1" });
  assert.equal(run.status, 0, `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  assert.match(run.stdout, /# fail 0/);
  assert.match(run.stdout, /high heap: tensors at/);
});

// With 2 threads this thread computes half the batch: less room is left for it to overflow.
for (const [threads, room] of [[1, "16"], [2, "4"]] as const) {
  test(`a training step that overflows wasm32's 4 GiB says so, with what to lower (${threads} thread${threads > 1 ? "s" : ""})`, () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "helpers", "heap-exhaustion-cli.ts"), room, String(threads)], {
      encoding: "utf8", timeout: 120_000,
    });
    const result = /^RESULT (.*)$/m.exec(run.stdout)?.[1];
    assert.ok(result, `no result (exit ${run.status}):\n${run.stdout.slice(-2000)}\n${run.stderr.slice(-2000)}`);
    const what = threads > 1 ? "a training step on a batch of 4096x8x8x3 over 2 threads" : "a training step on a batch of 4096x8x8x3";
    assert.match(result, new RegExp(`^WasmHeapFullError: ${what} ran out of wasm memory at 4\\.\\d\\d GiB`));
    assert.match(result, /Lower the batch size or the image size/);
    assert.match(result, /restart the kernel/);
  });
}
