// Keras-converted backbones: reduced keras.applications MobileNetV2 and ResNet50 built with the exact
// Keras layer names, written in the TensorFlow.js converter's on-disk format (model.json + several
// group1-shardNofM.bin files), then loaded with loadKerasModel.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { BatchNorm, blockOf, buildBackbone, blockPaths, freezeBefore, loadKerasModel, namingOf, parameterGroups, trainableSummary } from "../lib/models";

type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;
const conv = (x: Sym, name: string, filters: number, kernel: number, strides = 1, padding: "same" | "valid" = "same", useBias = false) =>
  apply(tf.layers.conv2d({ name, filters, kernelSize: kernel, strides, padding, useBias }), x);
const bn = (x: Sym, name: string, epsilon: number, momentum = 0.99) => apply(tf.layers.batchNormalization({ name, epsilon, momentum }), x);
const relu6 = (x: Sym, name: string) => apply(tf.layers.reLU({ name, maxValue: 6 }), x);
const relu = (x: Sym, name: string) => apply(tf.layers.activation({ name, activation: "relu" }), x);
const channels = (x: Sym) => x.shape[3] as number;

/** keras.applications.mobilenet_v2._inverted_res_block. */
function invertedResidual(x: Sym, blockId: number, filters: number, stride: number, expansion: number): Sym {
  const prefix = blockId === 0 ? "expanded_conv_" : `block_${blockId}_`;
  let out = x;
  if (blockId > 0) out = relu6(bn(conv(out, `${prefix}expand`, expansion * channels(x), 1), `${prefix}expand_BN`, 1e-3, 0.999), `${prefix}expand_relu`);
  if (stride === 2) out = apply(tf.layers.zeroPadding2d({ name: `${prefix}pad`, padding: [[0, 1], [0, 1]] }), out);
  const depthwise = tf.layers.depthwiseConv2d({ name: `${prefix}depthwise`, kernelSize: 3, strides: stride, padding: stride === 1 ? "same" : "valid", useBias: false });
  out = relu6(bn(apply(depthwise, out), `${prefix}depthwise_BN`, 1e-3, 0.999), `${prefix}depthwise_relu`);
  out = bn(conv(out, `${prefix}project`, filters, 1), `${prefix}project_BN`, 1e-3, 0.999);
  return channels(x) === filters && stride === 1 ? apply(tf.layers.add({ name: `${prefix}add` }), [x, out]) : out;
}

function kerasMobileNetV2(includeTop = true): tf.LayersModel {
  const input = tf.input({ shape: [16, 16, 3], name: "input_1" });
  let x = relu6(bn(conv(input, "Conv1", 8, 3, 2), "bn_Conv1", 1e-3, 0.999), "Conv1_relu");
  x = invertedResidual(x, 0, 4, 1, 1);
  x = invertedResidual(x, 1, 6, 2, 6);
  x = invertedResidual(x, 2, 6, 1, 6);
  x = invertedResidual(x, 3, 8, 1, 6);
  x = relu6(bn(conv(x, "Conv_1", 16, 1), "Conv_1_bn", 1e-3, 0.999), "out_relu");
  if (includeTop) {
    x = apply(tf.layers.globalAveragePooling2d({ name: "global_average_pooling2d" }), x);
    x = apply(tf.layers.dense({ name: "predictions", units: 5, activation: "softmax" }), x);
  }
  return tf.model({ inputs: input, outputs: x, name: "mobilenetv2_0.35_16" });
}

/** keras.applications.resnet.block1 (conv_shortcut for the first block of a stack). */
function bottleneck(x: Sym, name: string, filters: number, stride: number, shortcutConv: boolean): Sym {
  const bnEps = 1.001e-5;
  const shortcut = shortcutConv ? bn(conv(x, `${name}_0_conv`, 4 * filters, 1, stride, "valid", true), `${name}_0_bn`, bnEps) : x;
  let out = relu(bn(conv(x, `${name}_1_conv`, filters, 1, stride, "valid", true), `${name}_1_bn`, bnEps), `${name}_1_relu`);
  out = relu(bn(conv(out, `${name}_2_conv`, filters, 3, 1, "same", true), `${name}_2_bn`, bnEps), `${name}_2_relu`);
  out = bn(conv(out, `${name}_3_conv`, 4 * filters, 1, 1, "valid", true), `${name}_3_bn`, bnEps);
  return relu(apply(tf.layers.add({ name: `${name}_add` }), [shortcut, out]), `${name}_out`);
}

