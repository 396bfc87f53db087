// Notebook 05 with a freeze point, through the kernel on a tiny setting: the top trains on the
// frozen trunk's cached features, the best checkpoint is evaluated on the cached validation
// features (misclassified images included), the saved classifier is the whole model with the
// trained top, and a re-run reads the features back from the cache, resumes and retrains on
// train + valid.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend";
import { loadBackbone } from "../lib/backbone";
import { generateDataset } from "../lib/generate";
import { runNotebook, type RunResult } from "../lib/runner";
import { stdoutOf } from "./helpers/notebook-output";
import { loadClassifier, readCheckpoint } from "../lib/train";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-nb05-cached-"));
const dataDir = path.join(work, "dataset");
const manifestPath = path.join(work, "split.json");
const checkpointDir = path.join(work, "checkpoints");
const modelDir = path.join(work, "model");
const featureCache = path.join(work, "features");
const runsRoot = path.join(work, "runs");
const NOTEBOOK = "notebooks/05-lr-schedule-training.ipynb";
const tiny = {
  manifestPath, checkpointDir, modelDir, featureCache,
  backbone: "mobilenet_v2", imageSize: 32, widthMultiplier: 0.35, weightsFile: "", seed: 42,
  freezePoint: "features.16",
  groupRates: { "features.16:18": 1e-3, "features.18": 1e-3, classifier: 3e-3 },
  phaseEpochs: [1, 1, 0], finalEpochs: 0, batchSize: 32, draws: 0, averageLast: 2, // the default schedule, one-cycle
};
let first: RunResult;

function weightsByName(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}

before(async () => {
  await selectBackend("wasm", () => undefined);
  await generateDataset({ outDir: dataDir, imagesPerClass: 3, testSize: 5, seed: 17, onProgress: () => {} });
  await runNotebook({ notebook: "notebooks/01-data-split.ipynb", params: { dataDir, manifestPath }, runsRoot, quiet: true });
  first = await runNotebook({ notebook: NOTEBOOK, params: { ...tiny, lrFinder: true }, runsRoot, quiet: true });
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test("with a freeze point, notebook 05 trains the top on cached trunk features and evaluates on them", () => {
  assert.equal(first.status, "ok");
  const out = stdoutOf(first);
  assert.match(out, /training the top on cached trunk features \(cut at features\.15\.add, 1x1x56 per image/);
  assert.match(out, /train \d+ images x 2 draws, computed in [\d.]+ s on [12] threads?; valid \d+ images x 3 windows, computed in/, "one draw per epoch (draws = 0), both sets computed");
  assert.ok(fs.readdirSync(featureCache).filter((name) => name.endsWith(".f32")).length === 5, "2 training draws + validation through 3 windows on disk");
  assert.match(out, /best epoch \d: validation accuracy \d+\.\d+%/);
  assert.match(out, /\d+ of \d+ validation images misclassified/, "the grid of misclassified images has its files");
  assert.match(fs.readFileSync(first.executedNotebook, "utf8"), /Learning-rate range test[\s\S]*valley \(suggested\)/, "lrFinder: the range test's chart and table on the cached features");
});

test("the saved classifier is the whole model: the frozen trunk as built, the top as trained (the averaged weights or the best checkpoint, whichever validation preferred)", async () => {
  const out = stdoutOf(first);
  assert.match(out, /weights averaged over epochs 1, 2: validation accuracy \d+\.\d+%, loss \d+\.\d+/);
  const kept = /kept: (the averaged weights|the best checkpoint \(epoch \d\)), the lower validation loss/.exec(out);
  assert.ok(kept, out);
  const keptAverage = kept[1] === "the averaged weights";
  const saved = weightsByName((await loadClassifier(modelDir)).model);
  const best = readCheckpoint(path.join(checkpointDir, keptAverage ? "average.ckpt" : "best.ckpt"));
  const fresh = await loadBackbone("mobilenet_v2", { numClasses: JSON.parse(fs.readFileSync(manifestPath, "utf8")).classes.length, imageSize: 32, widthMultiplier: 0.35, weights: "", seed: 42 });
  const initial = weightsByName(fresh.model);
  let [trained, frozenCount] = [0, 0];
  for (const [name, values] of saved) {
    const checkpointed = best.tensors.get(keptAverage ? name : `model/${name}`)!.dataSync();
    assert.deepEqual(values, checkpointed, `${name} is the kept weights'`);
    const frozen = !/^(features\.1[6-8]|classifier)/.test(name);
    const moved = values.some((v, i) => v !== initial.get(name)![i]);
    if (frozen) {
      assert.ok(!moved, `${name} is frozen: as built`);
      frozenCount++;
    } else if (moved) trained++;
  }
  assert.ok(frozenCount > 50, `the trunk's weights are in the saved model (${frozenCount})`);
  assert.ok(trained > 5, `the top's layers trained in the model itself (${trained} weights moved)`);
  tf.dispose([...best.tensors.values()]);
  fresh.model.dispose();
});

test("re-running notebook 05 reads the features from the cache, resumes, and retrains on train + valid", async () => {
  const again = await runNotebook({ notebook: NOTEBOOK, params: { ...tiny, finalEpochs: 1 }, runsRoot, quiet: true });
  assert.equal(again.status, "ok");
  const out = stdoutOf(again);
  assert.match(out, /train \d+ images x 2 draws, read from the cache; valid \d+ images x 3 windows, read from the cache/);
  assert.match(out, /resumed from .*last\.ckpt: 2 epoch\(s\) done/);
  assert.match(out, /training the top on cached trunk features .*: train \d+ images, computed in .* \(the first \d+ images' rows from the cache\)/, "the final retrain extracts only the validation images it appends");
  assert.match(out, /classifier saved to/);
  assert.equal(JSON.parse(fs.readFileSync(path.join(checkpointDir, "history.json"), "utf8")).length, 2);
});

test("notebook 05 refuses to resume a checkpoint folder trained with other settings, and names them", async () => {
  await assert.rejects(runNotebook({ notebook: NOTEBOOK, params: { ...tiny, seed: 7, groupRates: { ...tiny.groupRates, classifier: 1e-2 } }, runsRoot, quiet: true }), (error: Error) => {
    assert.match(error.message, /holds a run trained with other settings \(groupRates: \{.*"classifier":0\.003.*\} → \{.*"classifier":0\.01.*\}; seed: 42 → 7\): delete .*checkpoints to start over/);
    return true;
  });
  assert.equal(JSON.parse(fs.readFileSync(path.join(checkpointDir, "recipe.json"), "utf8")).seed, 42, "the folder still describes its own run");
});
