import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { AverageWeights, fitOneCycle, fitSchedule, Learner, OneCycle, SaveCheckpoints, type Callback } from "../lib/train";
import { TinyImages, tinyModel, tinyModelWithBatchNorm, weightsOf } from "./helpers/tiny-training";

const MAX = { body: 0.02, fc: 0.1 };

test.before(async () => {
  await tf.setBackend("cpu");
});

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "charid-one-cycle-"));
}

function learnerFor(callbacks: Callback[] = [], seed = 1, model = tinyModel(seed)): Learner {
  return new Learner({
    model,
    groups: [
      { name: "body", variables: model.weights.filter((w) => w.trainable && !w.name.startsWith("fc")), lr: 1 },
      { name: "fc", variables: model.weights.filter((w) => w.name.startsWith("fc")), lr: 1 },
    ],
    train: new TinyImages(24, 5),
    valid: new TinyImages(9, 9, 99),
    classes: ["a", "b", "c"],
    callbacks,
  });
}

/** The rate of each group before the first batch, then after every batch (the next batch's). */
class RecordRates implements Callback {
  readonly rates: Record<string, number>[] = [];
  onFitStart(learner: Learner): void {
    this.rates.push(learner.learningRates());
  }
  onBatchEnd(learner: Learner): void {
    this.rates.push(learner.learningRates());
  }
}

class CrashAfter implements Callback {
  constructor(private readonly epoch: number) {}
  onEpochEnd(_learner: Learner, record: { epoch: number }): void {
    if (record.epoch === this.epoch) throw new Error(`crash after epoch ${this.epoch}`);
  }
}

class RecordWeights implements Callback {
  readonly byEpoch = new Map<number, Map<string, Float32Array>>();
  onEpochEnd(learner: Learner, record: { epoch: number }): void {
    this.byEpoch.set(record.epoch, weightsOf(learner.model));
  }
}

function assertClose(actual: Float32Array, expected: Float32Array, tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  const worst = actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i]) / Math.max(1, Math.abs(expected[i]))), 0);
  assert.ok(worst <= tolerance, `${what}: off by ${worst} (relative above 1)`);
}

test("one-cycle factors: max / 25, a cosine up to the max at 25 %, a cosine down to max / 1e5 (fastai's fit_one_cycle)", () => {
  const schedule = new OneCycle({ fc: 1 }, 4);
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
  close(schedule.factorAt(0), 1 / 25);
  close(schedule.factorAt(0.125), (1 / 25 + 1) / 2);
  close(schedule.factorAt(0.25), 1);
  close(schedule.factorAt(0.625), (1 + 1e-5) / 2);
  close(schedule.factorAt(1), 1e-5);
  close(new OneCycle({ fc: 1 }, 4, { pctStart: 0.5, divFactor: 10, finalDiv: 100 }).factorAt(0), 0.1);
  assert.throws(() => new OneCycle({ fc: 0 }, 4), /maximum rate of fc must be > 0/);
  assert.throws(() => new OneCycle({ fc: 1 }, 4, { pctStart: 1 }), /pctStart must be in \(0, 1\)/);
});

test("fitOneCycle sets every group's rate before each batch and leaves the callbacks as they were", async () => {
  const recorder = new RecordRates();
  const learner = learnerFor([recorder]);
  await fitOneCycle(learner, 4, MAX);
  const body = recorder.rates.map((r) => r.body);
  const fc = recorder.rates.map((r) => r.fc);
  assert.equal(body.length, 1 + 4 * 5, "5 batches an epoch");
  assert.ok(Math.abs(body[0] - MAX.body / 25) < 1e-15 && Math.abs(fc[0] - MAX.fc / 25) < 1e-15, `${body[0]} ${fc[0]}`);
  const peak = body.indexOf(Math.max(...body));
  assert.equal(peak, 5, "the peak at the end of the first of 4 epochs");
  assert.ok(Math.abs(body[peak] - MAX.body) < 1e-15);
  assert.ok(body.slice(0, peak + 1).every((v, i, a) => i === 0 || v > a[i - 1]), "rising");
  assert.ok(body.slice(peak).every((v, i, a) => i === 0 || v < a[i - 1]), "falling");
  assert.ok(Math.abs(body.at(-1)! - MAX.body * 1e-5) < 1e-15);
  fc.forEach((v, i) => assert.ok(Math.abs(v / body[i] - MAX.fc / MAX.body) < 1e-9, "the groups keep their ratio"));
  assert.deepEqual(learner.callbacks, [recorder]);
  assert.ok(learner.history[3].trainLoss < learner.history[0].trainLoss, JSON.stringify(learner.history));
});

