import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import {
  ARCHITECTURES,
  BatchNorm,
  GroupedConv2D,
  blockPaths,
  buildBackbone,
  buildModel,
  freezeBefore,
  getWeights,
  loadModel,
  mobilenetV2,
  parameterCount,
  parameterGroups,
  replaceHead,
  saveModel,
  setWeights,
  trainableSummary,
  type Architecture,
} from "../lib/models";
import { exportTorchModel, torchJson, torchMissing, torchToWeights } from "./helpers/torch-reference";

/** torchvision's `sum(p.numel() for p in model.parameters())` with 1000 classes. */
const TORCHVISION_PARAMS: Record<Architecture, number> = {
  resnet18: 11_689_512,
  resnet34: 21_797_672,
  resnet50: 25_557_032,
  resnet101: 44_549_160,
  resnext50_32x4d: 25_028_904,
  resnext101_32x8d: 88_791_336,
  mobilenet_v2: 3_504_872,
};
/** layer3[18:] + layer4 + fc (2048 -> 42) of resnext101_32x8d, the seed's trainable part. */
const SEED_TRAINABLE_PARAMS = 40_822_826;

// The Python oracle starts now and runs while the models below are built.
const torchCounts = torchMissing ? undefined : torchJson<Record<string, number>>("counts");
torchCounts?.catch(() => undefined);

before(async () => {
  await tf.setBackend("cpu");
});

const built = new Map<Architecture, tf.LayersModel>();
/** One 32 px instance per architecture, shared by the tests that only read it. */
function model(name: Architecture): tf.LayersModel {
  if (!built.has(name)) built.set(name, buildModel(name, { inputSize: 32 }));
  return built.get(name)!;
}
after(() => built.forEach((m) => m.dispose()));

function layerOf<T>(m: tf.LayersModel, name: string, cls: abstract new (...args: never[]) => T): T {
  const layer = m.getLayer(name);
  assert.ok(layer instanceof cls, `${name} is a ${layer.getClassName()}`);
  return layer;
}

function kernelShape(m: tf.LayersModel, name: string): number[] {
  return m.getLayer(name).getWeights()[0].shape;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-models-"));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test("layers are named by torchvision module path", () => {
  const resnext = model("resnext101_32x8d");
  const conv = layerOf(resnext, "layer3.18.conv2", GroupedConv2D);
  assert.equal(conv.groups, 32);
  assert.deepEqual(kernelShape(resnext, "layer3.18.conv2"), [3, 3, 32, 1024]);
  layerOf(resnext, "layer3.18.bn2", BatchNorm);
  assert.deepEqual(kernelShape(resnext, "fc"), [2048, 1000]);

  const r50 = model("resnet50");
  assert.deepEqual(kernelShape(r50, "layer2.0.downsample.0"), [1, 1, 256, 512]);
  layerOf(r50, "layer2.0.downsample.1", BatchNorm);
  assert.throws(() => r50.getLayer("layer2.1.downsample.0"));
  assert.ok(r50.getLayer("layer1.0.relu") && r50.getLayer("layer1.0.add") && r50.getLayer("maxpool.pad"));

  const mobile = model("mobilenet_v2");
  assert.deepEqual(kernelShape(mobile, "features.17.conv.2"), [1, 1, 960, 320]);
  layerOf(mobile, "features.17.conv.3", BatchNorm);
  assert.equal(layerOf(mobile, "features.1.conv.0.0", GroupedConv2D).groups, 32);
  assert.deepEqual(kernelShape(mobile, "features.2.conv.0.0"), [1, 1, 16, 96]);
  assert.deepEqual(kernelShape(mobile, "features.18.0"), [1, 1, 320, 1280]);
  assert.deepEqual(kernelShape(mobile, "classifier.1"), [1280, 1000]);

  const r18 = model("resnet18");
  const stages = (n: number[]) => n.flatMap((count, s) => Array.from({ length: count }, (_, i) => `layer${s + 1}.${i}`));
  assert.deepEqual(blockPaths(r18), ["conv1", "bn1", ...stages([2, 2, 2, 2]), "fc"]);
  assert.deepEqual(blockPaths(mobile), [...Array.from({ length: 19 }, (_, i) => `features.${i}`), "classifier"]);
});

