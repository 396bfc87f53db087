// Notebooks 05 (training) and 06 (submission) executed through the kernel on a tiny setting:
// generated data, a broken test image, resume after the run, and the contest file checked.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateDataset } from "../lib/generate";
import { NotebookRunError, runNotebook, type RunResult } from "../lib/runner";
import { stdoutOf } from "./helpers/notebook-output";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-nb05-"));
const dataDir = path.join(work, "dataset");
const manifestPath = path.join(work, "split.json");
const checkpointDir = path.join(work, "checkpoints");
const modelDir = path.join(work, "model");
const outDir = path.join(work, "submissions");
const runsRoot = path.join(work, "runs");
const tiny = {
  manifestPath,
  checkpointDir,
  modelDir,
  backbone: "mobilenet_v2", // tiny and fast; the default (nsfwjs:mobilenet_v2 at 224 px) is the main job's
  imageSize: 32,
  widthMultiplier: 0.35,
  freezePoint: "",
  groupRates: { "features.0:18": 1e-3, "features.18": 1e-3, classifier: 3e-3 },
  schedule: "steps", // the seed's phases (notebook-05-cached runs the default, one-cycle)
  phaseEpochs: [1, 1, 0],
  finalEpochs: 1,
  batchSize: 32,
  weightsFile: "", // random init: the embedded backbone is 0.5 wide, this tiny model 0.35
};
let training: RunResult;

test.before(async () => {
  await generateDataset({ outDir: dataDir, imagesPerClass: 3, testSize: 15, seed: 11, onProgress: () => {} });
  const good = fs.readFileSync(path.join(dataDir, "test", "000000.jpg"));
  fs.writeFileSync(path.join(dataDir, "test", "zz_broken.jpg"), good.subarray(0, good.length >> 1));
  await runNotebook({ notebook: "notebooks/01-data-split.ipynb", params: { dataDir, manifestPath }, runsRoot, quiet: true });
  training = await runNotebook({ notebook: "notebooks/05-lr-schedule-training.ipynb", params: tiny, runsRoot, quiet: true });
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test("notebook 05 trains the phases, keeps checkpoints and saves the classifier", () => {
  assert.equal(training.status, "ok");
  const history = JSON.parse(fs.readFileSync(path.join(checkpointDir, "history.json"), "utf8"));
  assert.equal(history.length, 2);
  assert.deepEqual(Object.values(history[1].lrs), [3e-4, 3e-4, 3e-4], "phase 2 runs at the lower rate");
  assert.ok(fs.existsSync(path.join(checkpointDir, "best.ckpt")));
  assert.match(stdoutOf(training), /validation accuracy \d+\.\d+%/);
  // Multi-scale (the notebook's scales [1, 1.2]): 32 and 38 px, kept only if more validation images come out right.
  const scales = stdoutOf(training).match(/scales 1, 1\.2 \(32, 38 px\): validation accuracy (\d+\.\d+)%, loss \d+\.\d+; 32 px alone (\d+\.\d+)%: (kept|not kept)/);
  assert.ok(scales, "05 reports the multi-scale validation beside the trained size alone");
  assert.equal(scales[3], Number(scales[1]) > Number(scales[2]) ? "kept" : "not kept");
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(modelDir, "classifier.json"), "utf8")).input, { size: 32, convention: "torchvision", windows: [0, 0.5, 1], scales: scales[3] === "kept" ? [1, 1.2] : [1] }, "the classifier keeps the windows and scales it was validated with");
});

test("re-running notebook 05 resumes from the checkpoint instead of training again; other starting weights are refused", async () => {
  const again = await runNotebook({ notebook: "notebooks/05-lr-schedule-training.ipynb", params: { ...tiny, finalEpochs: 0 }, runsRoot, quiet: true });
  assert.match(stdoutOf(again), /resumed from .*last\.ckpt: 2 epoch\(s\) done/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(checkpointDir, "history.json"), "utf8")).length, 2);
  // The saved classifier as starting weights: every weight loads, and the checkpoint, trained from random init, is not resumed.
  const refused = await runNotebook({ notebook: "notebooks/05-lr-schedule-training.ipynb", params: { ...tiny, finalEpochs: 0, weightsFile: modelDir }, runsRoot, quiet: true }).then(
    () => assert.fail("resumed a checkpoint trained from other weights"),
    (error: NotebookRunError) => error,
  );
  assert.match(stdoutOf(refused.result), /\d+ weights from .*model; kept fresh: none/);
  assert.match(refused.message, /checkpoints holds a run trained with other settings \(weightsFile: "" → ".*model"\)/);
});

