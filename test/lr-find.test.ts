// The learning-rate range test (lib/train/lr-find.ts): the exponential schedule, the divergence
// stop, fastai's suggestions on a known curve, per-group tests, cached trunk features, and the
// learner left bit for bit as it was (weights, BatchNorm statistics, optimiser states).
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import { ImageBatches, type BatchImage } from "../lib/data";
import { buildModel, freezeBefore, replaceHead, splitAtFreezePoint } from "../lib/models";
import { cachedFeatureSource, groupsByPath, Learner, lrFind, lrFindFigure, lrFindPerGroup, suggestLearningRates, type BatchSource } from "../lib/train";
import { TinyImages, tinyModel, weightsOf } from "./helpers/tiny-training";

const CLASSES = ["a", "b", "c"];

before(async () => {
  await selectBackend("wasm", () => undefined);
});

function tinyLearner(): Learner {
  const model = tinyModel(3);
  return new Learner({
    model,
    groups: [
      { name: "body", variables: model.weights.filter((w) => !w.name.startsWith("fc")), lr: 0.01 },
      { name: "fc", variables: model.weights.filter((w) => w.name.startsWith("fc")), lr: 0.05 },
    ],
    train: new TinyImages(24, 5),
    classes: CLASSES,
  });
}

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "charid-lrfind-"));
}