test("parameter counts equal torchvision's", async () => {
  for (const name of ARCHITECTURES) {
    const m = built.get(name) ?? buildModel(name, { inputSize: 32 });
    assert.equal(parameterCount(m), TORCHVISION_PARAMS[name], name);
    if (!built.has(name)) m.dispose();
  }
  if (torchCounts) {
    const fromTorch = await torchCounts;
    for (const name of ARCHITECTURES) assert.equal(fromTorch[name], TORCHVISION_PARAMS[name], `torchvision ${name}`);
    assert.equal(fromTorch.seed_trainable, SEED_TRAINABLE_PARAMS);
  }
});

test("output shapes, with and without the top", () => {
  const x = tf.zeros([2, 32, 32, 3]);
  for (const [name, features] of [["resnet18", 512], ["resnet50", 2048], ["mobilenet_v2", 1280]] as const) {
    const full = model(name).predict(x) as tf.Tensor;
    assert.deepEqual(full.shape, [2, 1000], name);
    const headless = buildModel(name, { inputSize: 32, includeTop: false });
    assert.deepEqual((headless.predict(x) as tf.Tensor).shape, [2, features], `${name} without top`);
    headless.dispose();
  }
  const narrow = mobilenetV2({ widthMultiplier: 0.5, numClasses: 7, inputSize: 32 });
  assert.deepEqual((narrow.predict(x) as tf.Tensor).shape, [2, 7]);
  assert.deepEqual(kernelShape(narrow, "features.0.0"), [3, 3, 3, 16]);
});

for (const [arch, size] of [["resnet18", 64], ["mobilenet_v2", 64], ["resnext50_32x4d", 32]] as const) {
  test(`${arch} gives PyTorch's logits with the same weights`, { skip: torchMissing }, async (t) => {
    const { tensors } = await exportTorchModel(arch, size, 10);
    const m = buildModel(arch, { inputSize: size, numClasses: 10 });
    t.after(() => m.dispose());
    setWeights(m, torchToWeights(m, tensors));
    const input = tensors.get("input")!;
    const expected = tensors.get("logits")!.values;
    const logits = (m.predict(tf.tensor(input.values, input.shape)) as tf.Tensor).dataSync();
    const diff = maxAbsDiff(logits, expected);
    const scale = maxAbsDiff(expected, new Float32Array(expected.length));
    t.diagnostic(`max |logit difference| ${diff.toExponential(2)} (largest |logit| ${scale.toFixed(3)})`);
    assert.ok(diff < 1e-4 && diff < 1e-5 * scale, `max difference ${diff}, largest logit ${scale}`);
  });
}

/** A grouped convolution as one ordinary convolution with a block-diagonal kernel. */
function blockDiagonalConv(x: tf.Tensor4D, kernel: tf.Tensor4D, groups: number, conv: GroupedConv2D): tf.Tensor4D {
  const inChannels = x.shape[3];
  const inPerGroup = inChannels / groups;
  // (tfjs cannot differentiate a split into one part, so groups = 1 takes the kernel as it is.)
  const blocks = groups === 1 ? [kernel] : tf.split(kernel, groups, 3).map((block, g) =>
    tf.pad(block, [[0, 0], [0, 0], [g * inPerGroup, inChannels - (g + 1) * inPerGroup], [0, 0]]),
  );
  return tf.conv2d(x, tf.concat(blocks, 3) as tf.Tensor4D, conv.strides, conv.padding, "NHWC", conv.dilationRate);
}

