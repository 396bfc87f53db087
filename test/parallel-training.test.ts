// Data-parallel training (Learner option `parallel`, lib/parallel): two threads, each with its own
// wasm backend, train the same weights as one thread up to float rounding, when no BatchNorm uses
// batch statistics (frozen BatchNorm layers normalise with their moving statistics).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend";
import { batchNorm, conv2d, globalAveragePool, linear, relu6, withInitSeed } from "../lib/models/builders";
import { freezeBefore, splitAtFreezePoint } from "../lib/models";
import { Learner, type Batch, type BatchSource } from "../lib/train";
import { TinyImages, weightsOf } from "./helpers/tiny-training";

const CLASSES = ["a", "b", "c"];
/** Largest difference allowed between a weight trained on one thread and on two (float32 sums in another order). */
const TOLERANCE = 2e-5;

test.before(async () => {
  await selectBackend("wasm", () => undefined);
});

/** conv -> frozen BatchNorm -> ReLU6 -> depthwise conv -> conv -> pool -> linear, as lib/models builds them. */
function smallNet(frozenBatchNorm = true): tf.LayersModel {
  return withInitSeed(3, () => {
    const input = tf.input({ shape: [8, 8, 3] });
    let x = conv2d(input, "features.0", { filters: 8, kernel: 3, stride: 2, padding: 1 });
    x = relu6(batchNorm(x, "features.0.bn"), "features.0.relu");
    x = conv2d(x, "features.1", { filters: 8, kernel: 3, padding: 1, groups: 8 });
    x = conv2d(x, "features.2", { filters: 12, kernel: 1 });
    x = linear(globalAveragePool(x, "avgpool"), "fc", 3);
    const model = tf.model({ inputs: input, outputs: x, name: "small" });
    model.getLayer("features.0.bn").trainable = !frozenBatchNorm;
    return model;
  });
}

async function train(shares: number, frozenBatchNorm = true, batchSize = 6, labelSmoothing = 0): Promise<{ weights: Map<string, Float32Array>; losses: number[] }> {
  const model = smallNet(frozenBatchNorm);
  const trainable = model.trainableWeights;
  const learner = new Learner({
    model,
    groups: [
      { name: "body", variables: trainable.filter((w) => !w.originalName.startsWith("fc")), lr: 0.01 },
      { name: "fc", variables: trainable.filter((w) => w.originalName.startsWith("fc")), lr: 0.05 },
    ],
    train: new TinyImages(5 * batchSize, batchSize),
    classes: CLASSES,
    parallel: shares > 1 ? { shares } : undefined,
    labelSmoothing,
  });
  try {
    const records = await learner.fit(3);
    return { weights: weightsOf(model), losses: records.map((r) => r.trainLoss) };
  } finally {
    await learner.close();
    model.dispose();
  }
}

test("two threads train the same weights as one, within the tolerance; losses agree", async () => {
  const one = await train(1);
  const two = await train(2);
  assert.ok(one.losses[2] < one.losses[0], `training lowers the loss: ${one.losses}`);
  one.losses.forEach((loss, i) => assert.ok(Math.abs(loss - two.losses[i]) < 1e-5, `epoch ${i + 1} loss ${loss} vs ${two.losses[i]}`));
  let worst = 0;
  for (const [name, a] of one.weights) {
    const b = two.weights.get(name)!;
    assert.equal(b.length, a.length, name);
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  assert.ok(worst < TOLERANCE, `largest weight difference ${worst}`);
});

function largestDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, x] of a) {
    const y = b.get(name)!;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - y[i]));
  }
  return worst;
}

test("label smoothing trains other weights than plain cross-entropy, the same on two threads as on one", async () => {
  const plain = await train(1);
  const one = await train(1, true, 6, 0.1);
  const two = await train(2, true, 6, 0.1);
  assert.ok(largestDifference(plain.weights, one.weights) > 1e-3, "smoothing changes the training");
  assert.ok(one.losses.every((loss, i) => loss > plain.losses[i]), `a smoothed loss never reaches plain cross-entropy's: ${one.losses} vs ${plain.losses}`);
  one.losses.forEach((loss, i) => assert.ok(Math.abs(loss - two.losses[i]) < 1e-5, `epoch ${i + 1} loss ${loss} vs ${two.losses[i]}`));
  assert.ok(largestDifference(one.weights, two.weights) < TOLERANCE);
});

