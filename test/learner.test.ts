import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { classesMissingFromTraining, EarlyStopping, Learner, loadMatchingWeights, nonFiniteWeights, NonFiniteWeightsError, SaveCheckpoints, TrainingDivergedError, type Batch, type BatchSource } from "../lib/train";
import { TinyImages, tinyModel, tinyModelWithBatchNorm, weightsOf } from "./helpers/tiny-training";

const CLASSES = ["a", "b", "c"];

test.before(async () => {
  await tf.setBackend("cpu");
});

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "charid-learner-"));
}

function learnerFor(model: tf.LayersModel, lrs: { body: number; fc: number }, extra: Partial<ConstructorParameters<typeof Learner>[0]> = {}): Learner {
  return new Learner({
    model,
    groups: [
      { name: "body", variables: model.weights.filter((w) => w.trainable && !w.name.startsWith("fc")), lr: lrs.body },
      { name: "fc", variables: model.weights.filter((w) => w.name.startsWith("fc")), lr: lrs.fc },
    ],
    train: new TinyImages(),
    valid: new TinyImages(9, 9, 99),
    classes: CLASSES,
    ...extra,
  });
}

test("training lowers the loss; frozen weights stay bit-identical; a group at lr 0 does not move", async () => {
  const model = tinyModel();
  model.getLayer("conv1").trainable = false;
  const before = weightsOf(model);
  const learner = learnerFor(model, { body: 0, fc: 0.05 });
  const records = await learner.fit(3);
  const after = weightsOf(model);
  assert.deepEqual(after.get("conv1/kernel"), before.get("conv1/kernel"), "frozen");
  assert.deepEqual(after.get("conv2/kernel"), before.get("conv2/kernel"), "lr 0");
  assert.notDeepEqual(after.get("fc/kernel"), before.get("fc/kernel"), "trained");
  assert.ok(records[2].trainLoss < records[0].trainLoss, JSON.stringify(records));
  assert.ok(records.every((r) => r.validAccuracy !== undefined && r.validAccuracy >= 0 && r.validAccuracy <= 1));
  const frozenKernel = model.getLayer("conv1").weights[0];
  assert.throws(() => new Learner({ model, groups: [{ name: "all", variables: [frozenKernel], lr: 1 }], train: new TinyImages(), classes: CLASSES }), /conv1\/kernel.* is frozen/);
});

test("fit can be called again and again; rates change per group and are recorded per epoch", async () => {
  const learner = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 });
  await learner.fit(1);
  learner.setLearningRates(1e-5);
  await learner.fit(1);
  learner.setLearningRates({ fc: 1e-6 });
  await learner.fit(1);
  assert.deepEqual(learner.history.map((r) => r.epoch), [1, 2, 3]);
  assert.deepEqual(learner.history.map((r) => r.lrs), [{ body: 0.01, fc: 0.05 }, { body: 1e-5, fc: 1e-5 }, { body: 1e-5, fc: 1e-6 }]);
  assert.throws(() => learner.setLearningRates({ head: 1 }), /no parameter group head; groups are body, fc/);
});

test("accuracy is counted per image, not averaged per batch", async () => {
  const learner = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 });
  const evaluation = await learner.evaluate(new TinyImages(7, 3, 5));
  assert.equal(evaluation.labels.length, 7);
  const correct = evaluation.predictions.filter((p, i) => p === evaluation.labels[i]).length;
  assert.equal(evaluation.accuracy, correct / 7);
  assert.equal(evaluation.probabilities.length, 7 * 3);
});

