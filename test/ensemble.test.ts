// k-fold ensembles on cached trunk features (lib/ensemble): the feature bank reuses notebook 05's
// cache entries, every labelled image is predicted out of fold exactly once, folds resume and read
// back, the test prediction averages the folds, TTA views and pseudo-labels behave as documented.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import { stratifiedFolds, type ModelInput, type SplitManifest } from "../lib/data";
import { applyView, featureBank, measureTta, outOfFold, predictFolds, pseudoLabelRows, trainFolds, viewFeatures, type FeatureBank, type FoldRecipe, type FoldResult } from "../lib/ensemble";
import { loadBackbone } from "../lib/backbone";
import { freezeBefore, splitAtFreezePoint, type SplitModel } from "../lib/models";
import { trainingSources, type FeatureSource } from "../lib/train";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-ensemble-"));
const CLASSES = ["red", "green", "blue"];
let input: ModelInput;
const recipe: FoldRecipe = { groupRates: { "features.16:18": 1e-3, "features.18": 1e-3, classifier: 3e-3 }, phaseEpochs: [2, 1], lowerRates: [3e-4], patience: 5, batchSize: 8, seed: 3 };
let model: tf.LayersModel;
let split: SplitModel;
let bank: FeatureBank;
let folds: number[];
let results: FoldResult[];
let manifest: SplitManifest;
const augment = { brightness: 0.2 };
const quiet = () => undefined;

async function writeImage(file: string, label: number, i: number): Promise<void> {
  const pixels = Buffer.alloc(40 * 40 * 3);
  for (let p = 0; p < pixels.length; p++) pixels[p] = (p % 3 === label ? 150 : 50) + ((p * 7919 + i * 104729) % 90);
  await sharp(pixels, { raw: { width: 40, height: 40, channels: 3 } }).jpeg().toFile(file);
}