test("notebook 06 writes one row per test image, flags the broken one, and scores the answer key", async () => {
  const submission = await runNotebook({
    notebook: "notebooks/06-submission.ipynb",
    params: { modelDir, manifestPath, answerKey: path.join(dataDir, "test_answers.csv"), outDir, ttaBrightness: [0.9, 1, 1.1] },
    runsRoot,
    quiet: true,
  });
  const rows = fs.readFileSync(path.join(outDir, "submission.csv"), "utf8").trim().split("\n");
  assert.equal(rows[0], "id,label");
  assert.equal(rows.length - 1, 16, "15 test images + the broken one");
  assert.ok(rows.some((r) => r.startsWith("zz_broken,")), "the broken image still has a row");
  const probabilities = fs.readFileSync(path.join(outDir, "probabilities.csv"), "utf8");
  assert.match(probabilities, /\nzz_broken,[^\n]*truncated JPEG/);
  assert.ok(fs.existsSync(path.join(submission.runDir, "submission.csv")), "a copy in the run folder");
  const html = fs.readFileSync(submission.executedNotebook, "utf8");
  assert.match(html, /TTA brightness/);
  assert.match(html, /crops averaged at 0, 0.5, 1 along the long side/, "06 takes the windows from the classifier");
  assert.match(html, /3 windows[^(]*\(the submission\)[\s\S]*centre crop only/, "and measures them against the centre crop");
});

test("notebook 06 predicts at the classifier's scales and scores each size alone", async () => {
  const scaledDir = path.join(work, "model-scaled");
  fs.cpSync(modelDir, scaledDir, { recursive: true });
  const infoFile = path.join(scaledDir, "classifier.json");
  const info = JSON.parse(fs.readFileSync(infoFile, "utf8"));
  fs.writeFileSync(infoFile, JSON.stringify({ ...info, input: { ...info.input, scales: [1, 1.5] } }));
  const run = await runNotebook({
    notebook: "notebooks/06-submission.ipynb",
    params: { modelDir: scaledDir, manifestPath, answerKey: path.join(dataDir, "test_answers.csv"), outDir: path.join(work, "submissions-scaled"), ttaBrightness: [] },
    runsRoot,
    quiet: true,
  });
  assert.match(stdoutOf(run), /at 32 and 48 px \(torchvision input, crops averaged at 0, 0\.5, 1/);
  const html = fs.readFileSync(run.executedNotebook, "utf8");
  assert.match(html, /3 windows × 32 \+ 48 px \(the submission\)[\s\S]*centre crop only, both sizes[\s\S]*32 px only, 3 windows[\s\S]*48 px only, 3 windows/);
});

test("notebook 06 averages the classifiers named in ensembleWith: the same one twice gives the same submission", async () => {
  const single = fs.readFileSync(path.join(outDir, "submission.csv"), "utf8");
  const ensembleDir = path.join(work, "submissions-ensemble");
  const run = await runNotebook({
    notebook: "notebooks/06-submission.ipynb",
    params: { modelDir, ensembleWith: [modelDir], manifestPath, answerKey: path.join(dataDir, "test_answers.csv"), outDir: ensembleDir, ttaBrightness: [] },
    runsRoot,
    quiet: true,
  });
  assert.match(stdoutOf(run), /an ensemble of 2 classifiers, probabilities averaged/);
  assert.equal(fs.readFileSync(path.join(ensembleDir, "submission.csv"), "utf8"), single);
  await assert.rejects(
    runNotebook({ notebook: "notebooks/06-submission.ipynb", params: { modelDir, ensembleWith: [path.join(work, "nothing-here")], manifestPath, outDir: ensembleDir, ttaBrightness: [] }, runsRoot, quiet: true }),
    /nothing-here holds no trained classifier/,
  );
});
