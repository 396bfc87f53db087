// The nsfwjs package's pretrained Keras MobileNetV2 and InceptionV3 as backbones: loaded from
// node_modules with no network, trunk only with a fresh head, the same features as nsfwjs's own
// model on a real image, any input size, InceptionV3's blocks for freezing and the feature cache,
// its BatchNormalization(scale=False) layers training, and where the weights come from.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import * as nsfwjs from "nsfwjs";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import {
  blockOf,
  blockPaths,
  buildBackbone,
  freezeBefore,
  loadNsfwjsBackbone,
  namingOf,
  NSFWJS_BACKBONES,
  nsfwjsProvenance,
  parameterGroups,
  splitAtFreezePoint,
  unfreezeTop,
  type NsfwjsBackboneName,
} from "../lib/models";
import type { BatchSource } from "../lib/train/batch-source";
import { Learner } from "../lib/train/learner";

test.before(async () => {
  await selectBackend("wasm", () => undefined);
});

const NSFWJS_DIR = path.join(path.dirname(require.resolve("nsfwjs")), "..", "..");

/** Two twemoji artworks on coloured backgrounds, as int32 RGB [2, size, size, 3]. */
async function artworks(size: number): Promise<tf.Tensor4D> {
  const twemoji = path.dirname(require.resolve("@twemoji/svg/package.json"));
  const images = await Promise.all(
    [["1f98a.svg", "#2f6db5"], ["1f34e.svg", "#e8d44d"]].map(([file, background]) =>
      sharp(path.join(twemoji, file), { density: 300 }).resize(size, size, { fit: "contain", background }).flatten({ background }).removeAlpha().raw().toBuffer(),
    ),
  );
  return tf.tensor4d(Int32Array.from(Buffer.concat(images)), [2, size, size, 3], "int32");
}

const scaled = (images: tf.Tensor) => tf.div(tf.cast(images, "float32"), 255);

/** The weight shard modules of nsfwjs's `name` model, by manifest path. */
async function shardFiles(name: NsfwjsBackboneName): Promise<[shard: string, file: string][]> {
  const definition = Object.values(require(`nsfwjs/models/${name}`) as Record<string, { modelJson(): Promise<{ default: tf.io.ModelJSON }> }>)[0];
  const { weightsManifest } = (await definition.modelJson()).default;
  return weightsManifest.flatMap((group) => group.paths).map((shard) => [shard, path.join(NSFWJS_DIR, "dist", "models", name, `${shard}.min.js`)]);
}

/**
 * nsfwjs's own full model (its head included), loaded by nsfwjs itself as a page that includes the
 * shard scripts does: the shards as globals, which its loader takes instead of importing them.
 */
async function nsfwjsOriginal(name: NsfwjsBackboneName): Promise<nsfwjs.NSFWJS> {
  const globals = globalThis as Record<string, unknown>;
  const shards = await shardFiles(name);
  for (const [shard, file] of shards) globals[shard.replace(/-/g, "_")] = require(file);
  const info = console.info;
  console.info = () => undefined; // "You're using the model ..."
  try {
    return await nsfwjs.load(name === "mobilenet_v2" ? "MobileNetV2" : "InceptionV3");
  } finally {
    console.info = info;
    for (const [shard] of shards) delete globals[shard.replace(/-/g, "_")];
  }
}

