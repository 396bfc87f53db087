// TensorFlow.js's own specs for the convolutions (with their gradients) and for every kernel
// and gradient we replace, run on the wasm backend (see test/tfjs-specs/), with each build of our
// kernels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { KERNEL_VARIANT_ENV, KERNEL_VARIANTS, relaxedSimdSupported } from "../lib/backends/wasm-training/kernel-variant";
import { HIGH_HEAP_ENV } from "./helpers/high-heap";
import type { SpecSummary } from "./tfjs-specs/harness";

const MIN_EXECUTED = 550;

function runSpecs(args: string[] = [], env: Record<string, string> = {}): SpecSummary {
  const runner = path.join(__dirname, "tfjs-specs", "run-wasm-specs.ts");
  const result = spawnSync(process.execPath, ["--import", "tsx", runner, ...args], {
    encoding: "utf8", timeout: 300_000, env: { ...process.env, ...env },
  });
  const lines = result.stdout.trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]) as SpecSummary;
  } catch {
    throw new Error(`the spec runner printed no summary (exit ${result.status}):\n${result.stdout}\n${result.stderr}`);
  }
}

for (const variant of KERNEL_VARIANTS) {
  test(`tfjs-core's convolution, gradient and replaced-kernel specs all pass on wasm with our kernels (${variant} build)`, (t) => {
    if (variant === "relaxed" && !relaxedSimdSupported()) return t.skip("this engine does not validate relaxed SIMD");
    const summary = runSpecs([], { [KERNEL_VARIANT_ENV]: variant });
    assert.deepEqual(summary.failures, []);
    assert.ok(summary.executed >= MIN_EXECUTED, `only ${summary.executed} specs ran`);
    console.log(`tfjs specs on wasm, ${variant} kernels: ${summary.passed} passed, ${summary.excluded} excluded`);
  });
}

test("they pass too with every suite's wasm heap grown past 2 GiB and its free memory poisoned", () => {
  const summary = runSpecs([], { [HIGH_HEAP_ENV]: "1" });
  assert.deepEqual(summary.failures, []);
  assert.ok(summary.executed >= MIN_EXECUTED, `only ${summary.executed} specs ran`);
  console.log(`tfjs specs on wasm past 2 GiB: ${summary.passed} passed`);
});

test("without our kernels only gradient specs fail, so the run above does exercise our kernels", () => {
  const summary = runSpecs(["--stock"]);
  assert.ok(summary.failed >= 15, `only ${summary.failed} specs need our kernels`);
  for (const failure of summary.failures) {
    const name = failure.slice(0, failure.indexOf(": "));
    assert.match(name, /gradient|backprop/i);
  }
  assert.ok(summary.failures.some((f) => f.includes("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'")));
});
