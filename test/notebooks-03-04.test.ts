// Notebooks 03 (augmentation study) and 04 (freeze sweep) executed through the kernel on a tiny
// setting, as headless runs whose results are saved per run folder and collected back.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { collectResults, type ExperimentResult } from "../lib/experiments";
import { generateDataset } from "../lib/generate";
import { runNotebook, type RunResult } from "../lib/runner";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-nb03-"));
const dataDir = path.join(work, "dataset");
const manifestPath = path.join(work, "split.json");
const featureCache = path.join(work, "features");
const runsRoot = path.join(work, "runs");
const tiny = { manifestPath, backbone: "mobilenet_v2", imageSize: 32, widthMultiplier: 0.35, epochs: 1, batchSize: 32, featureCache, weightsFile: "" };

function outputsOf(run: RunResult): { text: string; html: string; pngs: number } {
  const nb = JSON.parse(fs.readFileSync(run.executedNotebook, "utf8"));
  const outputs = nb.cells.flatMap((c: { outputs?: Record<string, unknown>[] }) => c.outputs ?? []);
  const join = (v: unknown) => (Array.isArray(v) ? v.join("") : String(v ?? ""));
  return {
    text: outputs.map((o: { text?: unknown; data?: Record<string, unknown> }) => join(o.text) + join(o.data?.["text/plain"])).join("\n"),
    html: outputs.map((o: { data?: Record<string, unknown> }) => join(o.data?.["text/html"])).join("\n"),
    pngs: outputs.filter((o: { data?: Record<string, unknown> }) => o.data?.["image/png"]).length,
  };
}

function savedResults(run: RunResult): ExperimentResult[] {
  return JSON.parse(fs.readFileSync(path.join(run.runDir, "results.json"), "utf8"));
}

test.before(async () => {
  await generateDataset({ outDir: dataDir, imagesPerClass: 3, testSize: 5, seed: 13, onProgress: () => {} });
  await runNotebook({ notebook: "notebooks/01-data-split.ipynb", params: { dataDir, manifestPath }, runsRoot, quiet: true });
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test("notebook 04 sweeps the unfreeze point on cached features, charts it, and collects every run", async () => {
  const params = { ...tiny, unfreezeBlocks: [0, 1, -1], inits: ["random"] };
  const first = await runNotebook({ notebook: "notebooks/04-freeze-sweep.ipynb", params, runsRoot, quiet: true, label: "a" });
  assert.equal(first.status, "ok");
  const results = savedResults(first);
  assert.deepEqual(results.map((r) => [r.label, r.cached]), [["random · head only", true], ["random · head + 1", true], ["random · all", false]]);
  assert.ok(results[0].trainableParams < results[1].trainableParams && results[1].trainableParams < results[2].trainableParams);
  const out = outputsOf(first);
  assert.ok(/Unfreeze point: mobilenet_v2 32px/.test(out.html), `html output shows /Unfreeze point: mobilenet_v2 32px/`);
  assert.ok(/wall time/.test(out.html), `html output shows /wall time/`);
  assert.ok(fs.readdirSync(featureCache).some((name) => name.endsWith(".f32")), "features were cached on disk");

  const second = await runNotebook({ notebook: "notebooks/04-freeze-sweep.ipynb", params, runsRoot, quiet: true, label: "b" });
  const again = savedResults(second);
  assert.equal(again[0].extractSeconds, 0, "the re-run reads the head-only features from the cache");
  assert.deepEqual(again.map((r) => r.bestValidAccuracy), results.map((r) => r.bestValidAccuracy), "same seed, same results");
  assert.ok(/All 6 runs so far/.test(outputsOf(second).html), `html output shows /All 6 runs so far/`);
  assert.equal(collectResults("04-freeze-sweep", runsRoot).length, 6);
});

test("notebook 03 runs each augmentation over seeds, shows what each does, and gives a verdict per setting", async () => {
  const settings = { none: {}, "hue 0.1": { hue: 0.1 }, "horizontal flip": { hflip: true } };
  const run = await runNotebook({
    notebook: "notebooks/03-augmentation-study.ipynb",
    params: { ...tiny, settings, seeds: [1, 2], unfreeze: 1, draws: 1, sampleImages: 2 },
    runsRoot,
    quiet: true,
  });
  assert.equal(run.status, "ok");
  const results = savedResults(run);
  assert.deepEqual(results.map((r) => `${r.label}/${r.seed}`), ["none/1", "hue 0.1/1", "horizontal flip/1", "none/2", "hue 0.1/2", "horizontal flip/2"]);
  assert.deepEqual(results[1].augment, { hue: 0.1 });
  assert.equal(results[0].augment, null);
  const out = outputsOf(run);
  assert.equal(out.pngs, 1, "the grid of augmented samples");
  assert.ok(/Best validation accuracy per setting/.test(out.html), `html output shows /Best validation accuracy per setting/`);
  assert.ok(/helps|hurts|within noise/.test(out.html), `html output shows /helps|hurts|within noise/`);
});