before(async () => {
  await selectBackend("wasm", () => undefined);
  manifest = { version: 1, root: work, trainDir: "train", seed: 1, validFraction: 0.25, mergedValidation: false, classes: CLASSES, train: [], valid: [], rejected: [] };
  for (let i = 0; i < 24; i++) {
    const label = i % 3;
    const file = `train/${CLASSES[label]}/${i}.jpg`;
    fs.mkdirSync(path.join(work, path.dirname(file)), { recursive: true });
    await writeImage(path.join(work, file), label, i);
    (i % 4 === 0 ? manifest.valid : manifest.train).push({ file, label: CLASSES[label] });
  }
  const testFiles: string[] = [];
  for (let i = 0; i < 6; i++) {
    testFiles.push(path.join(work, `test-${i}.jpg`));
    await writeImage(testFiles[i], i % 3, 100 + i);
  }
  // The embedded pretrained MobileNetV2 (random init's features vanish at this depth), at 64 px.
  const net = await loadBackbone("mobilenet_v2", { numClasses: 3, imageSize: 64, widthMultiplier: 0.5, weights: "embedded", seed: 2 });
  [model, input] = [net.model, net.input];
  freezeBefore(model, "features.16");
  const cache = path.join(work, "features");
  // What notebook 05 caches: the training images' augmentation draws and the plain validation images.
  const sources = await trainingSources({ model, input }, manifest, { batchSize: 8, seed: 5, epochs: 2, augment, featureCache: cache, draws: 2, shares: 1 });
  sources.dispose();
  split = splitAtFreezePoint(model)!;
  bank = await featureBank(split.trunk, input, manifest, testFiles, { dir: cache, batchSize: 8, seed: 5, augment, draws: 2, shares: 1 });
  folds = stratifiedFolds(bank.labels, 2, 7);
  results = await trainFolds({ model, top: split.top, classes: CLASSES, bank, folds, recipe, dir: path.join(work, "folds"), log: quiet });
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

test("the bank holds train then valid images, plain and in draws, and reads notebook 05's cache entries", () => {
  assert.equal(bank.items.length, 24);
  assert.equal(bank.plain.count, 24);
  assert.equal(bank.draws.length, 2);
  assert.equal(bank.test.count, 6);
  assert.deepEqual(bank.labels.slice(0, 3), [1, 2, 0], "training images first (1.jpg is green)");
  const cacheFiles = fs.readdirSync(path.join(work, "features")).filter((f) => f.endsWith(".json"));
  // 05: train x 2 draws + valid; the bank adds train plain, valid x 2 draws and test: 7 in all, not 10.
  assert.equal(cacheFiles.length, 7);
  const rowSize = bank.plain.data.length / 24;
  assert.notDeepEqual(bank.draws[0].data.subarray(0, rowSize), bank.plain.data.subarray(0, rowSize), "a draw is augmented");
});

test("every labelled image is predicted once, by the fold that did not train on it", () => {
  assert.equal(results.length, 2);
  const validated = results.flatMap((r) => r.valid).sort((a, b) => a - b);
  assert.deepEqual(validated, bank.items.map((_, i) => i));
  for (const r of results) assert.ok(r.valid.every((p) => folds[p] === r.fold));
  const oof = outOfFold(results, bank, 3);
  assert.equal(oof.count, 24);
  assert.ok(oof.accuracy >= 0 && oof.accuracy <= 1);
  assert.ok(results.every((r) => r.test.length === 6 * 3 && r.epochs === 3));
});

test("a re-run reads every fold back; a fold without its result resumes from its checkpoint to the same predictions", async () => {
  const lines: string[] = [];
  const again = await trainFolds({ model, top: split.top, classes: CLASSES, bank, folds, recipe, dir: path.join(work, "folds"), log: (l) => lines.push(l) });
  assert.equal(lines.filter((l) => /read back/.test(l)).length, 2);
  assert.deepEqual(again, results);
  fs.rmSync(path.join(work, "folds", "fold-1", "result.json"));
  const resumed = await trainFolds({ model, top: split.top, classes: CLASSES, bank, folds, recipe, dir: path.join(work, "folds"), log: quiet });
  assert.deepEqual(resumed[1].probabilities, results[1].probabilities, "restored from last.ckpt, no epoch trained again");
  assert.equal(resumed[1].seconds, 0);
});

test("the test prediction averages the folds' probabilities, and leaves the model's weights as they were", async () => {
  const before = model.weights.map((w) => w.read().dataSync().slice());
  const averaged = await predictFolds({ model, top: split.top, classes: CLASSES }, results, [bank.test]);
  averaged.forEach((v, i) => assert.ok(Math.abs(v - (results[0].test[i] + results[1].test[i]) / 2) < 1e-6));
  assert.deepEqual(model.weights.map((w) => w.read().dataSync()), before);
});

test("TTA views: identity cases, measured on the sampled out-of-fold images, kept only when they beat plain", async () => {
  const x = tf.randomUniform([2, 64, 64, 3], -2, 2, "float32", 1) as tf.Tensor4D;
  assert.deepEqual(applyView(x, "hflip").arraySync(), tf.reverse(x, 2).arraySync());
  const unit = tf.sub(applyView(x, "crop:1:c"), x).abs().max().dataSync()[0];
  assert.ok(unit < 1e-5, `a full-size crop is the image (${unit})`);
  assert.throws(() => applyView(x, "rotate:3"), /unknown TTA view/);
  x.dispose();
  const sample = [0, 1, 2, 3, 4, 5, 18, 19, 20, 21, 22, 23];
  const opts = { dir: path.join(work, "features"), ...input, batchSize: 8, shares: 1, digest: bank.digest };
  const sampled = sample.map((p) => bank.items[p]);
  const views = { hflip: await viewFeatures(split.trunk, sampled, "hflip", opts), "brightness:1.3": await viewFeatures(split.trunk, sampled, "brightness:1.3", opts) };
  assert.equal((await viewFeatures(split.trunk, sampled, "hflip", opts)).fromDisk, true, "cached");
  // A window is a crop taken while decoding; on these square photos every window is the centre crop.
  assert.throws(() => applyView(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D, "window:0"), /taken while decoding/);
  const start = await viewFeatures(split.trunk, sampled, "window:0", opts);
  const rowSize = bank.plain.data.length / bank.plain.count;
  sample.forEach((p, i) => assert.deepEqual(start.data.subarray(i * rowSize, (i + 1) * rowSize), bank.plain.data.subarray(p * rowSize, (p + 1) * rowSize), `window:0 of square image ${p} is its plain features`));
  const withViews = await trainFolds({ model, top: split.top, classes: CLASSES, bank, folds, recipe, dir: path.join(work, "folds"), views, sample, log: quiet });
  assert.deepEqual(withViews[0].probabilities, results[0].probabilities, "same training, same out-of-fold predictions");
  const { rows, kept } = measureTta(withViews, bank, 3, { flip: ["hflip"], bright: ["brightness:1.3"] });
  assert.equal(rows[0].images, sample.length);
  for (const row of rows.slice(0, 2)) assert.equal(row.kept, row.withViews > row.plain);
  assert.deepEqual(kept, rows.slice(0, 2).filter((r) => r.kept).flatMap((r) => r.views));
});

test("pseudo-labels: a fold's own confident test predictions, labelled with them", () => {
  const all = pseudoLabelRows(results[0], bank, 3, 0);
  assert.equal(all.length, 6);
  all.forEach((r) => {
    const p = results[0].test.slice(r.row * 3, r.row * 3 + 3);
    assert.equal(r.label, p.indexOf(Math.max(...p)));
  });
  assert.equal(pseudoLabelRows(results[0], bank, 3, 1.01).length, 0);
});

test("pseudo-labelled test images join the training set through extraTrain; the training set's cached features serve", async () => {
  const extraTrain = [0, 1, 2, 3].map((i) => ({ file: `test-${i}.jpg`, label: CLASSES[(i + 1) % 3] }));
  const sources = await trainingSources({ model, input }, manifest, { batchSize: 8, seed: 5, epochs: 2, augment, featureCache: path.join(work, "features"), draws: 2, shares: 1, extraTrain });
  const train = sources.train as FeatureSource;
  assert.equal(train.size, manifest.train.length + 4);
  assert.deepEqual(train.sets.map((set) => set.reusedRows), [manifest.train.length, manifest.train.length], "only the 4 appended images go through the trunk");
  const counts = [0, 0, 0];
  for await (const batch of train.batches(0)) {
    for (const label of await batch.y.data()) counts[label]++;
    tf.dispose([batch.x, batch.y]);
  }
  const expected = CLASSES.map((name, c) => manifest.train.filter((image) => image.label === name).length + extraTrain.filter((image) => image.label === CLASSES[c]).length);
  assert.deepEqual(counts, expected, "the appended images train under their pseudo-labels");
  sources.dispose();
});