function kerasResNet50(): tf.LayersModel {
  const input = tf.input({ shape: [16, 16, 3], name: "input_1" });
  let x = apply(tf.layers.zeroPadding2d({ name: "conv1_pad", padding: 3 }), input);
  x = relu(bn(conv(x, "conv1_conv", 4, 7, 2, "valid", true), "conv1_bn", 1.001e-5), "conv1_relu");
  x = apply(tf.layers.zeroPadding2d({ name: "pool1_pad", padding: 1 }), x);
  x = apply(tf.layers.maxPooling2d({ name: "pool1_pool", poolSize: 3, strides: 2 }), x);
  for (const [stage, filters, stride] of [[2, 2, 1], [3, 4, 2]] as const) {
    for (const block of [1, 2]) x = bottleneck(x, `conv${stage}_block${block}`, filters, block === 1 ? stride : 1, block === 1);
  }
  x = apply(tf.layers.globalAveragePooling2d({ name: "avg_pool" }), x);
  x = apply(tf.layers.dense({ name: "predictions", units: 5, activation: "softmax" }), x);
  return tf.model({ inputs: input, outputs: x, name: "resnet50" });
}

/** Non-trivial weights everywhere, positive for variances, so that a mix-up shows in the outputs. */
function randomizeWeights(model: tf.LayersModel): void {
  for (const variable of model.weights) {
    const positive = variable.originalName.endsWith("moving_variance");
    variable.write(tf.randomUniform(variable.shape as number[], positive ? 0.5 : -0.5, positive ? 1.5 : 0.5, "float32", 7));
  }
}

/** What `tensorflowjs_converter --input_format keras` writes: the weight bytes split across `shards` files. */
async function saveAsConverted(model: tf.LayersModel, dir: string, shards = 3): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const bytes = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      const shardSize = Math.ceil(bytes.length / shards);
      const paths = Array.from({ length: shards }, (_, i) => `group1-shard${i + 1}of${shards}.bin`);
      fs.mkdirSync(dir, { recursive: true });
      paths.forEach((file, i) => fs.writeFileSync(path.join(dir, file), bytes.subarray(i * shardSize, (i + 1) * shardSize)));
      const topology = artifacts.modelTopology as { class_name: string };
      const modelJson = {
        format: "layers-model",
        generatedBy: "keras v2.15.0",
        convertedBy: "TensorFlow.js Converter v4.22.0",
        modelTopology: { keras_version: "2.15.0", backend: "tensorflow", model_config: { ...topology, class_name: "Functional" } },
        weightsManifest: [{ paths, weights: artifacts.weightSpecs }],
      };
      fs.writeFileSync(path.join(dir, "model.json"), JSON.stringify(modelJson));
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

async function converted(build: () => tf.LayersModel): Promise<{ original: tf.LayersModel; dir: string }> {
  await tf.setBackend("cpu");
  const original = build();
  randomizeWeights(original);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "keras-model-"));
  await saveAsConverted(original, dir);
  return { original, dir };
}

const images = () => tf.randomUniform([2, 16, 16, 3], 0, 1, "float32", 3);

function assertClose(actual: tf.Tensor, expected: tf.Tensor): void {
  assert.deepEqual(actual.shape, expected.shape);
  const difference = tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0];
  assert.ok(difference < 1e-5, `outputs differ by ${difference}`);
}

/** The blocks whose variables a parameter-group spec selects. */
function blocksOf(model: tf.LayersModel, spec: string): string[] {
  const [group] = parameterGroups(model, { [spec]: null });
  return [...new Set(group.variables.map((v) => blockOf(v.originalName.split("/")[0], namingOf(model))))];
}