/** Loads with fetch refused, so that a load that reaches for the network fails. */
async function offline<T>(load: () => Promise<T>): Promise<T> {
  const fetch = globalThis.fetch;
  globalThis.fetch = () => Promise.reject(new Error("no network in this test"));
  try {
    return await load();
  } finally {
    globalThis.fetch = fetch;
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Array.from(a).reduce((worst, v, i) => Math.max(worst, Math.abs(v - b[i])), 0);
}

for (const [name, channels] of [["mobilenet_v2", 1280], ["inception_v3", 2048]] as const) {
  test(`nsfwjs ${name}: the trunk with a new head gives nsfwjs's own features within 1e-4`, async () => {
    const { nativeSize, trunkEnd } = NSFWJS_BACKBONES[name];
    const { model } = await offline(() => loadNsfwjsBackbone(name, { numClasses: 3, seed: 1 }));
    assert.deepEqual(model.inputs[0].shape, [null, nativeSize, nativeSize, 3]);
    assert.deepEqual(model.outputs[0].shape, [null, 3]);
    assert.deepEqual(model.layers.slice(-3).map((layer) => layer.name), [trunkEnd, "avg_pool", "predictions"]);
    assert.deepEqual(model.getLayer("predictions").getWeights()[0].shape, [channels, 3]);
    assert.ok(!model.layers.some((layer) => /^(dense|flatten|dropout)_/.test(layer.name)), "nsfwjs's head is gone");
    const untrainable = model.layers.filter((layer) => layer.weights.length > 0 && !layer.trainable).map((layer) => layer.name);
    assert.deepEqual(untrainable, [], "every layer trains until frozen (nsfwjs saved most as untrainable)");

    const images = await artworks(nativeSize);
    const original = await nsfwjsOriginal(name);
    const expected = tf.stack([0, 1].map((i) => tf.mean(original.infer(images.gather([i]).squeeze([0]) as tf.Tensor3D, trunkEnd), [0, 1, 2])));
    const features = tf.model({ inputs: model.inputs, outputs: model.getLayer("avg_pool").output as tf.SymbolicTensor });
    const actual = features.predict(scaled(images)) as tf.Tensor;
    assert.deepEqual(actual.shape, [2, channels]);
    const difference = maxAbsDiff(actual.dataSync(), expected.dataSync());
    const scale = tf.max(tf.abs(expected)).dataSync()[0];
    console.log(`${name}: largest difference from nsfwjs's features ${difference.toExponential(2)} (features up to ${scale.toFixed(2)})`);
    assert.ok(difference <= 1e-4, `largest difference ${difference}`);
    assert.ok(maxAbsDiff(actual.dataSync().slice(0, channels), actual.dataSync().slice(channels)) > 1e-2, "the two images differ in features");
    assert.deepEqual((model.predict(scaled(images)) as tf.Tensor).shape, [2, 3]);
    // Not original.dispose(): after infer() at an endpoint, nsfwjs 4.4.0 frees the shared layers twice and throws.
    original.model.dispose();
    model.dispose();
  });
}

test("nsfwjs backbones take any input size: MobileNetV2 at 96 and 160, InceptionV3 at 139 (both at their native size above)", async () => {
  for (const [spec, size] of [["nsfwjs:mobilenet_v2", 96], ["nsfwjs:mobilenet_v2", 160], ["nsfwjs:inception_v3", 139]] as const) {
    const model = await buildBackbone(spec, 5, { inputSize: size, seed: 2 });
    assert.deepEqual(model.inputs[0].shape, [null, size, size, 3], spec);
    const logits = model.predict(scaled(await artworks(size))) as tf.Tensor;
    assert.deepEqual(logits.shape, [2, 5], `${spec} @${size}`);
    assert.ok(logits.dataSync().every(Number.isFinite));
    model.dispose();
  }
  assert.deepEqual(blockPaths(await buildBackbone("nsfwjs:mobilenet_v2", 2, { inputSize: 32 })), [
    "Conv1", ...Array.from({ length: 17 }, (_, i) => `block.${i}`), "Conv_1", "predictions",
  ]);
});

test("nsfwjs InceptionV3: stem and mixed blocks freeze, split for the feature cache and train with BatchNorm(scale=False)", async () => {
  const size = 139;
  const model = await buildBackbone("nsfwjs:inception_v3", 3, { inputSize: size, seed: 3 });
  const blocks = [...[1, 2, 3, 4, 5].map((n) => `stem.${n}`), ...Array.from({ length: 11 }, (_, n) => `mixed.${n}`), "predictions"];
  assert.deepEqual(blockPaths(model), blocks);
  assert.equal(unfreezeTop(model, 2), "mixed.9");
  assert.deepEqual(trainingBlocks(model), ["mixed.9", "mixed.10", "predictions"]);

  freezeBefore(model, "mixed.7");
  assert.deepEqual(trainingBlocks(model), ["mixed.7", "mixed.8", "mixed.9", "mixed.10", "predictions"]);
  const images = scaled(await artworks(size));
  const split = splitAtFreezePoint(model)!;
  assert.equal(split.cut, "mixed6");
  const throughSplit = (split.top.predict(split.trunk.predict(images) as tf.Tensor) as tf.Tensor).dataSync();
  assert.ok(maxAbsDiff(throughSplit, (model.predict(images) as tf.Tensor).dataSync()) < 1e-5, "top(trunk(x)) == model(x)");

  const batchNorms = model.layers.filter((layer) => layer.getClassName() === "BatchNorm");
  assert.equal(batchNorms.length, 94);
  assert.ok(batchNorms.every((layer) => layer.weights.every((w) => !w.originalName.endsWith("/gamma"))), "InceptionV3's BatchNorms have no gamma");
  const before = new Map(model.weights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
  const groups = parameterGroups(model, { "mixed.7:": 1e-3, predictions: 1e-2 }).map((g) => ({ name: g.name, variables: g.variables, lr: g.options }));
  const train: BatchSource = {
    size: 2,
    async *batches() {
      yield { x: images.clone(), y: tf.tensor1d([0, 2], "int32") };
    },
  };
  await new Learner({ model, groups, train, classes: ["a", "b", "c"] }).fit(1);
  const naming = namingOf(model);
  const changed = (w: tf.LayerVariable) => maxAbsDiff(w.read().dataSync(), before.get(w.originalName)!) > 0;
  for (const w of model.weights) {
    const trains = ["mixed.7", "mixed.8", "mixed.9", "mixed.10", "predictions"].includes(blockOf(w.originalName.split("/")[0], naming));
    if (!trains) assert.ok(!changed(w), `${w.originalName} is frozen but changed`);
    else if (/kernel|beta|moving_/.test(w.originalName)) assert.ok(changed(w), `${w.originalName} trains but did not change`);
  }
  model.dispose();
});

/** The blocks with trainable weights. */
function trainingBlocks(model: tf.LayersModel): string[] {
  const naming = namingOf(model);
  return [...new Set(model.layers.filter((layer) => layer.trainableWeights.length > 0).map((layer) => blockOf(layer.name, naming)))];
}

test("unknown nsfwjs names list the valid ones; its graph model is refused", async () => {
  await assert.rejects(loadNsfwjsBackbone("resnet50", { numClasses: 2 }), /unknown nsfwjs backbone "resnet50"; choose one of mobilenet_v2, inception_v3/);
  await assert.rejects(buildBackbone("nsfwjs:mobilenet", 2), /unknown nsfwjs backbone "mobilenet"; choose one of mobilenet_v2, inception_v3/);
  await assert.rejects(buildBackbone("nsfwjs:mobilenet_v2_mid", 2), /mobilenet_v2_mid is a TensorFlow.js graph model.*cannot be fine-tuned; choose one of mobilenet_v2, inception_v3/);
  await assert.rejects(buildBackbone("vgg16", 2), /neither an architecture .*, a pretrained nsfwjs backbone \(nsfwjs:mobilenet_v2, nsfwjs:inception_v3\) nor a Keras model folder/);
  await assert.rejects(buildBackbone("nsfwjs:inception_v3", 2, { inputSize: 64 }), /inputSize must be a whole number of at least 75 pixels, got 64/);
});

test("provenance: the package, its version and lock-file integrity, and the sha256 of the weights loaded", async () => {
  for (const name of ["mobilenet_v2", "inception_v3"] as const) {
    const provenance = await nsfwjsProvenance(name);
    assert.equal(provenance.source, `npm:nsfwjs@4.4.0/${name}`);
    assert.equal(provenance.version, "4.4.0");
    assert.match(provenance.integrity ?? "", /^sha512-[A-Za-z0-9+/]+=*$/);
    const hash = createHash("sha256");
    for (const [, file] of await shardFiles(name)) hash.update(Buffer.from(require(file) as string, "base64"));
    assert.equal(provenance.weightsSha256, hash.digest("hex"));
  }
  const { model, provenance } = await loadNsfwjsBackbone("mobilenet_v2", { numClasses: 2, inputSize: 32 });
  assert.deepEqual(provenance, await nsfwjsProvenance("mobilenet_v2"));
  model.dispose();
});