test("the learner is bit for bit as before: weights and optimiser states (checkpoint bytes equal), and training on gives the same weights", async () => {
  const dir = tempDir();
  try {
    const [tested, twin] = [tinyLearner(), tinyLearner()];
    await tested.fit(1);
    await twin.fit(1);
    await tested.save(path.join(dir, "before.ckpt"));
    const result = await lrFind(tested, { iterations: 30, endLr: 100 });
    assert.ok(result.lrs.length > 5);
    await tested.save(path.join(dir, "after.ckpt"));
    assert.ok(fs.readFileSync(path.join(dir, "before.ckpt")).equals(fs.readFileSync(path.join(dir, "after.ckpt"))), "weights, Adam moments, iterations, rates, history");
    await tested.fit(1);
    await twin.fit(1);
    assert.deepEqual(weightsOf(tested.model), weightsOf(twin.model), "the next epoch trains exactly as without the range test");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the rate grows exponentially from startLr over the iterations, across epochs, and every group sweeps at it", async () => {
  const result = await lrFind(tinyLearner(), { startLr: 1e-6, endLr: 1e-3, iterations: 12, divergence: 1e9 });
  assert.equal(result.group, "all");
  assert.equal(result.lrs.length, 12, "5 batches per epoch: the steps run over three epochs");
  assert.equal(result.diverged, false);
  result.lrs.forEach((lr, i) => assert.ok(Math.abs(lr / (1e-6 * 1000 ** (i / 12)) - 1) < 1e-12, `${i}: ${lr}`));
  assert.ok(result.losses.every(Number.isFinite));
  // Debiased smoothing: the first smoothed value is the first loss.
  assert.ok(Math.abs(result.smoothed[0] - result.losses[0]) < 1e-9);
  assert.ok(result.smoothed[11] < result.smoothed[0], "a small rate lowers the loss");
});

/** TinyImages with labels unrelated to the images (floor(id / 3) mod 3): large rates cannot fit them and the loss blows up. */
function unlearnable(): BatchSource {
  const images = new TinyImages(24, 5);
  return {
    size: images.size,
    async *batches(epoch: number) {
      for await (const batch of images.batches(epoch)) {
        batch.y.dispose();
        yield { ...batch, y: tf.tensor1d(batch.files!.map((f) => Math.floor(Number(f.slice(3)) / 3) % 3), "int32") };
      }
    },
  };
}

test("it stops when the smoothed loss exceeds 4 times its minimum", async () => {
  const learner = tinyLearner();
  learner.train = unlearnable();
  const result = await lrFind(learner, { startLr: 1e-4, endLr: 1e6, iterations: 200 });
  assert.equal(result.diverged, true);
  assert.ok(result.lrs.length < 200, `${result.lrs.length} steps`);
  const last = result.smoothed[result.smoothed.length - 1];
  assert.ok(!Number.isFinite(last) || last > 4 * Math.min(...result.smoothed.slice(0, -1)));
  assert.ok(result.smoothed.slice(0, -1).every((v, i, all) => v <= 4 * Math.min(...all.slice(0, i + 1))), "no earlier step diverged");
});

test("per parameter group: one curve each, only that group's rate sweeps", async () => {
  const learner = tinyLearner();
  const before = weightsOf(learner.model);
  const results = await lrFindPerGroup(learner, { iterations: 10, endLr: 1 });
  assert.deepEqual(results.map((r) => r.group), ["body", "fc"]);
  assert.deepEqual(weightsOf(learner.model), before);
  // Same first batch, same weights: the first loss (computed before any step) is the same for both.
  assert.equal(results[0].losses[0], results[1].losses[0]);
  assert.notDeepEqual(results[0].losses.slice(1), results[1].losses.slice(1), "different variables move");
  await assert.rejects(lrFind(learner, { group: "head" }), /no parameter group head; groups are body, fc/);
  const figure = lrFindFigure(results);
  assert.equal(figure.layout?.xaxis?.type, "log");
  assert.ok(figure.data.some((trace) => (trace.name ?? "").startsWith("fc: valley")));
});

test("fastai's suggestions on a known curve: minimum / 10, steepest descent, longest valley", () => {
  const losses = [3, 3, 3, 3, 2.9, 2.6, 2.0, 1.5, 1.2, 1.0, 0.9, 0.85, 0.9, 1.2, 2, 4, 8, 16, 30, 60];
  const lrs = losses.map((_, i) => 10 ** (-7 + 0.4 * i));
  // The first tenth (2 points) and the last 5 are left out: points 2..14.
  const s = suggestLearningRates(lrs, losses, 20);
  assert.equal(s.minimum, lrs[11] / 10, "lowest loss at point 11");
  assert.equal(s.steep, lrs[5], "2.6 -> 2.0 is the steepest step");
  // Longest decreasing run 3, 2.9, ..., 0.85 (points 2..11, length 9): 0 + 3 + 1 into it.
  assert.equal(s.valley, lrs[6]);
});

test("on cached trunk features it sweeps the top, and restores the top's BatchNorm statistics too", async () => {
  const dir = tempDir();
  try {
    const items: BatchImage[] = [];
    for (let i = 0; i < 24; i++) {
      const pixels = Buffer.alloc(40 * 40 * 3);
      for (let p = 0; p < pixels.length; p++) pixels[p] = (p % 3 === i % 3 ? 160 : 40) + ((p * 7919 + i * 104729) % 80);
      const file = path.join(dir, `img${i}.jpg`);
      await sharp(pixels, { raw: { width: 40, height: 40, channels: 3 } }).jpeg().toFile(file);
      items.push({ file, label: i % 3 });
    }
    const model = replaceHead(buildModel("mobilenet_v2", { widthMultiplier: 0.35, inputSize: 32, seed: 1 }), 3, { seed: 2 });
    freezeBefore(model, "features.16");
    const split = splitAtFreezePoint(model)!;
    const options = { dir: path.join(dir, "cache"), size: 32, batchSize: 8, seed: 5, shuffle: true, shares: 1 };
    const features = await cachedFeatureSource(split.trunk, items, options);
    const images = { size: items.length, batches: (epoch: number) => new ImageBatches(items, { batchSize: 8, size: 32, seed: 5, shuffle: true, epoch }) };
    const groups = () => groupsByPath(model, { "features.16:18": 1e-3, "features.18": 1e-3, classifier: 3e-3 });
    const before = weightsOf(model);
    const onFeatures = await lrFind(new Learner({ model, top: split.top, groups: groups(), train: features, classes: CLASSES }), { iterations: 6, endLr: 1 });
    assert.deepEqual(weightsOf(model), before, "every weight back, BatchNorm moving statistics included");
    const onImages = await lrFind(new Learner({ model, groups: groups(), train: images, classes: CLASSES }), { iterations: 6, endLr: 1 });
    assert.deepEqual(weightsOf(model), before);
    onFeatures.losses.forEach((loss, i) => assert.ok(Math.abs(loss - onImages.losses[i]) < 1e-4, `step ${i}: ${loss} vs ${onImages.losses[i]} on images`));
    split.top.dispose();
    model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