const MOBILENET_BLOCKS = ["Conv1", "block.0", "block.1", "block.2", "block.3", "Conv_1", "predictions"];

test("a converted Keras MobileNetV2 loads from its shards with the same outputs and block paths", async () => {
  const { original, dir } = await converted(() => kerasMobileNetV2());
  assert.ok(fs.readdirSync(dir).includes("group1-shard3of3.bin"));
  const model = await loadKerasModel(dir);
  assertClose(model.predict(images()) as tf.Tensor, original.predict(images()) as tf.Tensor);
  assert.deepEqual(blockPaths(model), MOBILENET_BLOCKS);
  assert.ok(model.getLayer("bn_Conv1") instanceof BatchNorm);
  assertClose(await loadKerasModel(path.join(dir, "model.json")).then((m) => m.predict(images()) as tf.Tensor), original.predict(images()) as tf.Tensor);
});

test("freezeBefore on a Keras MobileNetV2 freezes exactly the earlier blocks, BatchNorm included", async () => {
  const { dir } = await converted(() => kerasMobileNetV2());
  const model = await loadKerasModel(dir);
  freezeBefore(model, "block.2");
  const frozenPrefix = /^(Conv1|bn_Conv1|expanded_conv_|block_1_)/;
  for (const layer of model.layers.filter((l) => l.weights.length > 0)) {
    assert.equal(layer.trainable, !frozenPrefix.test(layer.name), layer.name);
  }
  assert.ok(!model.trainableWeights.some((v) => frozenPrefix.test(v.originalName)));
  assert.ok(model.trainableWeights.some((v) => v.originalName === "block_2_expand_BN/gamma"));
  assert.deepEqual(
    trainableSummary(model).map((row) => row.trainable),
    ["no", "no", "no", "yes", "yes", "yes", "yes"],
  );

  // Frozen BatchNorm normalises with its moving statistics even in a training step.
  freezeBefore(model, "predictions");
  const x = images();
  assertClose(model.apply(x, { training: true }) as tf.Tensor, model.predict(x) as tf.Tensor);
});

test("parameter groups address a Keras MobileNetV2 by block paths", async () => {
  const { dir } = await converted(() => kerasMobileNetV2());
  const model = await loadKerasModel(dir);
  freezeBefore(model, "block.2");
  const groups = parameterGroups(model, { "block.2:": 1e-3, Conv_1: 1e-2, predictions: 1e-1 });
  const layersOf = (i: number) => [...new Set(groups[i].variables.map((v) => v.originalName.split("/")[0]))];
  assert.ok(layersOf(0).every((name) => /^block_[23]_/.test(name)));
  assert.ok(layersOf(0).includes("block_2_project_BN") && layersOf(0).includes("block_3_depthwise"));
  assert.deepEqual(layersOf(1), ["Conv_1", "Conv_1_bn"]);
  assert.deepEqual(layersOf(2), ["predictions"]);
  assert.equal(groups.reduce((sum, group) => sum + group.variables.length, 0), model.trainableWeights.length);
  assert.deepEqual(blocksOf(model, "block.-2:"), ["block.2", "block.3"]);
  assert.equal(parameterGroups(model, { "block.3.expand": 0 })[0].variables.length, 1);
  assert.equal(parameterGroups(model, { block_3_expand_BN: 0 })[0].variables.length, 2);
  assert.throws(() => parameterGroups(model, { "block.9:": 0 }), /"block.9:" selects no blocks; block has block.0 ... block.3/);
  assert.throws(() => parameterGroups(model, { stem: 0 }), /unknown path "stem" .*e\.g\. block\.14\.expand/);
});