test("GroupedConv2D equals a per-group convolution, gradients included", () => {
  const cases = [
    { inChannels: 8, filters: 12, groups: 4, kernelSize: 3, strides: 2, padding: "same", dilationRate: 1 },
    { inChannels: 8, filters: 16, groups: 8, kernelSize: 3, strides: 1, padding: "valid", dilationRate: 2 },
    { inChannels: 6, filters: 6, groups: 6, kernelSize: 3, strides: 2, padding: "valid", dilationRate: 1 },
    { inChannels: 4, filters: 6, groups: 1, kernelSize: 1, strides: 1, padding: "valid", dilationRate: 1 },
  ] as const;
  for (const { inChannels, ...args } of cases) {
    const label = JSON.stringify(args);
    const conv = new GroupedConv2D({ ...args, useBias: false });
    const x = tf.variable(tf.randomNormal([2, 9, 9, inChannels]) as tf.Tensor4D);
    const y = conv.apply(x) as tf.Tensor4D;
    const kernel = conv.getWeights()[0] as tf.Tensor4D;
    assert.deepEqual(kernel.shape, [args.kernelSize, args.kernelSize, inChannels / args.groups, args.filters]);
    const reference = blockDiagonalConv(x, kernel, args.groups, conv);
    assert.deepEqual(y.shape, reference.shape, label);
    assert.deepEqual(conv.computeOutputShape([null, 9, 9, inChannels]), [null, ...reference.shape.slice(1)], label);
    assert.ok(maxAbsDiff(y.dataSync(), reference.dataSync()) < 1e-5, `${label} forward`);

    if (args.dilationRate > 1) continue; // tfjs has no gradients for dilated convolutions
    const weights = tf.randomNormal(reference.shape);
    const kernelVariable = conv.weights[0].read() as tf.Variable;
    const grouped = tf.variableGrads(() => tf.sum(tf.mul(conv.apply(x) as tf.Tensor, weights)) as tf.Scalar, [x, kernelVariable]);
    const expected = tf.grads((input: tf.Tensor, k: tf.Tensor) => tf.sum(tf.mul(blockDiagonalConv(input as tf.Tensor4D, k as tf.Tensor4D, args.groups, conv), weights)));
    const [dx, dk] = expected([x, kernelVariable]);
    assert.ok(maxAbsDiff(grouped.grads[x.name].dataSync(), dx.dataSync()) < 1e-4, `${label} input gradient`);
    assert.ok(maxAbsDiff(grouped.grads[kernelVariable.name].dataSync(), dk.dataSync()) < 1e-4, `${label} kernel gradient`);
  }
});

function batchNormOn(x: tf.Tensor): BatchNorm {
  const bn = new BatchNorm({});
  bn.apply(x);
  return bn;
}

function movingStatistics(bn: BatchNorm): { mean: number[]; variance: number[] } {
  const [, , mean, variance] = bn.getWeights();
  return { mean: Array.from(mean.dataSync()), variance: Array.from(variance.dataSync()) };
}

test("a frozen BatchNorm runs in inference mode even when training", () => {
  const x = tf.randomNormal([2, 3, 3, 4], 2, 3);
  const bn = batchNormOn(x);
  const [gamma, beta] = bn.getWeights();
  bn.setWeights([gamma, beta, tf.fill([4], 0.5), tf.fill([4], 2)]);
  bn.trainable = false;
  const before = movingStatistics(bn);
  const training = bn.apply(x, { training: true }) as tf.Tensor;
  const inference = bn.apply(x, { training: false }) as tf.Tensor;
  assert.deepEqual(movingStatistics(bn), before);
  assert.deepEqual(training.dataSync(), inference.dataSync());
  assert.equal(bn.trainableWeights.length, 0);
});

test("a trainable BatchNorm normalises by the batch and moves its statistics with PyTorch's momentum", () => {
  const x = tf.randomNormal([2, 3, 3, 4], 2, 3);
  const bn = batchNormOn(x);
  assert.equal(bn.epsilon, 1e-5);
  const y = bn.apply(x, { training: true }) as tf.Tensor;
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const n = 2 * 3 * 3;
  const expectedMean = Array.from(mean.dataSync(), (m) => 0.9 * 0 + 0.1 * m);
  const expectedVariance = Array.from(variance.dataSync(), (v) => 0.9 * 1 + 0.1 * v * (n / (n - 1)));
  const moved = movingStatistics(bn);
  assert.ok(maxAbsDiff(moved.mean, expectedMean) < 1e-5);
  assert.ok(maxAbsDiff(moved.variance, expectedVariance) < 1e-5);
  const normalised = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
  assert.ok(maxAbsDiff(y.dataSync(), normalised.dataSync()) < 1e-4);
});