test("one-cycle resumed from a checkpoint continues the same curve: same rates, same weights", async () => {
  const dir = tempDir();
  const straightRates = new RecordRates();
  const straight = learnerFor([straightRates]);
  await fitOneCycle(straight, 4, MAX);

  const checkpoints = new SaveCheckpoints(dir);
  await assert.rejects(fitOneCycle(learnerFor([checkpoints, new CrashAfter(2)]), 4, MAX), /crash after epoch 2/);
  const resumedRates = new RecordRates();
  const resumed = learnerFor([resumedRates], 7);
  await resumed.restore(checkpoints.last);
  await fitOneCycle(resumed, 4, MAX);
  assert.deepEqual(resumedRates.rates, straightRates.rates.slice(10), "the rates of epochs 3 and 4");
  assert.deepEqual(weightsOf(resumed.model), weightsOf(straight.model));
  fs.rmSync(dir, { recursive: true, force: true });
});

test("fitSchedule by name: one cycle peaking at oneCyclePeak x the rates, or the steps' phases cut to the epochs asked", async () => {
  const spec = { rates: { body: 0.01, fc: 0.05 }, oneCyclePeak: 2, phaseEpochs: [2, 2, 2], lowerRates: [1e-3, 1e-4] };
  const cycleRates = new RecordRates();
  await fitSchedule(learnerFor([cycleRates]), 2, { ...spec, schedule: "one-cycle" });
  const direct = new RecordRates();
  await fitOneCycle(learnerFor([direct]), 2, { body: 0.02, fc: 0.1 });
  assert.deepEqual(cycleRates.rates, direct.rates);

  const steps = learnerFor();
  steps.setLearningRates(spec.rates);
  await fitSchedule(steps, 3, { ...spec, schedule: "steps" });
  assert.deepEqual(steps.history.map((r) => r.lrs), [spec.rates, spec.rates, { body: 1e-3, fc: 1e-3 }], "2 epochs at the rates, then 1 of the second phase");
  await assert.rejects(fitSchedule(learnerFor(), 1, { ...spec, schedule: "cosine" }), /schedule must be "one-cycle" or "steps", got "cosine"/);
});

test("AverageWeights keeps the mean of every weight from its epoch on, BatchNorm statistics included, and writes it into a model", async () => {
  const dir = tempDir();
  const file = path.join(dir, "average.ckpt");
  const recorded = new RecordWeights();
  const average = new AverageWeights(2, file);
  const learner = learnerFor([recorded, average], 1, tinyModelWithBatchNorm());
  await learner.fit(4);
  assert.deepEqual(average.epochs, [2, 3, 4]);
  const fresh = tinyModelWithBatchNorm();
  new AverageWeights(2, file).apply(fresh);
  const applied = weightsOf(fresh);
  for (const [name, last] of recorded.byEpoch.get(4)!) {
    const mean = last.map((_, i) => (recorded.byEpoch.get(2)!.get(name)![i] + recorded.byEpoch.get(3)!.get(name)![i] + last[i]) / 3);
    assertClose(applied.get(name)!, mean, 1e-6, name);
  }
  assert.notDeepEqual(recorded.byEpoch.get(2)!.get("bn1/moving_mean"), recorded.byEpoch.get(4)!.get("bn1/moving_mean"), "the statistics moved");
  assert.throws(() => new AverageWeights(2, file).apply(tinyModel(1, 4)), /no conv2\/kernel of shape 3x3x4x6: they come from another architecture/);
  assert.throws(() => new AverageWeights(5).apply(fresh), /not reached epoch 5/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test("AverageWeights resumes: an epoch checkpointed but not yet averaged is taken from the restored weights", async () => {
  const dir = tempDir();
  const straight = new AverageWeights(2);
  await learnerFor([straight]).fit(4);

  const checkpoints = new SaveCheckpoints(path.join(dir, "ckpt"));
  const file = path.join(dir, "average.ckpt");
  // Dies after epoch 3's checkpoint, before the average took epoch 3.
  await assert.rejects(learnerFor([checkpoints, new CrashAfter(3), new AverageWeights(2, file)]).fit(4), /crash after epoch 3/);
  const average = new AverageWeights(2, file);
  assert.deepEqual(average.epochs, [2]);
  const resumed = learnerFor([average], 7);
  await resumed.restore(checkpoints.last);
  await resumed.fit(4);
  assert.deepEqual(average.epochs, [2, 3, 4]);
  const a = tinyModel(3);
  const b = tinyModel(4);
  average.apply(a);
  straight.apply(b);
  for (const [name, values] of weightsOf(a)) assertClose(values, weightsOf(b).get(name)!, 1e-7, name);

  await assert.rejects(learnerFor([new AverageWeights(2, file)]).fit(1), /averages epochs up to 4, but the learner is at epoch 0: it belongs to another run; delete it/);
  fs.rmSync(dir, { recursive: true, force: true });
});