test("a converted Keras ResNet50 keeps Keras' block numbers from 1 in its paths", async () => {
  const { original, dir } = await converted(kerasResNet50);
  const model = await loadKerasModel(dir);
  assertClose(model.predict(images()) as tf.Tensor, original.predict(images()) as tf.Tensor);
  assert.deepEqual(blockPaths(model), ["conv1", "conv2.1", "conv2.2", "conv3.1", "conv3.2", "predictions"]);
  freezeBefore(model, "conv3.1");
  assert.equal(model.getLayer("conv2_block2_3_bn").trainable, false);
  assert.equal(model.getLayer("conv3_block1_0_bn").trainable, true);
  assert.deepEqual(blocksOf(model, "conv3.2:"), ["conv3.2"]);
  assert.deepEqual(blocksOf(model, "conv3.1:2"), ["conv3.1"]);
  assert.deepEqual(blocksOf(model, "conv3"), ["conv3.1", "conv3.2"]);
  assert.deepEqual(blocksOf(model, "conv3.-1:"), ["conv3.2"]);
  assert.equal(parameterGroups(model, { "conv3.1.0_conv": 0 })[0].variables.length, 2);
});

test("numClasses replaces the Keras predictions head; includeTop: false ends at the pooled features", async () => {
  const { original, dir } = await converted(() => kerasMobileNetV2());
  const model = await loadKerasModel(dir, { numClasses: 3 });
  assert.deepEqual(model.outputs[0].shape, [null, 3]);
  const head = model.getLayer("predictions");
  assert.equal(head.getClassName(), "Dense");
  assert.equal((head.getConfig() as { activation: string }).activation, "linear");
  assert.equal(blockPaths(model).at(-1), "predictions");

  const features = await loadKerasModel(dir, { includeTop: false });
  const pooled = tf.model({ inputs: original.inputs, outputs: original.getLayer("global_average_pooling2d").output as Sym });
  assertClose(features.predict(images()) as tf.Tensor, pooled.predict(images()) as tf.Tensor);
  await assert.rejects(loadKerasModel(dir, { numClasses: 3, includeTop: false }), /cannot go with includeTop: false/);

  const headless = await converted(() => kerasMobileNetV2(false));
  const added = await loadKerasModel(headless.dir, { numClasses: 4 });
  assert.deepEqual(added.outputs[0].shape, [null, 4]);
  assert.deepEqual(blockPaths(added), MOBILENET_BLOCKS);
});

test("loadKerasModel names a missing shard, refuses graph models and unknown layer names", async () => {
  const { dir } = await converted(() => kerasMobileNetV2());
  fs.rmSync(path.join(dir, "group1-shard2of3.bin"));
  await assert.rejects(loadKerasModel(dir), /weight shard .*group1-shard2of3\.bin is missing \(the model needs 3 shards\)/);

  const graphDir = fs.mkdtempSync(path.join(os.tmpdir(), "graph-model-"));
  const graphJson = { format: "graph-model", modelTopology: { node: [], versions: { producer: 1 } }, weightsManifest: [] };
  fs.writeFileSync(path.join(graphDir, "model.json"), JSON.stringify(graphJson));
  await assert.rejects(loadKerasModel(graphDir), /graph model.*cannot be fine-tuned.*--input_format keras/);

  await assert.rejects(loadKerasModel(path.join(graphDir, "absent")), /no converted Keras model at .*model\.json/);

  const unknown = await converted(() => {
    const input = tf.input({ shape: [16, 16, 3], name: "pixels" });
    const x = apply(tf.layers.globalAveragePooling2d({ name: "pool" }), conv(input, "stem", 4, 3));
    return tf.model({ inputs: input, outputs: apply(tf.layers.dense({ name: "logits", units: 2 }), x) });
  });
  await assert.rejects(loadKerasModel(unknown.dir), /layer names \(pixels, stem, pool, logits, \.\.\.\) follow no supported Keras naming scheme: keras-mobilenetv2 .* or keras-resnet/);
});

test("buildBackbone takes an architecture name or a Keras-converted model folder", async () => {
  const { dir } = await converted(() => kerasMobileNetV2());
  const keras = await buildBackbone(dir, 4);
  assert.deepEqual(keras.outputs[0].shape, [null, 4]);
  assert.ok(blockPaths(keras).includes("block.1"));
  const ours = await buildBackbone("resnet18", 6, { inputSize: 32 });
  assert.deepEqual(ours.outputs[0].shape, [null, 6]);
  await assert.rejects(buildBackbone("resnet19", 3), /neither an architecture .* nor a Keras model folder/);
});
