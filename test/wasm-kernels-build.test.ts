// The committed kernel binaries are what scripts/build-wasm-kernels.sh makes of the C sources next
// to them, so sources and binaries cannot drift apart: training-kernels.wasm with clang 14,
// training-kernels-relaxed.wasm with clang 16 (apt-get install clang lld clang-16 lld-16;
// scripts/setup.ts --tests installs them). A build whose clang is missing is skipped.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compile } from "../lib/backends/wasm-training/kernel-module";
import { KERNEL_VARIANTS, KERNELS_WASM_PATHS, relaxedSimdSupported, type KernelVariant } from "../lib/backends/wasm-training/kernel-variant";

const BUILD_SCRIPT = path.join(__dirname, "..", "scripts", "build-wasm-kernels.sh");
/** The compilers the build script tries for each variant, in its order. */
const COMPILERS: Record<KernelVariant, string[]> = { baseline: ["clang-14", "clang"], relaxed: ["clang-16"] };
const LINKERS: Record<KernelVariant, string> = { baseline: "wasm-ld", relaxed: "wasm-ld-16" };

/** The clang version recorded in the binary's producers section, e.g. "14.0.6". */
function builtWithClang(binary: Uint8Array): string | undefined {
  const [producers] = WebAssembly.Module.customSections(new WebAssembly.Module(binary), "producers");
  return producers ? /clang.(\d+\.\d+\.\d+)/.exec(Buffer.from(producers).toString("latin1"))?.[1] : undefined;
}

/** The version of the first compiler the build script would use, provided its linker is installed too. */
function installedClang(variant: KernelVariant): string | undefined {
  if (spawnSync(LINKERS[variant], ["--version"]).status !== 0) return undefined;
  for (const clang of COMPILERS[variant]) {
    const version = spawnSync(clang, ["--version"], { encoding: "utf8" });
    if (version.status === 0) return /clang version (\d+\.\d+\.\d+)/.exec(version.stdout)?.[1];
  }
  return undefined;
}

/** Node 20 compiles the relaxed build only once relaxed SIMD is on (kernel-variant.ts turns it on). */
const unreadable = (variant: KernelVariant) =>
  variant === "relaxed" && !relaxedSimdSupported() ? "this engine does not validate relaxed SIMD" : undefined;

for (const variant of KERNEL_VARIANTS) {
  const file = KERNELS_WASM_PATHS[variant];
  test(`the committed ${path.basename(file)} is rebuilt byte for byte from its C sources`, (t) => {
    if (unreadable(variant)) return t.skip(unreadable(variant));
    const committed = readFileSync(file);
    const wanted = builtWithClang(committed);
    const installed = installedClang(variant);
    if (!installed || installed !== wanted) {
      t.skip(`needs clang ${wanted} and wasm-ld; found ${installed ? `clang ${installed}` : "none"}`);
      return;
    }
    const dir = mkdtempSync(path.join(tmpdir(), "wasm-kernels-"));
    try {
      const rebuilt = path.join(dir, path.basename(file));
      const build = spawnSync("sh", [BUILD_SCRIPT, variant, rebuilt], { encoding: "utf8" });
      assert.equal(build.status, 0, build.stderr);
      assert.ok(readFileSync(rebuilt).equals(committed), `${path.basename(file)} is stale: run scripts/build-wasm-kernels.sh`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test(`${path.basename(file)} owns no static data, which would land on the tfjs heap's own`, (t) => {
    if (unreadable(variant)) return t.skip(unreadable(variant));
    assert.doesNotThrow(() => compile(readFileSync(file)));
  });
}
