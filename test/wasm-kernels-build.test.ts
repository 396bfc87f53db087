// The committed training-kernels.wasm is what scripts/build-wasm-kernels.sh makes of the C
// sources next to it, so sources and binary cannot drift apart. Needs clang and wasm-ld
// (apt-get install clang lld) of the version that built the binary; skipped otherwise.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { compile, KERNELS_WASM_PATH } from "../lib/backends/wasm-training/kernel-module";

const BUILD_SCRIPT = path.join(__dirname, "..", "scripts", "build-wasm-kernels.sh");

/** The clang version recorded in the binary's producers section, e.g. "14.0.6". */
function builtWithClang(binary: Uint8Array): string | undefined {
  const [producers] = WebAssembly.Module.customSections(new WebAssembly.Module(binary), "producers");
  return producers ? /clang.(\d+\.\d+\.\d+)/.exec(Buffer.from(producers).toString("latin1"))?.[1] : undefined;
}

function installedClang(): string | undefined {
  const clang = spawnSync("clang", ["--version"], { encoding: "utf8" });
  const linker = spawnSync("wasm-ld", ["--version"], { encoding: "utf8" });
  if (clang.status !== 0 || linker.status !== 0) return undefined;
  return /clang version (\d+\.\d+\.\d+)/.exec(clang.stdout)?.[1];
}

test("the committed kernel binary is rebuilt byte for byte from its C sources", (t) => {
  const committed = readFileSync(KERNELS_WASM_PATH);
  const wanted = builtWithClang(committed);
  const installed = installedClang();
  if (!installed || installed !== wanted) {
    t.skip(`needs clang ${wanted} and wasm-ld; found ${installed ? `clang ${installed}` : "none"}`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), "wasm-kernels-"));
  try {
    const rebuilt = path.join(dir, "training-kernels.wasm");
    const build = spawnSync("sh", [BUILD_SCRIPT, rebuilt], { encoding: "utf8" });
    assert.equal(build.status, 0, build.stderr);
    assert.ok(readFileSync(rebuilt).equals(committed), "training-kernels.wasm is stale: run scripts/build-wasm-kernels.sh");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the kernel binary owns no static data, which would land on the tfjs heap's own", () => {
  assert.doesNotThrow(() => compile(readFileSync(KERNELS_WASM_PATH)));
});
