// npm start's --seeds: notebook 05 once per seed into its own folders, notebook 06 averaging them.
// (test/main-own-data.test.ts runs it end to end on a tiny contest folder.)
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSeeds, trainingOutputs, withSeeds, type Step } from "../scripts/main-seeds";

const base = { checkpointDir: "data/checkpoints/05", modelDir: "data/models/05" };
const job: Step[] = [
  { notebook: "04-freeze-sweep.ipynb", params: { epochs: 3 } },
  { notebook: "05-lr-schedule-training.ipynb", params: { phaseEpochs: [3, 2, 1] } },
  { notebook: "06-submission.ipynb", params: { ttaBrightness: [] } },
];

test("parseSeeds takes two or more distinct whole numbers", () => {
  assert.deepEqual(parseSeeds("42,1,2"), [42, 1, 2]);
  assert.deepEqual(parseSeeds(" 7, 0 "), [7, 0]);
  assert.throws(() => parseSeeds("42"), /two or more whole numbers/);
  assert.throws(() => parseSeeds("1,x"), /two or more whole numbers.*got "1,x"/);
  assert.throws(() => parseSeeds("1,-2"), /whole numbers/);
  assert.throws(() => parseSeeds("1,2,1"), /distinct seeds/);
});

test("withSeeds trains notebook 05 once per seed, each into its own folders, and 06 averages them", () => {
  const steps = withSeeds(job, [42, 1, 2], base, 42);
  assert.deepEqual(steps.map((s) => [s.notebook.slice(0, 2), s.label]), [["04", undefined], ["05", "seed42"], ["05", "seed1"], ["05", "seed2"], ["06", undefined]]);
  assert.deepEqual(steps[0], job[0], "other notebooks are untouched");
  assert.deepEqual(steps[1].params, { phaseEpochs: [3, 2, 1], seed: 42, ...base }, "notebook 05's own seed keeps the usual folders");
  assert.deepEqual(steps[3].params, { phaseEpochs: [3, 2, 1], seed: 2, checkpointDir: "data/checkpoints/05-seed2", modelDir: "data/models/05-seed2" });
  assert.deepEqual(steps[4].params, { ttaBrightness: [], modelDir: "data/models/05", ensembleWith: ["data/models/05-seed1", "data/models/05-seed2"] });
});

test("withSeeds keeps the job's folders and ensemble members, and without 05 averages the models trained before", () => {
  const own = trainingOutputs({ modelDir: "data/models/05-contest", checkpointDir: "data/checkpoints/05-contest" }, base);
  const steps = withSeeds([{ notebook: "06-submission.ipynb", params: { modelDir: "data/models/05-contest", ensembleWith: ["other"] } }], [3, 4], own, 42);
  assert.deepEqual(steps, [{ notebook: "06-submission.ipynb", params: { modelDir: "data/models/05-contest-seed3", ensembleWith: ["other", "data/models/05-contest-seed4"] } }], "no seed is the default: each has its own folders");
});

test("withSeeds refuses what would contradict the seeds", () => {
  assert.throws(() => withSeeds([{ notebook: "05-lr-schedule-training.ipynb", params: { seed: 1 } }], [1, 2], base, 42), /leave out -p 05:seed/);
  assert.throws(() => withSeeds([{ notebook: "06-submission.ipynb", params: { modelDir: "elsewhere" } }], [42, 2], base, 42), /data\/models\/05, data\/models\/05-seed2.*leave out -p 06:modelDir/);
  assert.throws(() => withSeeds([{ notebook: "01-data-split.ipynb", params: {} }], [1, 2], base, 42), /run at least one of them/);
  assert.throws(() => trainingOutputs({ modelDir: 5 }, base), /-p 05:modelDir takes a folder name/);
});
