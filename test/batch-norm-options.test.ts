// BatchNorm without gamma (Keras' scale=False, as in InceptionV3) or without beta (center=False):
// it normalises as if gamma were 1 (beta 0), trains what it has and its moving statistics, freezes,
// serialises, and the wasm training kernels (forward and gradient) run it.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend";
import { BatchNorm } from "../lib/models";

test.before(async () => {
  await selectBackend("wasm", () => undefined);
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Array.from(a).reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i])), 0);
}

function built(args: ConstructorParameters<typeof BatchNorm>[0], channels = 4): BatchNorm {
  const bn = new BatchNorm({ momentum: 0.9, ...args });
  bn.build([null, 3, 3, channels]);
  return bn;
}

function weightNames(bn: BatchNorm): string[] {
  return bn.weights.map((w) => w.originalName.split("/").pop()!);
}

test("without scale a BatchNorm has no gamma and normalises as one with gamma = 1", () => {
  const x = tf.randomNormal([2, 3, 3, 4], 2, 3, "float32", 1);
  const noScale = built({ name: "no_scale", scale: false });
  const reference = built({ name: "reference" });
  assert.deepEqual(weightNames(noScale), ["beta", "moving_mean", "moving_variance"]);
  assert.deepEqual(noScale.affineWeights, [noScale.weights[0]], "beta is its only parameter");
  const beta = tf.tensor1d([0.5, -1, 2, 0]);
  const [mean, variance] = [tf.tensor1d([1, 2, 3, 4]), tf.tensor1d([0.5, 1, 2, 4])];
  noScale.setWeights([beta, mean, variance]);
  reference.setWeights([tf.ones([4]), beta, mean, variance]);
  for (const training of [false, true]) {
    const actual = (noScale.apply(x, { training }) as tf.Tensor).dataSync();
    const expected = (reference.apply(x, { training }) as tf.Tensor).dataSync();
    assert.ok(maxAbsDiff(actual, expected) < 1e-6, `training ${training}`);
  }
  assert.deepEqual(noScale.getWeights()[1].dataSync(), reference.getWeights()[2].dataSync(), "moving means moved alike");
});

test("without center a BatchNorm has no beta and adds nothing", () => {
  const x = tf.randomNormal([2, 3, 3, 4], 2, 3, "float32", 2);
  const noCenter = built({ name: "no_center", center: false });
  assert.deepEqual(weightNames(noCenter), ["gamma", "moving_mean", "moving_variance"]);
  noCenter.setWeights([tf.tensor1d([2, 2, 2, 2]), tf.zeros([4]), tf.ones([4])]);
  const y = (noCenter.apply(x, { training: false }) as tf.Tensor).dataSync();
  const expected = tf.mul(x, 2 / Math.sqrt(1 + noCenter.epsilon)).dataSync();
  assert.ok(maxAbsDiff(y, expected) < 1e-5);
  const gamma = noCenter.weights[0].read() as tf.Variable;
  const { grads } = tf.variableGrads(() => tf.sum(tf.mul(noCenter.apply(x, { training: true }) as tf.Tensor, x)) as tf.Scalar, [gamma]);
  assert.ok(tf.abs(grads[gamma.name]).max().dataSync()[0] > 0, "gamma trains without beta");
  assert.throws(() => new BatchNorm({ name: "neither", scale: false, center: false }), /neither: a BatchNorm needs scale or center/);
});

test("a BatchNorm without scale trains beta and its statistics on wasm, and not when frozen", () => {
  const x = tf.randomNormal([4, 5, 5, 3], 1, 2, "float32", 3);
  const input = tf.input({ shape: [5, 5, 3] });
  const bn = new BatchNorm({ name: "bn", scale: false, momentum: 0.5 });
  const conv = tf.layers.conv2d({ name: "conv", filters: 4, kernelSize: 3, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: 4 }) });
  const model = tf.model({ inputs: input, outputs: bn.apply(conv.apply(input)) as tf.SymbolicTensor });
  const target = tf.randomNormal([4, 3, 3, 4], 0, 1, "float32", 5);
  /** The gradients of one training step, by original variable name. */
  const step = (): Record<string, tf.Tensor> => {
    const loss = () => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }) as tf.Tensor, target))) as tf.Scalar;
    const { grads } = tf.variableGrads(loss, model.trainableWeights.map((w) => w.read() as tf.Variable));
    return Object.fromEntries(model.weights.filter((w) => grads[w.name]).map((w) => [w.originalName, grads[w.name]]));
  };
  const [betaBefore, meanBefore] = bn.getWeights().map((w) => Array.from(w.dataSync()));
  const grads = step();
  assert.deepEqual(Object.keys(grads).sort(), ["bn/beta", "conv/kernel"]);
  assert.ok(tf.abs(grads["bn/beta"]).max().dataSync()[0] > 0, "beta gets a gradient");
  assert.ok(tf.abs(grads["conv/kernel"]).max().dataSync()[0] > 0, "the conv below gets a gradient through the normalisation");
  assert.ok(maxAbsDiff(bn.getWeights()[1].dataSync(), meanBefore) > 1e-3, "the moving mean moved");
  assert.deepEqual(Array.from(bn.getWeights()[0].dataSync()), betaBefore);

  bn.trainable = false;
  const frozenMean = Array.from(bn.getWeights()[1].dataSync());
  const frozenGrads = step();
  assert.deepEqual(Object.keys(frozenGrads), ["conv/kernel"]);
  assert.deepEqual(Array.from(bn.getWeights()[1].dataSync()), frozenMean, "a frozen BatchNorm keeps its statistics");
});

test("scale and center survive serialisation", () => {
  const bn = new BatchNorm({ name: "bn", scale: false, epsilon: 1e-3, momentum: 0.99 });
  const config = bn.getConfig();
  assert.equal(config.scale, false);
  assert.equal(config.center, true);
  const copy = BatchNorm.fromConfig(BatchNorm, config) as BatchNorm;
  assert.equal(copy.scale, false);
  assert.equal(copy.center, true);
  assert.equal(copy.epsilon, 1e-3);
});
