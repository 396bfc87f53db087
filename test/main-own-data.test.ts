// `npm start -- --data DIR` on a tiny contest-like folder: notebooks 01, 05 and 06 run on it, the
// summary names the submission and scores it against the key; a wrong DIR fails before any notebook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EMBEDDED_CLASSES, generateDataset } from "../lib/generate";
import { projectRoot } from "../lib/jupyter/kernelspec";
import { readAnswerKey } from "../lib/submission";
import { ownDataPaths, readSubmission } from "../scripts/main-own-data";

const root = projectRoot();
const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-own-data-"));
// The outputs in the project are named after the folder: a unique name keeps them apart from anyone's.
const dataDir = path.join(work, `contest-${path.basename(work).slice(-6)}`);
const outputs = ownDataPaths(dataDir, root);
/** One epoch and no test-time augmentation: the main job's model, in seconds. */
const tiny = ["-p", "05:phaseEpochs=[1,0,0]", "-p", "06:ttaBrightness=[]"];

function npmStart(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("npm", ["start", "--silent", "--", ...args], { cwd: root, encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The accuracy line the summary should print, computed here from the files themselves. */
function expectedAccuracyLine(submissionCsv: string, answerKey: string): string {
  const predicted = readSubmission(submissionCsv);
  const answers = readAnswerKey(answerKey);
  const correct = [...answers].filter(([id, label]) => predicted.get(id) === label).length;
  return `accuracy: ${((100 * correct) / answers.size).toFixed(2)}% (${correct}/${answers.size}) against ${answerKey}`;
}

test.before(async () => {
  await generateDataset({ outDir: dataDir, imagesPerClass: 3, testSize: 12, heldBackPerClass: 0, classes: EMBEDDED_CLASSES.slice(0, 4), onProgress: () => {} });
});
test.after(() => {
  const seeded = [3, 4].flatMap((seed) => [`${outputs.checkpointDir}-seed${seed}`, `${outputs.modelDir}-seed${seed}`]);
  for (const p of [outputs.manifestPath, outputs.checkpointDir, outputs.modelDir, ...seeded, outputs.submissionDir, outputs.runsRoot]) {
    fs.rmSync(path.resolve(root, p), { recursive: true, force: true });
  }
  fs.rmSync(work, { recursive: true, force: true });
});

test("a folder that does not exist, or has no train/ class folders, fails before any notebook runs", () => {
  const missingDir = path.join(work, "missing");
  const missing = npmStart("--data", missingDir);
  assert.equal(missing.status, 1);
  assert.ok(missing.stderr.includes(`${missingDir} does not exist`), missing.stderr);
  assert.match(missing.stderr, /DIR\/train\/<class>\/<image>/);
  const noTrain = npmStart("--data", work);
  assert.equal(noTrain.status, 1);
  assert.match(noTrain.stderr, /has no train\/ folder/);
  assert.doesNotMatch(noTrain.stdout, /=== 01/);
});

test("on the embedded default, --only 05 without the expanded split notebook 02 writes fails before any notebook runs", () => {
  const run = npmStart("--only", "05", "-p", `05:manifestPath="${path.join(work, "expanded.json")}"`);
  assert.equal(run.status, 1);
  assert.match(run.stderr, /notebook 05 reads the split expanded by the scraped images from .*expanded\.json, which notebook 02 writes: run it too \(--only 02,05\)/);
  assert.doesNotMatch(run.stdout, /=== 05/);
});

test("--data runs 01, 05 and 06 on the folder and prints the submission and its accuracy", () => {
  const run = npmStart("--data", dataDir, ...tiny);
  assert.equal(run.status, 0, run.stderr + run.stdout.slice(-3000));
  assert.deepEqual([...run.stdout.matchAll(/^=== (\d\d)-/gm)].map((m) => m[1]), ["01", "05", "06"]);
  const csv = path.join(outputs.submissionDir, "submission.csv");
  assert.ok(run.stdout.includes(`\nsubmission: ${csv} (12 rows)\n`), run.stdout.slice(-500));
  const ids = [...readSubmission(path.join(root, csv)).keys()];
  assert.deepEqual(ids, fs.readdirSync(path.join(dataDir, "test")).map((f) => path.parse(f).name).sort(), "one row per test image");
  const key = path.join(dataDir, "test_answers.csv");
  assert.ok(run.stdout.includes(expectedAccuracyLine(path.join(root, csv), key)), run.stdout.slice(-500));
  assert.ok(fs.existsSync(path.join(outputs.runsRoot, "06-submission")), "runs go to runs/main-<name>/");
});

test("--only 06 reuses the trained model; --answer-key names the key", () => {
  const key = path.join(work, "key.csv");
  fs.copyFileSync(path.join(dataDir, "test_answers.csv"), key);
  const run = npmStart("--data", dataDir, "--only", "06", "--answer-key", key, ...tiny.slice(2));
  assert.equal(run.status, 0, run.stderr + run.stdout.slice(-3000));
  assert.deepEqual([...run.stdout.matchAll(/^=== (\d\d)-/gm)].map((m) => m[1]), ["06"]);
  assert.ok(run.stdout.includes(expectedAccuracyLine(path.join(root, outputs.submissionDir, "submission.csv"), key)));
});

test("--seeds trains notebook 05 once per seed, each into its own folders, and notebook 06 averages them", () => {
  const run = npmStart("--data", dataDir, "--only", "05,06", "--seeds", "3,4", ...tiny);
  assert.equal(run.status, 0, run.stderr + run.stdout.slice(-3000));
  assert.deepEqual([...run.stdout.matchAll(/^=== (\d\d)-\S+(?: \((seed\d+)\))?$/gm)].map((m) => `${m[1]} ${m[2] ?? ""}`.trim()), ["05 seed3", "05 seed4", "06"]);
  const models = [3, 4].map((seed) => `${outputs.modelDir}-seed${seed}`);
  const weights = models.map((dir) => fs.readFileSync(path.join(root, dir, "model", "weights.bin")));
  assert.ok(!weights[0].equals(weights[1]), "two seeds, two different models");
  const runs = (nn: string) => {
    const dir = path.resolve(root, outputs.runsRoot, nn);
    return fs.readdirSync(dir).sort().map((name) => path.join(dir, name));
  };
  const seeds = runs("05-lr-schedule-training").slice(-2).map((dir) => JSON.parse(fs.readFileSync(path.join(dir, "params.json"), "utf8")).seed);
  assert.deepEqual(seeds, [3, 4]);
  const submission = fs.readFileSync(path.join(runs("06-submission").at(-1)!, "notebook.ipynb"), "utf8");
  assert.ok(submission.includes(`an ensemble of 2 classifiers, probabilities averaged: ${models.join(", ")}`), "notebook 06 averaged both seeds");
  const csv = path.join(outputs.submissionDir, "submission.csv");
  assert.ok(run.stdout.includes(expectedAccuracyLine(path.join(root, csv), path.join(dataDir, "test_answers.csv"))), run.stdout.slice(-500));
});