test("BatchNorm matches torch.nn.BatchNorm2d in training mode", { skip: torchMissing }, async () => {
  const torch = await torchJson<{ input: number[]; output: number[]; running_mean: number[]; running_var: number[] }>("batchnorm");
  const x = tf.tensor(torch.input, [2, 4, 5, 3]);
  const bn = batchNormOn(x);
  const y = bn.apply(x, { training: true }) as tf.Tensor;
  assert.ok(maxAbsDiff(y.dataSync(), torch.output) < 1e-5);
  const moved = movingStatistics(bn);
  assert.ok(maxAbsDiff(moved.mean, torch.running_mean) < 1e-6);
  assert.ok(maxAbsDiff(moved.variance, torch.running_var) < 1e-6);
});

test("the seed's setup: resnext101_32x8d with a 42-class fc, frozen before layer3.18, three parameter groups", () => {
  const seeded = replaceHead(model("resnext101_32x8d"), 42);
  freezeBefore(seeded, "layer3.18");
  const groups = parameterGroups(seeded, { "layer3.18:": { lr: 5e-5 }, layer4: { lr: 5e-5 }, fc: { lr: 5e-4 } });
  assert.deepEqual(groups.map((g) => [g.name, g.options.lr]), [["layer3.18:", 5e-5], ["layer4", 5e-5], ["fc", 5e-4]]);
  const names = (variables: tf.LayerVariable[]) => variables.map((v) => v.originalName);
  const grouped = groups.flatMap((g) => names(g.variables));
  assert.deepEqual([...grouped].sort(), names(seeded.trainableWeights).sort(), "the groups hold exactly the trainable variables");
  assert.equal(grouped.reduce((sum, name) => sum + seeded.weights.find((w) => w.originalName === name)!.read().size, 0), SEED_TRAINABLE_PARAMS);
  assert.equal(new Set(groups[0].variables.map((v) => v.originalName.split(".").slice(0, 2).join("."))).size, 5);
  assert.deepEqual(names(groups[2].variables), ["fc/kernel", "fc/bias"]);

  assert.equal(seeded.getLayer("layer3.17.bn3").trainable, false);
  assert.equal(seeded.getLayer("layer3.18.bn1").trainable, true);
  assert.equal(seeded.getLayer("layer1.0.conv1").weights[0].trainable, false, "frozen variables are not trainable for optimizers either");
  const summary = new Map(trainableSummary(seeded).map((row) => [row.path, row]));
  assert.deepEqual([summary.get("conv1")?.trainable, summary.get("layer3.17")?.trainable, summary.get("layer3.18")?.trainable], ["no", "no", "yes"]);
  assert.deepEqual(summary.get("fc"), { path: "fc", params: 2048 * 42 + 42, trainableParams: 2048 * 42 + 42, trainable: "yes" });
});

test("path specs: slices, prefixes, modules, and clear errors", () => {
  const r50 = model("resnet50");
  const blocksOf = (spec: string) => [...new Set(parameterGroups(r50, { [spec]: null })[0].variables.map((v) => v.originalName.split(".").slice(0, 2).join(".")))];
  assert.deepEqual(blocksOf("layer3.-2:"), ["layer3.4", "layer3.5"]);
  assert.deepEqual(blocksOf("layer3.1:3"), ["layer3.1", "layer3.2"]);
  assert.deepEqual(blocksOf("layer3.:1"), ["layer3.0"]);
  assert.equal(parameterGroups(r50, { "layer4.0.conv2": null })[0].variables.length, 1);
  assert.throws(() => parameterGroups(r50, { "layer3.18:": null }), /"layer3.18:" selects no blocks; layer3 has layer3.0 ... layer3.5/);
  assert.throws(() => parameterGroups(r50, { layer9: null }), /unknown path "layer9" in resnet50 .*blocks are conv1, bn1, layer1.0, .*layer4.2, fc/);
  assert.throws(() => parameterGroups(r50, { "layer9.1:": null }), /unknown path "layer9.1:"/);
  assert.throws(() => parameterGroups(r50, { layer4: 1, "layer4.0": 2 }), /variable layer4.0.conv1\/kernel is in two parameter groups, "layer4" and "layer4.0"/);
  assert.throws(() => parameterGroups(r50, { relu: 1 }), /"relu" has no trainable variables/);
  assert.throws(() => freezeBefore(r50, "layer3.18"), /"layer3.18" is not a block of resnet50; blocks are conv1, bn1, layer1.0/);
});

