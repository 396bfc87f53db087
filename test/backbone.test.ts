// loadBackbone: one spec resolves into the model, its input and its provenance.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { loadBackbone } from "../lib/backbone";
import { BatchNorm } from "../lib/models/layers/batch-norm";
import { EMBEDDED_WEIGHTS } from "../lib/weights";

test.before(async () => {
  await tf.setBackend("cpu");
});

test("an architecture with the embedded weights: torchvision input at the weights' native size, hash in the provenance", async () => {
  const net = await loadBackbone("mobilenet_v2", { numClasses: 3, widthMultiplier: 0.5, weights: "embedded", seed: 1 });
  const recorded = JSON.parse(fs.readFileSync(path.join(EMBEDDED_WEIGHTS, "provenance.json"), "utf8")) as { sha256: string; imageSize: number };
  assert.deepEqual(net.input, { size: recorded.imageSize, convention: "torchvision" });
  assert.equal(net.provenance.sha256, recorded.sha256);
  assert.ok(net.transfer!.loaded > 100 && net.transfer!.missing.every((name) => name.startsWith("classifier")), JSON.stringify(net.transfer));
  net.model.dispose();
});

test("an nsfwjs backbone: RGB / 255 input, native size by default, the package's version and integrity", async () => {
  const net = await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: 4, seed: 1 });
  assert.deepEqual(net.input, { size: 224, convention: "unit" });
  assert.deepEqual(net.model.inputs[0].shape, [null, 224, 224, 3]);
  assert.equal(net.provenance.version, "4.4.0");
  assert.match(net.provenance.integrity ?? "", /^sha512-/);
  assert.match(net.provenance.sha256 ?? "", /^[0-9a-f]{64}$/);
  net.model.dispose();
  await assert.rejects(loadBackbone("nsfwjs:mobilenet_v2", { numClasses: 4, weights: "embedded" }), /brings its own .* weights: leave weights empty/);
});

test('"random" re-initialises a backbone that comes with weights, the same way for the same seed', async () => {
  const pretrained = await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: 4, imageSize: 64, seed: 1 });
  const [a, b] = [await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: 4, imageSize: 64, weights: "random", seed: 1 }),
    await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: 4, imageSize: 64, weights: "random", seed: 1 })];
  const values = (net: typeof a, name: string) => net.model.weights.find((w) => w.originalName === name)!.read().dataSync();
  assert.equal(a.provenance.weights, "random init");
  assert.notDeepEqual(values(a, "Conv1/kernel"), values(pretrained, "Conv1/kernel"));
  assert.deepEqual(values(a, "Conv1/kernel"), values(b, "Conv1/kernel"));
  assert.ok(values(a, "bn_Conv1/moving_variance").every((v) => v === 1));
  for (const net of [pretrained, a, b]) net.model.dispose();
});

test("every BatchNorm fine-tunes with PyTorch's momentum unless asked otherwise: the moving statistics follow the batches", async () => {
  const bnMomenta = (net: { model: tf.LayersModel }) => new Set(net.model.layers.filter((l): l is BatchNorm => l instanceof BatchNorm).map((l) => l.momentum));
  const x = tf.randomUniform([2, 32, 32, 3], 0, 1, "float32", 7);
  const drift = async (batchNormMomentum?: number) => {
    const net = await loadBackbone("nsfwjs:mobilenet_v2", { numClasses: 4, imageSize: 32, seed: 1, batchNormMomentum });
    const bn = net.model.getLayer("Conv_1_bn") as BatchNorm;
    const moving = () => Array.from(bn.inferenceParameters().movingMean.dataSync());
    const before = moving();
    for (let step = 0; step < 30; step++) tf.tidy(() => { net.model.apply(x, { training: true }); });
    const after = moving();
    const momenta = bnMomenta(net);
    net.model.dispose();
    return { momenta, moved: after.reduce((s, v, i) => s + Math.abs(v - before[i]), 0) / after.length };
  };
  const fineTune = await drift();
  const keras = await drift(0.999);
  assert.deepEqual([...fineTune.momenta], [0.9]); // the package's layers say 0.999 (one says 0.9)
  assert.deepEqual([...keras.momenta], [0.999]);
  // 30 steps move the statistics 1 - 0.9^30 = 96 % of the way with 0.9, 3 % with 0.999.
  assert.ok(fineTune.moved > 10 * keras.moved, `mean |change| of Conv_1_bn's moving mean: ${fineTune.moved} with 0.9, ${keras.moved} with 0.999`);
  x.dispose();
});