test("save + restore in a fresh learner continues exactly like an uninterrupted run", async () => {
  const dir = tempDir();
  const straight = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 });
  await straight.fit(2);
  await straight.fit(2);

  const first = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 });
  await first.fit(2);
  await first.save(path.join(dir, "mid.ckpt"));
  const second = learnerFor(tinyModel(5), { body: 0.01, fc: 0.05 });
  await second.restore(path.join(dir, "mid.ckpt"));
  assert.deepEqual(await second.fit(2), [], "the restored epochs are skipped");
  await second.fit(2);
  assert.deepEqual(weightsOf(second.model), weightsOf(straight.model));
  assert.deepEqual(second.history.map((r) => r.trainLoss), straight.history.map((r) => r.trainLoss));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("SaveCheckpoints.resume restores only a run of the same recipe, whatever its key order", async () => {
  const dir = tempDir();
  const recipe = { seed: 1, rates: { body: 0.01, fc: 0.05 } };
  const first = learnerFor(tinyModel(), recipe.rates, { callbacks: [new SaveCheckpoints(dir, { recipe })] });
  await first.fit(1);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "recipe.json"), "utf8")), recipe);
  const same = learnerFor(tinyModel(5), recipe.rates);
  assert.equal(await new SaveCheckpoints(dir, { recipe: { rates: { fc: 0.05, body: 0.01 }, seed: 1 } }).resume(same), true);
  assert.equal(same.epoch, 1);
  assert.deepEqual(weightsOf(same.model), weightsOf(first.model));
  const other = learnerFor(tinyModel(5), recipe.rates);
  await assert.rejects(new SaveCheckpoints(dir, { recipe: { seed: 2, rates: recipe.rates, size: 96 } }).resume(other), new RegExp(`${dir} holds a run trained with other settings \\(seed: 1 → 2; size: \\(none\\) → 96\\): delete ${dir} to start over`));
  assert.equal(other.epoch, 0, "nothing restored");
  assert.equal(await new SaveCheckpoints(path.join(dir, "empty")).resume(other), false, "no checkpoint: a fresh start");
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a checkpoint from another architecture is a clear error", async () => {
  const dir = tempDir();
  const learner = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 });
  await learner.save(path.join(dir, "three.ckpt"));
  const other = learnerFor(tinyModel(1, 4), { body: 0.01, fc: 0.05 });
  await assert.rejects(other.restore(path.join(dir, "three.ckpt")), /another architecture \(fc\/kernel is 6x4 here but 6x3 in the checkpoint\)/);
  fs.writeFileSync(path.join(dir, "junk.ckpt"), "hello");
  await assert.rejects(other.restore(path.join(dir, "junk.ckpt")), /not a charid checkpoint/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("NaN loss stops training with a clear error and keeps the last good checkpoint", async () => {
  const dir = tempDir();
  const checkpoints = new SaveCheckpoints(dir);
  const good = new TinyImages();
  let poisoned = false;
  const train: BatchSource = {
    size: good.size,
    async *batches(epoch: number): AsyncIterable<Batch> {
      for await (const batch of good.batches(epoch)) {
        if (!poisoned) yield batch;
        else {
          tf.dispose(batch.x);
          yield { ...batch, x: tf.fill([batch.y.shape[0], 8, 8, 3], NaN) as tf.Tensor4D };
        }
      }
    },
  };
  const learner = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 }, { train, callbacks: [checkpoints] });
  await learner.fit(1);
  const saved = fs.readFileSync(checkpoints.last);
  poisoned = true;
  await assert.rejects(learner.fit(1), (error: Error) => error instanceof TrainingDivergedError && /loss became NaN in epoch 2/.test(error.message));
  assert.deepEqual(fs.readFileSync(checkpoints.last), saved, "last good checkpoint untouched");
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a moving variance gone infinite stops training by name, though the loss stays finite; the last good checkpoint is kept", async () => {
  const dir = tempDir();
  const checkpoints = new SaveCheckpoints(dir);
  const model = tinyModelWithBatchNorm();
  const movingVariance = model.getLayer("bn1").weights.find((w) => w.originalName.endsWith("moving_variance"))!;
  let corrupt = false;
  const losses: number[] = [];
  const learner = learnerFor(model, { body: 0.01, fc: 0.05 }, {
    callbacks: [checkpoints, {
      onBatchEnd(_learner, batch) {
        losses.push(batch.loss);
        // What the >2 GiB pointer bug did: Infinity in the statistics, which training mode never reads.
        if (corrupt) movingVariance.write(tf.fill(movingVariance.shape as number[], Infinity));
      },
    }],
  });
  await learner.fit(1);
  const saved = fs.readFileSync(checkpoints.last);
  corrupt = true;
  await assert.rejects(learner.fit(1), (error: Error) =>
    error instanceof NonFiniteWeightsError && error instanceof TrainingDivergedError &&
    /in epoch 2: bn1\/moving_variance\./.test(error.message) && error.weights.length === 1);
  assert.ok(losses.every(Number.isFinite), `losses ${losses}`);
  assert.equal(learner.epoch, 1);
  assert.deepEqual(fs.readFileSync(checkpoints.last), saved, "last good checkpoint untouched");
  await assert.rejects(learner.save(path.join(dir, "manual.ckpt")), /before saving .*manual\.ckpt: bn1\/moving_variance/);
  assert.ok(!fs.existsSync(path.join(dir, "manual.ckpt")));
  assert.deepEqual(nonFiniteWeights(tinyModelWithBatchNorm()), []);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("the best checkpoint holds the weights of the epoch with the lowest validation loss", async () => {
  const dir = tempDir();
  const checkpoints = new SaveCheckpoints(dir);
  const learner = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 }, { callbacks: [checkpoints] });
  await learner.fit(4);
  const best = checkpoints.bestEpoch(learner)!;
  assert.equal(best.validLoss, Math.min(...learner.history.map((r) => r.validLoss!)));
  const probe = learnerFor(tinyModel(3), { body: 0.01, fc: 0.05 });
  probe.loadWeights(checkpoints.best);
  const evaluation = await probe.evaluate(new TinyImages(9, 9, 99));
  assert.ok(Math.abs(evaluation.loss - best.validLoss!) < 1e-6, `${evaluation.loss} vs ${best.validLoss}`);
  assert.equal(JSON.parse(fs.readFileSync(checkpoints.historyFile, "utf8")).length, 4);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("early stopping ends training once validation accuracy falls for `patience` epochs", async () => {
  const record = (epoch: number, validAccuracy: number) => ({ epoch, trainLoss: 1, trainAccuracy: 0.5, validLoss: 1, validAccuracy, seconds: 0, lrs: {} });
  const learner = learnerFor(tinyModel(), { body: 0.01, fc: 0.05 });
  const patient = new EarlyStopping(2, () => {});
  learner.history = [record(1, 0.5), record(2, 0.7), record(3, 0.6)];
  patient.onEpochEnd(learner, learner.history[2]);
  assert.equal(learner.stopped, false, "one bad epoch is within patience 2");
  learner.history.push(record(4, 0.65));
  patient.onEpochEnd(learner, learner.history[3]);
  assert.equal(learner.stopped, true);
  assert.deepEqual(await learner.fit(2), [], "a stopped learner does not train");
});

function runChild(dir: string, delayMs: number, killAt?: RegExp): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "helpers", "train-tiny-cli.ts"), dir, String(delayMs)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      out += chunk;
      if (killAt && killAt.test(out)) child.kill("SIGKILL");
    });
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
}

