// Runs TensorFlow.js's own specs (SPEC_FILES) on the wasm backend with our training kernels
// registered (or, with --stock, without them), and prints one line of JSON:
// { executed, passed, failed, excluded, failures }.
// The compiled specs are ES modules that import tfjs-core's sources relatively, so they are
// bundled with esbuild together with tfjs-core, the wasm backend and our kernels, all from
// their ES module entries, which keeps one copy of tfjs-core.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { KERNELS_WASM_PATHS } from "../../lib/backends/wasm-training/kernel-variant";
import { SPEC_FILES, STOCK_KERNELS_ENV } from "./wasm-spec-selection";

const coreDist = path.dirname(require.resolve("@tensorflow/tfjs-core/dist/index.js"));
const tfjsWasmDir = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), "tfjs-wasm-specs-"));
  try {
    const harness = JSON.stringify(path.join(__dirname, "harness.ts"));
    // require(), not import: the harness must set up before the spec modules run.
    const entry = [
      `const harness = require(${harness});`,
      `harness.setUp(${JSON.stringify(tfjsWasmDir + path.sep)});`,
      ...SPEC_FILES.map((file) => `require(${JSON.stringify(path.join(coreDist, file))});`),
      "harness.run();",
    ].join("\n");
    const bundle = path.join(dir, "specs.js");
    await build({
      stdin: { contents: entry, resolveDir: __dirname, loader: "js" },
      bundle: true,
      platform: "node",
      format: "cjs",
      mainFields: ["module", "main"],
      outfile: bundle,
      logLevel: "error",
    });
    // The kernels load their module from next to the (bundled) code.
    for (const file of Object.values(KERNELS_WASM_PATHS)) copyFileSync(file, path.join(dir, path.basename(file)));
    const stock = process.argv.includes("--stock");
    execFileSync(process.execPath, [bundle], { stdio: "inherit", env: { ...process.env, [STOCK_KERNELS_ENV]: stock ? "1" : "" } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
