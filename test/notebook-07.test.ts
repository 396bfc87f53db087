// Notebook 07 through the kernel on a tiny setting (k = 2, one epoch per phase, 48 px): the range
// test's chart, the folds, TTA measured out of fold, the Grad-CAM gallery, the pseudo-label round,
// the results table and the contest files; a re-run reads every fold back.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateDataset } from "../lib/generate";
import { runNotebook, type RunResult } from "../lib/runner";
import { stdoutOf } from "./helpers/notebook-output";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-nb07-"));
const dataDir = path.join(work, "dataset");
const manifestPath = path.join(work, "split.json");
const checkpointDir = path.join(work, "checkpoints");
const outDir = path.join(work, "submissions");
const runsRoot = path.join(work, "runs");
const NOTEBOOK = "notebooks/07-beyond-the-seed.ipynb";
const tiny = {
  manifestPath, checkpointDir, outDir,
  featureCache: path.join(work, "features"),
  answerKey: path.join(dataDir, "test_answers.csv"),
  backbone: "mobilenet_v2", weightsFile: "embedded", widthMultiplier: 0.5, // small and fast; the default is the main job's
  imageSize: 48, freezePoint: "features.16", groupRates: { "features.16:18": 1e-3, "features.18": 1e-3, classifier: 3e-3 },
  phaseEpochs: [1, 1], lowerRates: [3e-4], folds: 2, draws: 0, batchSize: 32,
  lrFinderIterations: 8, ttaSample: 40, tta: { flip: ["hflip"], brightness: ["brightness:1.1"] },
  gradCamImages: 2, pseudoThreshold: 0.05, singleModelDir: "",
};
let first: RunResult;

before(async () => {
  await generateDataset({ outDir: dataDir, imagesPerClass: 3, testSize: 12, seed: 13, onProgress: () => {} });
  await runNotebook({ notebook: "notebooks/01-data-split.ipynb", params: { dataDir, manifestPath }, runsRoot, quiet: true });
  first = await runNotebook({ notebook: NOTEBOOK, params: tiny, runsRoot, quiet: true });
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test("notebook 07 runs every step and writes the contest files and its results", () => {
  assert.equal(first.status, "ok");
  const out = stdoutOf(first);
  assert.match(out, /feature bank: \d+ labelled images \(plain \+ 2 draws\), 12 test images/, "draws = 0: one per epoch");
  assert.doesNotMatch(out, /^\d+$/m, "no stray cell values");
  assert.match(out, /range test: [\d.]+ s · hand rates .* valley suggestions \{"features\.16:18":[\d.e-]+,"features\.18":[\d.e-]+,"classifier":[\d.e-]+\}/);
  assert.match(out, /out-of-fold accuracy \d+\.\d+% on \d+ images · ensemble of 2 on the test set: \d+\.\d+%/);
  assert.match(out, /kept: |no TTA setting beats plain out of fold/);
  assert.match(out, /misclassified: photo · true class · predicted class/);
  assert.match(out, /out of fold: round 1 \d+\.\d+% → with pseudo-labels \d+\.\d+%: they (help|do not help here)/);
  const rows = fs.readFileSync(path.join(outDir, "submission.csv"), "utf8").trim().split("\n");
  assert.equal(rows.length - 1, 12);
  assert.match(fs.readFileSync(path.join(outDir, "probabilities.csv"), "utf8"), /^id,/);
  const results = JSON.parse(fs.readFileSync(path.join(first.runDir, "results.json"), "utf8"));
  assert.deepEqual(results.steps.map((s: { step: string }) => s.step.split(" (")[0]), [
    "trunk features", "learning-rate range test", "one fold's model", "k-fold ensemble", "+ TTA", "+ pseudo-labels",
  ]);
  for (const s of results.steps.slice(2)) assert.ok(s.test >= 0 && s.test <= 1, `${s.step} scored on the answer key`);
  const html = fs.readFileSync(first.executedNotebook, "utf8");
  assert.match(html, /Learning-rate range test/, "the chart");
  assert.match(html, /image\/png/, "the Grad-CAM gallery");
  for (const round of ["round-1", "round-2"]) for (const f of [0, 1]) assert.ok(fs.existsSync(path.join(checkpointDir, round, `fold-${f}`, "result.json")));
});

test("a re-run reads every fold of both rounds back from the checkpoints", async () => {
  const again = await runNotebook({ notebook: NOTEBOOK, params: { ...tiny, lrFinder: false }, runsRoot, quiet: true });
  assert.equal(again.status, "ok");
  assert.equal((stdoutOf(again).match(/fold \d\/2: read back from/g) ?? []).length, 4);
});