test("a run killed with SIGKILL mid-epoch resumes from its last checkpoint and ends with the same weights", async () => {
  const straight = tempDir();
  const killed = tempDir();
  assert.equal((await runChild(straight, 0)).code, 0);
  const first = await runChild(killed, 30, /epoch 3 images 10\n/);
  assert.equal(first.signal, "SIGKILL");
  assert.ok(!fs.existsSync(path.join(killed, "final.json")));
  assert.equal(JSON.parse(fs.readFileSync(path.join(killed, "history.json"), "utf8")).length, 2, "killed during epoch 3");
  assert.equal((await runChild(killed, 0)).code, 0);
  const a = JSON.parse(fs.readFileSync(path.join(straight, "final.json"), "utf8"));
  const b = JSON.parse(fs.readFileSync(path.join(killed, "final.json"), "utf8"));
  assert.deepEqual(b.weights, a.weights);
  assert.deepEqual(b.history.map((r: { trainLoss: number }) => r.trainLoss), a.history.map((r: { trainLoss: number }) => r.trainLoss));
  assert.deepEqual(fs.readdirSync(killed).filter((f) => f.includes(".tmp")), [], "no partial files");
  fs.rmSync(straight, { recursive: true, force: true });
  fs.rmSync(killed, { recursive: true, force: true });
});

test("pretrained weights load by name and shape; a new head stays fresh", async () => {
  const dir = tempDir();
  const source = learnerFor(tinyModel(2), { body: 0.01, fc: 0.05 });
  await source.save(path.join(dir, "source.ckpt"));
  const target = tinyModel(9, 5);
  const transfer = await loadMatchingWeights(target, path.join(dir, "source.ckpt"));
  assert.deepEqual(transfer, { loaded: 4, missing: [], mismatched: ["fc/kernel", "fc/bias"] });
  assert.deepEqual(weightsOf(target).get("conv2/kernel"), weightsOf(source.model).get("conv2/kernel"));
  await assert.rejects(loadMatchingWeights(tinyModel(1, 3), path.join(dir, "missing.ckpt")), /does not exist/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a class present in validation but not in training is reported", () => {
  const image = (label: string) => ({ file: `${label}.jpg`, label });
  assert.deepEqual(classesMissingFromTraining([image("a"), image("b")], [image("b"), image("c"), image("c")]), ["c"]);
});
