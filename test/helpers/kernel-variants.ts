// Both builds of the training kernels under test: the one this process picked runs in place, the
// other in a child process with CHARID_WASM_KERNELS forcing it.
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { kernelVariant, KERNEL_VARIANT_ENV, relaxedSimdSupported, type KernelVariant } from "../../lib/backends/wasm-training/kernel-variant";

/** The variant this process does not run, and why it cannot be tested here, if it cannot. */
export function otherVariant(): { variant: KernelVariant; skip?: string } {
  const variant: KernelVariant = kernelVariant() === "relaxed" ? "baseline" : "relaxed";
  const skip = variant === "relaxed" && !relaxedSimdSupported() ? "this engine does not validate relaxed SIMD" : undefined;
  return { variant, skip };
}

/** Whether this process was started to test one forced variant (so it starts no further child). */
export function variantForced(): boolean {
  return Boolean(process.env[KERNEL_VARIANT_ENV]);
}

/** Runs a node:test file in a child process that prints its own report, with `env` added. */
export function runTestFile(file: string, env: Record<string, string>, timeout = 600_000): SpawnSyncReturns<string> {
  // Without NODE_TEST_CONTEXT, which makes a child of the test runner report to it, not print.
  const { NODE_TEST_CONTEXT: _, ...inherited } = process.env;
  return spawnSync(process.execPath, ["--import", "tsx", "--test", file], { encoding: "utf8", env: { ...inherited, ...env }, timeout });
}