test("training after freezeBefore changes only the unfrozen weights and BatchNorm statistics", () => {
  const m = mobilenetV2({ widthMultiplier: 0.35, numClasses: 3, inputSize: 32 });
  freezeBefore(m, "features.14");
  const groups = parameterGroups(m, { "features.14:": 1e-2, classifier: 1e-1 });
  const optimizers = groups.map((g) => tf.train.adam(g.options));
  const variablesOf = (g: (typeof groups)[number]) => g.variables.map((v) => v.read() as tf.Variable);
  const before = getWeights(m);
  const x = tf.randomNormal([2, 32, 32, 3]);
  const target = tf.oneHot([0, 2], 3);
  const { grads } = tf.variableGrads(
    () => tf.losses.softmaxCrossEntropy(target, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
    groups.flatMap(variablesOf),
  );
  groups.forEach((g, i) => optimizers[i].applyGradients(variablesOf(g).map((v) => ({ name: v.name, tensor: grads[v.name] }))));
  const after = getWeights(m);
  const changed = (name: string) => maxAbsDiff(before.get(name)!, after.get(name)!) > 0;
  for (const frozen of ["features.0.0/kernel", "features.13.conv.1.1/gamma", "features.13.conv.1.1/moving_mean", "features.13.conv.1.1/moving_variance"]) {
    assert.equal(changed(frozen), false, `${frozen} should stay`);
  }
  for (const trained of ["features.14.conv.0.0/kernel", "features.14.conv.0.1/moving_mean", "features.18.1/gamma", "classifier.1/kernel"]) {
    assert.equal(changed(trained), true, `${trained} should change`);
  }
  m.dispose();
});

test("replaceHead swaps the final Linear and shares everything else", () => {
  const r18 = model("resnet18");
  const headed = replaceHead(r18, 42);
  assert.deepEqual((headed.predict(tf.zeros([2, 32, 32, 3])) as tf.Tensor).shape, [2, 42]);
  assert.equal(headed.name, "resnet18");
  assert.deepEqual(kernelShape(headed, "fc"), [512, 42]);
  assert.equal(headed.getLayer("layer4.1.conv2"), r18.getLayer("layer4.1.conv2"));
  assert.notEqual(headed.getLayer("fc"), r18.getLayer("fc"));
  const mobile = replaceHead(model("mobilenet_v2"), 5);
  assert.deepEqual(kernelShape(mobile, "classifier.1"), [1280, 5]);
  assert.ok(!mobile.layers.some((l) => l.getClassName() === "Dropout"), "the new head is one Linear: no unseeded dropout");
  const x = tf.randomNormal([2, 32, 32, 3]);
  const once = (mobile.apply(x, { training: true }) as tf.Tensor).dataSync();
  assert.deepEqual((mobile.apply(x, { training: true }) as tf.Tensor).dataSync(), once, "training-mode forward is repeatable");
  assert.throws(() => replaceHead(r18, 3, { name: "layer4.1.conv2" }), /layer4.1.conv2 does not produce the output of resnet18/);
  assert.throws(() => replaceHead(r18, 3, { name: "head" }), /resnet18 has no layer head; dense layers: fc/);
  const fresh = buildModel("resnet18", { inputSize: 32 });
  const tensors = tf.memory().numTensors;
  const replaced = replaceHead(fresh, 7, { disposeOld: true });
  assert.equal(tf.memory().numTensors, tensors, "disposeOld: the old fc's kernel and bias are freed as the new ones are made");
  replaced.dispose();
});

test("buildBackbone keeps no tensor but the model's own weights (the replaced 1000-class head is freed)", async () => {
  const before = tf.memory().numTensors;
  const backbone = await buildBackbone("mobilenet_v2", 5, { widthMultiplier: 0.35, inputSize: 32, seed: 1 });
  assert.equal(tf.memory().numTensors - before, backbone.weights.length);
  backbone.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("save and load round trip with custom layers, frozen flags included", async (t) => {
  const dir = tempDir(t);
  const checkpoint = path.join(dir, "best");
  const m = mobilenetV2({ widthMultiplier: 0.35, numClasses: 5, inputSize: 32 });
  freezeBefore(m, "features.10");
  const x = tf.randomNormal([2, 32, 32, 3]);
  m.apply(x, { training: true }); // moves the unfrozen BatchNorm statistics away from their defaults
  await saveModel(m, checkpoint);
  await saveModel(m, checkpoint); // replaces the previous checkpoint as a whole
  assert.deepEqual(fs.readdirSync(dir), ["best"]);
  assert.deepEqual(fs.readdirSync(checkpoint).sort(), ["model.json", "weights.bin"]);

  const loaded = await loadModel(checkpoint, { architecture: "mobilenet_v2" });
  assert.deepEqual((loaded.predict(x) as tf.Tensor).dataSync(), (m.predict(x) as tf.Tensor).dataSync());
  assert.equal(loaded.getLayer("features.3.conv.1.0").trainable, false);
  assert.equal(loaded.getLayer("features.3.conv.1.0").weights[0].trainable, false);
  assert.equal(loaded.getLayer("features.12.conv.1.1").trainable, true);
  assert.deepEqual(names(loaded.trainableWeights), names(m.trainableWeights));

  await assert.rejects(loadModel(checkpoint, { architecture: "resnext101_32x8d" }), /the checkpoint in .*best holds a mobilenet_v2, not the expected resnext101_32x8d/);
  await assert.rejects(loadModel(dir), /no model checkpoint in .*: model.json is missing/);
  fs.writeFileSync(path.join(checkpoint, "notes.txt"), "mine");
  await assert.rejects(saveModel(m, checkpoint), /not overwriting .*best: it holds other files than a checkpoint \(notes.txt\)/);

  const input = tf.input({ shape: [6, 6, 4] });
  const grouped = new GroupedConv2D({ name: "grouped", filters: 6, kernelSize: 3, groups: 2, strides: 2, padding: "same" }).apply(input);
  const tiny = tf.model({ inputs: input, outputs: new BatchNorm({ name: "bn" }).apply(grouped) as tf.SymbolicTensor, name: "tiny" });
  await saveModel(tiny, path.join(dir, "tiny"));
  const tinyLoaded = await loadModel(path.join(dir, "tiny"));
  assert.equal((tinyLoaded.getLayer("grouped") as GroupedConv2D).groups, 2);
  const z = tf.randomNormal([1, 6, 6, 4]);
  assert.deepEqual((tinyLoaded.predict(z) as tf.Tensor).dataSync(), (tiny.predict(z) as tf.Tensor).dataSync());
});

function names(variables: tf.LayerVariable[]): string[] {
  return variables.map((v) => v.originalName);
}

test("getWeights and setWeights snapshot and restore every weight by name", () => {
  const m = mobilenetV2({ widthMultiplier: 0.35, numClasses: 5, inputSize: 32 });
  const x = tf.randomNormal([2, 32, 32, 3]);
  const snapshot = getWeights(m);
  assert.ok(snapshot.has("features.1.conv.0.1/moving_variance"));
  const original = (m.predict(x) as tf.Tensor).dataSync();
  const zeroed = new Map(snapshot);
  zeroed.set("classifier.1/bias", new Float32Array(5).fill(1));
  setWeights(m, zeroed);
  assert.notDeepEqual((m.predict(x) as tf.Tensor).dataSync(), original);
  setWeights(m, snapshot);
  assert.deepEqual((m.predict(x) as tf.Tensor).dataSync(), original);

  assert.throws(() => setWeights(m, getWeights(model("resnet18"))), /the weights do not fit mobilenet_v2: \d+ missing \(features.0.0\/kernel, .*\d+ unexpected \(conv1\/kernel/);
  const otherHead = getWeights(mobilenetV2({ widthMultiplier: 0.35, numClasses: 6, inputSize: 32 }));
  assert.throws(() => setWeights(m, otherHead), /weight classifier.1\/kernel of mobilenet_v2 has shape \[1280,5\] but the snapshot has 7680 values/);
});

test("buildModel builds each architecture by name and rejects bad options", () => {
  assert.equal(buildModel("mobilenet_v2", { widthMultiplier: 0.5, inputSize: 32 }).name, "mobilenet_v2");
  assert.throws(() => buildModel("resnet18", { widthMultiplier: 0.5 }), /widthMultiplier applies to mobilenet_v2 only, not resnet18/);
  assert.throws(() => buildModel("vgg16" as Architecture), /unknown architecture "vgg16"; choose one of resnet18, .*mobilenet_v2/);
});