test("three shares (two workers) also match", async () => {
  const one = await train(1);
  const three = await train(3);
  let worst = 0;
  for (const [name, a] of one.weights) {
    const b = three.weights.get(name)!;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  assert.ok(worst < TOLERANCE, `largest weight difference ${worst}`);
});

test("with a BatchNorm in training mode (statistics per share of 20 rows) the losses stay within 8% of one thread's", async () => {
  const one = await train(1, false, 40);
  const two = await train(2, false, 40);
  one.losses.forEach((loss, i) => assert.ok(Math.abs(loss - two.losses[i]) <= 0.08 * loss, `epoch ${i + 1} loss ${loss} vs ${two.losses[i]}`));
  console.log(`training-mode BatchNorm, train loss per epoch: one thread ${one.losses.map((l) => l.toFixed(4))}, two ${two.losses.map((l) => l.toFixed(4))}`);
});

test("evaluate shares the rows out too and gives one thread's probabilities", async () => {
  const model = smallNet(false);
  const groups = [{ name: "all", variables: model.trainableWeights, lr: 0.01 }];
  const one = new Learner({ model, groups, train: new TinyImages(), classes: CLASSES });
  const two = new Learner({ model, groups, train: new TinyImages(), classes: CLASSES, parallel: { shares: 2 } });
  try {
    const a = await one.evaluate(new TinyImages(21, 7, 99));
    const b = await two.evaluate(new TinyImages(21, 7, 99));
    assert.deepEqual(b.labels, a.labels);
    assert.ok(a.probabilities.every((p, i) => Math.abs(p - b.probabilities[i]) < 1e-6), "probabilities agree");
    assert.ok(Math.abs(a.loss - b.loss) < 1e-6);
  } finally {
    await two.close();
    model.dispose();
  }
});

/** TinyImages passed through a frozen trunk: the batches a cached-feature source gives the top. */
class TrunkFeatures implements BatchSource {
  readonly size: number;
  constructor(private readonly images: TinyImages, private readonly trunk: tf.LayersModel) {
    this.size = images.size;
  }

  async *batches(epoch: number): AsyncIterable<Batch> {
    for await (const batch of this.images.batches(epoch)) {
      const x = tf.tidy(() => this.trunk.predict(batch.x) as tf.Tensor);
      batch.x.dispose();
      yield { ...batch, x };
    }
  }
}

test("training the top on trunk features (a freeze point, cached features) also runs on two threads and matches one", async () => {
  const trainTop = async (shares: number) => {
    const model = smallNet();
    freezeBefore(model, "features.1");
    const split = splitAtFreezePoint(model)!;
    const learner = new Learner({
      model,
      top: split.top,
      groups: [{ name: "top", variables: model.trainableWeights, lr: 0.01 }],
      train: new TrunkFeatures(new TinyImages(30, 6), split.trunk),
      valid: new TrunkFeatures(new TinyImages(12, 6, 99), split.trunk),
      classes: CLASSES,
      parallel: shares > 1 ? { shares } : undefined,
    });
    try {
      const records = await learner.fit(3);
      return { weights: weightsOf(model), losses: records.map((r) => r.trainLoss), valid: records.map((r) => r.validLoss!), threads: records.map((r) => r.threads) };
    } finally {
      await learner.close();
      model.dispose();
      split.top.dispose();
    }
  };
  const one = await trainTop(1);
  const two = await trainTop(2);
  assert.deepEqual(two.threads, [2, 2, 2]);
  assert.ok(one.losses[2] < one.losses[0], `training lowers the loss: ${one.losses}`);
  one.losses.forEach((loss, i) => assert.ok(Math.abs(loss - two.losses[i]) < 1e-5, `epoch ${i + 1} loss ${loss} vs ${two.losses[i]}`));
  one.valid.forEach((loss, i) => assert.ok(Math.abs(loss - two.valid[i]) < 1e-5, `epoch ${i + 1} valid loss ${loss} vs ${two.valid[i]}`));
  let worst = 0;
  for (const [name, a] of one.weights) {
    const b = two.weights.get(name)!;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  }
  assert.ok(worst < TOLERANCE, `largest weight difference ${worst}`);
});
