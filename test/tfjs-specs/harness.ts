// Runs inside the esbuild bundle that run-wasm-specs.ts builds, next to TensorFlow.js's own
// compiled specs, so that specs, tfjs-core, the wasm backend and our kernels share one copy
// of tfjs-core. `setUp` must run before the spec modules load (they declare suites when they
// load); `run` executes them and prints one line of JSON with the counts.
import jasmineRequire from "jasmine-core/lib/jasmine-core/jasmine.js";
import bootJasmine from "jasmine-core/lib/jasmine-core/node_boot.js";
// What @tensorflow/tfjs adds to tfjs-core, and the specs rely on.
import "@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops";
import "@tensorflow/tfjs-core/dist/register_all_gradients";
import { setTestEnvs, setupTestFilters } from "@tensorflow/tfjs-core/dist/jasmine_util";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerWasmTrainingKernels } from "../../lib/backends/wasm-training";
import { highHeapMode, useHighHeapWasm } from "../helpers/high-heap";
import { EXCLUDED_SPECS, STOCK_KERNELS_ENV } from "./wasm-spec-selection";

export interface SpecSummary {
  executed: number;
  passed: number;
  failed: number;
  /** Excluded by EXCLUDED_SPECS (the filter reports them as skipped). */
  excluded: number;
  failures: string[];
}

interface SpecResult {
  fullName: string;
  status: string;
  failedExpectations: { message: string }[];
}

let jasmineEnv: ReturnType<ReturnType<typeof bootJasmine>["getEnv"]> | undefined;

export function setUp(tfjsWasmDir: string): void {
  const jasmine = bootJasmine(jasmineRequire);
  jasmine.DEFAULT_TIMEOUT_INTERVAL = 20000;
  jasmineEnv = jasmine.getEnv();
  setWasmPaths(tfjsWasmDir);
  // Every suite creates the backend anew (jasmine_util resets the engine), each time past 2 GiB.
  if (highHeapMode()) useHighHeapWasm();
  if (!process.env[STOCK_KERNELS_ENV]) registerWasmTrainingKernels();
  setTestEnvs([{ name: "wasm", backendName: "wasm", isDataSync: true }]);
  // An include of "" takes every spec of the loaded files, less the exclusions.
  setupTestFilters([{ include: "", excludes: EXCLUDED_SPECS.map((spec) => spec.name) }], () => false);
}

export function run(): void {
  if (!jasmineEnv) throw new Error("setUp() must run before the specs load");
  const summary: SpecSummary = { executed: 0, passed: 0, failed: 0, excluded: 0, failures: [] };
  jasmineEnv.addReporter({
    specDone(result: SpecResult) {
      if (result.status === "passed") summary.passed++;
      else if (result.status === "failed") {
        summary.failed++;
        summary.failures.push(`${result.fullName}: ${result.failedExpectations.map((e) => e.message).join("; ")}`);
      } else summary.excluded++;
      if (result.status === "passed" || result.status === "failed") summary.executed++;
    },
    jasmineDone() {
      console.log(JSON.stringify(summary));
    },
  });
  jasmineEnv.execute();
}
