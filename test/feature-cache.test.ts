import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import { ImageBatches, type BatchImage, type ImageBatchOptions } from "../lib/data";
import { buildBackbone, buildModel, freezeBefore, replaceHead, splitAtFreezePoint } from "../lib/models";
import { cachedFeatureSource, extractFeatures, groupsByPath, Learner, type BatchSource, type FeatureSourceOptions } from "../lib/train";
import { weightsOf } from "./helpers/tiny-training";

const SIZE = 32;
const MOBILE = { widthMultiplier: 0.35, inputSize: SIZE };

before(async () => {
  await selectBackend("wasm", () => undefined);
});

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "charid-features-"));
}

/** Noisy JPEGs whose dominant colour is the class, 3 classes. */
async function writeImages(dir: string, count: number): Promise<BatchImage[]> {
  const items: BatchImage[] = [];
  for (let i = 0; i < count; i++) {
    const label = i % 3;
    const width = 40 + (i % 4) * 3;
    const height = 36 + (i % 5) * 2;
    const pixels = Buffer.alloc(width * height * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (p % 3 === label ? 150 : 40) + ((p * 7919 + i * 104729) % 90);
    const file = path.join(dir, `img${i}.jpg`);
    await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
    items.push({ file, label });
  }
  return items;
}

function imageSource(items: BatchImage[], options: Omit<ImageBatchOptions, "epoch">): BatchSource {
  return { size: items.length, batches: (epoch) => new ImageBatches(items, { ...options, epoch }) };
}

function maxDifference(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let worst = 0;
  for (const [name, values] of a) {
    const other = b.get(name)!;
    for (let i = 0; i < values.length; i++) worst = Math.max(worst, Math.abs(values[i] - other[i]));
  }
  return worst;
}

test("the top applied to the trunk's output is the whole model, at any freeze point, in both modes", () => {
  const cases: [string, tf.LayersModel, string, string][] = [
    ["mobilenet_v2", replaceHead(buildModel("mobilenet_v2", { ...MOBILE, seed: 1 }), 4, { seed: 2 }), "features.14", "features.13.add"],
    ["mobilenet_v2", replaceHead(buildModel("mobilenet_v2", { ...MOBILE, seed: 1 }), 4, { seed: 2 }), "classifier", "avgpool"],
    ["resnet18", replaceHead(buildModel("resnet18", { inputSize: SIZE, seed: 1 }), 4, { seed: 2 }), "layer3.0", "layer2.1.relu"],
    ["resnext50_32x4d", replaceHead(buildModel("resnext50_32x4d", { inputSize: SIZE, seed: 1 }), 4, { seed: 2 }), "layer4.1", "layer4.0.relu"],
  ];
  const x = tf.randomNormal([3, SIZE, SIZE, 3], 0, 1, "float32", 7);
  for (const [arch, model, point, cut] of cases) {
    freezeBefore(model, point);
    const split = splitAtFreezePoint(model)!;
    assert.equal(split.cut, cut, `${arch} at ${point}`);
    assert.ok(split.top.trainableWeights.length > 0 && split.trunk.trainableWeights.length === 0);
    const own = new Set(model.layers);
    assert.ok(split.top.layers.filter((layer) => layer.name !== "features").every((layer) => own.has(layer)), "the top trains the model's own layers");
    for (const training of [false, true]) {
      const whole = model.apply(x, { training }) as tf.Tensor;
      const parts = split.top.apply(split.trunk.apply(x, { training: false }), { training }) as tf.Tensor;
      assert.equal(tf.max(tf.abs(tf.sub(whole, parts))).dataSync()[0], 0, `${arch} at ${point}, training ${training}`);
    }
  }
  const unfrozen = replaceHead(buildModel("resnet18", { inputSize: SIZE }), 4);
  assert.equal(splitAtFreezePoint(unfrozen), undefined, "nothing frozen: nothing to cache");
  for (const layer of unfrozen.layers) layer.trainable = false;
  assert.throws(() => splitAtFreezePoint(unfrozen), /every layer of resnet18 is frozen/);
});

test("the same init seed builds the same weights; another seed does not", () => {
  const a = weightsOf(buildModel("resnet18", { inputSize: SIZE, seed: 3 }));
  const b = weightsOf(buildModel("resnet18", { inputSize: SIZE, seed: 3 }));
  const c = weightsOf(buildModel("resnet18", { inputSize: SIZE, seed: 4 }));
  assert.equal(maxDifference(a, b), 0);
  assert.ok(maxDifference(a, c) > 0.01);
});

test("training on cached features gives the weights training on images gives (brightness on, K draws)", async () => {
  const dir = tempDir();
  const items = await writeImages(dir, 14);
  fs.writeFileSync(path.join(dir, "broken.jpg"), "<html>not an image</html>");
  items.splice(5, 0, { file: path.join(dir, "broken.jpg"), label: 1 });
  const options = { size: SIZE, batchSize: 4, shuffle: true, seed: 3, augment: { brightness: 0.3 } };
  const rates = { "features.15:": 0.01, classifier: 0.02 };
  const train = async (cached: boolean) => {
    const model = await buildBackbone("mobilenet_v2", 3, { ...MOBILE, seed: 5 });
    freezeBefore(model, "features.15");
    const split = splitAtFreezePoint(model)!;
    const source = cached
      ? await cachedFeatureSource(split.trunk, items, { ...options, dir: path.join(dir, "cache"), draws: 3, label: "train" })
      : imageSource(items, { ...options, warn: () => undefined });
    const learner = new Learner({ model, top: split.top, groups: groupsByPath(model, rates), train: source, classes: ["a", "b", "c"] });
    const initial = weightsOf(model);
    const history = await learner.fit(3);
    return { weights: weightsOf(model), moved: maxDifference(initial, weightsOf(model)), losses: history.map((r) => r.trainLoss) };
  };
  const direct = await train(false);
  const cached = await train(true);
  assert.ok(maxDifference(direct.weights, cached.weights) < 1e-5, `weights differ by ${maxDifference(direct.weights, cached.weights)}`);
  direct.losses.forEach((loss, i) => assert.ok(Math.abs(loss - cached.losses[i]) < 1e-5, `epoch ${i + 1}: ${loss} vs ${cached.losses[i]}`));
  assert.ok(direct.moved > 1e-3 && cached.moved > 1e-3, "training moved the weights");
});

test("the cache is reused from disk and invalidated by weights, freeze point, preprocessing, augmentation and files", async () => {
  const dir = tempDir();
  const cacheDir = path.join(dir, "cache");
  const items = await writeImages(dir, 6);
  const make = async (seed: number, point: string) => {
    const model = await buildBackbone("mobilenet_v2", 3, { ...MOBILE, seed });
    freezeBefore(model, point);
    return splitAtFreezePoint(model)!.trunk;
  };
  const trunk = await make(1, "features.16");
  const base: FeatureSourceOptions = { dir: cacheDir, size: SIZE, batchSize: 4, seed: 2 };
  const first = await cachedFeatureSource(trunk, items, base);
  assert.equal(first.sets[0].fromDisk, false);
  const again = await cachedFeatureSource(trunk, items, base);
  assert.equal(again.sets[0].fromDisk, true);
  assert.equal(again.extractSeconds, 0);
  assert.deepEqual(again.sets[0].data, first.sets[0].data);
  assert.equal(again.sets[0].key, first.sets[0].key);

  const keyOf = async (t: tf.LayersModel, options: FeatureSourceOptions, list = items) => {
    const source = await cachedFeatureSource(t, list, options);
    return source.sets.map((s) => `${s.key}:${s.fromDisk}`);
  };
  const changed = [
    await keyOf(await make(2, "features.16"), base), // other weights
    await keyOf(await make(1, "features.17"), base), // other freeze point
    await keyOf(trunk, { ...base, size: SIZE + 8 }), // other preprocessing
    await keyOf(trunk, { ...base, augment: { brightness: 0.1 } }),
    await keyOf(trunk, { ...base, augment: { brightness: 0.2 } }),
  ];
  for (const keys of changed) assert.deepEqual(keys.map((k) => k.split(":")[1]), ["false"], "a change misses the cache");
  assert.equal(new Set(changed.map((k) => k[0].split(":")[0])).size, changed.length);
  const twoDraws = await keyOf(trunk, { ...base, augment: { brightness: 0.2 }, draws: 2 });
  assert.deepEqual(twoDraws.map((k) => k.split(":")[1]), ["true", "false"], "draw 0 is reused, draw 1 is new");

  const later = new Date(Date.now() + 5000);
  fs.utimesSync(items[2].file, later, later);
  assert.deepEqual((await keyOf(trunk, base)).map((k) => k.split(":")[1]), ["false"], "a touched image misses");
  const entries = fs.readdirSync(cacheDir);
  assert.ok(entries.every((name) => name.endsWith(".json") || name.endsWith(".f32")), `no temp files left: ${entries.join(", ")}`);
});

test("the cache key names the kernel build: features from the plain build are not read back under the FMA build", async () => {
  const { execFileSync } = await import("node:child_process");
  const { featureKey } = await import("../lib/train/feature-cache");
  const { kernelVariant } = await import("../lib/backends/wasm-training/kernel-variant");
  const script = `(async () => { const { selectBackend } = require("./lib/backend"); const { featureKey } = require("./lib/train/feature-cache");
    await selectBackend("wasm", () => undefined); process.stdout.write(featureKey("trunk", [], { dir: "", size: ${SIZE} }, 0)); })();`;
  const keyWith = (variant: string) =>
    execFileSync(process.execPath, ["--import", "tsx", "-e", script], { cwd: path.join(__dirname, ".."), env: { ...process.env, CHARID_WASM_KERNELS: variant } }).toString();
  const here = featureKey("trunk", [], { dir: "", size: SIZE }, 0);
  assert.equal(keyWith(kernelVariant()), here, "the same build gives the same key in another process");
  if (kernelVariant() === "relaxed") assert.notEqual(keyWith("baseline"), here, "the plain build gets a key of its own");
});

test("a list that extends a cached one (the final retrain's) reuses its rows and draws the rest as the whole list would", async () => {
  const dir = tempDir();
  const items = await writeImages(dir, 14);
  const prefix = items.slice(0, 9); // not a whole number of batches: the tail's batches are cut differently
  const model = await buildBackbone("mobilenet_v2", 3, { ...MOBILE, seed: 5 });
  freezeBefore(model, "features.3");
  const trunk = splitAtFreezePoint(model)!.trunk;
  const options: FeatureSourceOptions = { dir: path.join(dir, "cache"), size: SIZE, batchSize: 4, seed: 3, augment: { brightness: 0.3 }, draws: 2 };
  await cachedFeatureSource(trunk, prefix, options);
  const extended = await cachedFeatureSource(trunk, items, { ...options, cachedPrefix: prefix });
  const whole = await cachedFeatureSource(trunk, items, { ...options, dir: path.join(dir, "other-cache") });
  const rowSize = whole.sets[0].data.length / items.length;
  for (let draw = 0; draw < 2; draw++) {
    assert.equal(extended.sets[draw].reusedRows, prefix.length, `draw ${draw}: the prefix's rows are reused`);
    assert.equal(extended.sets[draw].key, whole.sets[draw].key, "stored under the whole list's key");
    assert.deepEqual(extended.sets[draw].data, whole.sets[draw].data, `draw ${draw}: byte for byte the features of a whole extraction`);
    // The same tail drawn as a list of its own differs: the draws follow the position in the whole list.
    const alone = await extractFeatures(trunk, items.slice(prefix.length), options, draw);
    let moved = 0;
    alone.data.forEach((v, i) => (moved = Math.max(moved, Math.abs(v - whole.sets[draw].data[prefix.length * rowSize + i]))));
    assert.ok(moved > 1e-3, `draw ${draw}: the tail alone draws other brightness factors (${moved})`);
  }
  const again = await cachedFeatureSource(trunk, items, { ...options, cachedPrefix: prefix });
  assert.ok(again.sets.every((set) => set.fromDisk), "the extended list is then read from disk whole");
  const other = await cachedFeatureSource(trunk, [items[1], ...items.slice(1)], { ...options, cachedPrefix: prefix });
  assert.ok(other.sets.every((set) => !set.reusedRows), "a list that does not start with the prefix extracts everything");
});
