// Trunk features extracted on 2 threads (whole batches shared out between this thread and a worker
// with its own wasm backend) are the bytes one thread extracts: for this project's architectures
// (custom BatchNorm and grouped convolutions included), for a Keras model (nsfwjs's InceptionV3,
// BatchNorm without scale), with an augmentation draw, and with a broken image in the list. Prediction
// (predictFiles) on 2 threads gives one folded thread's probabilities.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import type { BatchImage } from "../lib/data";
import { buildBackbone, freezeBefore, loadNsfwjsBackbone, splitAtFreezePoint } from "../lib/models";
import { defaultShares, SharedParallelTrunk } from "../lib/parallel/parallel-trunk";
import { extractFeatures, predictFiles, type FeatureCacheOptions } from "../lib/train";

before(async () => {
  await selectBackend("wasm", () => undefined);
});

async function writeImages(dir: string, count: number): Promise<BatchImage[]> {
  const items: BatchImage[] = [];
  for (let i = 0; i < count; i++) {
    const [width, height] = [50 + (i % 4) * 7, 44 + (i % 3) * 9];
    const pixels = Buffer.alloc(width * height * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (p * 7919 + i * 104729) % 251;
    const file = path.join(dir, `img${i}.jpg`);
    await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toFile(file);
    items.push({ file, label: i % 3 });
  }
  fs.writeFileSync(path.join(dir, "broken.jpg"), "not an image");
  items.splice(4, 0, { file: path.join(dir, "broken.jpg"), label: 0 });
  return items;
}

function assertSameBytes(one: Float32Array, two: Float32Array, what: string): void {
  assert.equal(two.length, one.length, what);
  const a = Buffer.from(one.buffer, one.byteOffset, one.byteLength);
  const b = Buffer.from(two.buffer, two.byteOffset, two.byteLength);
  assert.ok(a.equals(b), `${what}: 2-thread features differ from 1-thread ones`);
}

async function compareShares(trunk: tf.LayersModel, items: BatchImage[], options: Omit<FeatureCacheOptions, "shares">, draw: number, what: string): Promise<void> {
  const one = await extractFeatures(trunk, items, { ...options, shares: 1 }, draw);
  const two = await extractFeatures(trunk, items, { ...options, shares: 2 }, draw);
  assert.deepEqual([one.threads, two.threads], [1, 2]);
  assert.deepEqual(two.failed, one.failed, `${what}: the same images fail`);
  assert.ok(one.data.some((v) => v !== 0), `${what}: features are not all zero`);
  assertSameBytes(one.data, two.data, what);
}

test("2-thread extraction gives the bytes 1-thread extraction gives (MobileNetV2, ResNeXt; a draw of brightness)", async () => {
  const items = await writeImages(fs.mkdtempSync(path.join(os.tmpdir(), "charid-par-extract-")), 13);
  const cases: [string, string, Record<string, unknown>][] = [
    ["mobilenet_v2", "features.15", { widthMultiplier: 0.35 }],
    ["resnext50_32x4d", "layer4.1", {}],
  ];
  for (const [arch, point, extra] of cases) {
    const model = await buildBackbone(arch, 3, { inputSize: 32, seed: 4, ...extra });
    freezeBefore(model, point);
    const { trunk } = splitAtFreezePoint(model)!;
    const options = { dir: "", size: 32, batchSize: 3, seed: 9, augment: { brightness: 0.3 }, draws: 2 };
    await compareShares(trunk, items, options, 1, `${arch} at ${point}`);
    model.dispose();
  }
});

test("2-thread extraction gives the same bytes for a Keras trunk (nsfwjs InceptionV3, BatchNorm without scale)", async () => {
  const items = (await writeImages(fs.mkdtempSync(path.join(os.tmpdir(), "charid-par-extract-")), 7));
  const { model } = await loadNsfwjsBackbone("inception_v3", { numClasses: 3, inputSize: 75, seed: 1 });
  freezeBefore(model, "mixed.10");
  const { trunk } = splitAtFreezePoint(model)!;
  await compareShares(trunk, items, { dir: "", size: 75, convention: "unit", batchSize: 2 }, 0, "inception_v3 at mixed.10");
  model.dispose();
});

test("threads shared by several extractions (a source's draws and windows) give the bytes of threads started for each, and stop on close", async () => {
  const items = await writeImages(fs.mkdtempSync(path.join(os.tmpdir(), "charid-par-shared-")), 9);
  const model = await buildBackbone("mobilenet_v2", 3, { inputSize: 32, seed: 6, widthMultiplier: 0.35 });
  freezeBefore(model, "features.15");
  const { trunk } = splitAtFreezePoint(model)!;
  const options = { dir: "", size: 32, batchSize: 2, seed: 3, augment: { brightness: 0.3 }, draws: 2 };
  const threads = new SharedParallelTrunk(trunk, 2);
  const runner = await threads.runner();
  for (const draw of [0, 1]) {
    const shared = await extractFeatures(trunk, items, { ...options, threads }, draw);
    const own = await extractFeatures(trunk, items, { ...options, shares: 2 }, draw);
    assert.equal(shared.threads, 2);
    assert.deepEqual(shared.failed, own.failed);
    assertSameBytes(own.data, shared.data, `draw ${draw} on shared threads`);
    assert.equal(await threads.runner(), runner, "the second extraction reuses the threads of the first");
  }
  await threads.close();
  await assert.rejects(runner.run((async function* () {})(), () => undefined), /closed/);
  const other = new SharedParallelTrunk(model, 2);
  await assert.rejects(extractFeatures(trunk, items, { ...options, threads: other }, 0), /another trunk/);
  model.dispose();
});

test("extraction uses both cores by default on wasm, when there are batches to share", () => {
  assert.equal(defaultShares(1), 1, "one batch: nothing to share out");
  assert.equal(defaultShares(5), Math.min(2, os.cpus().length));
});

test("predictFiles on 2 threads gives one folded thread's probabilities, brightness TTA and a broken image included", async () => {
  const items = await writeImages(fs.mkdtempSync(path.join(os.tmpdir(), "charid-par-predict-")), 11);
  const model = await buildBackbone("mobilenet_v2", 3, { inputSize: 32, seed: 5, widthMultiplier: 0.35 });
  const files = items.map((i) => i.file);
  const options = { size: 32, convention: "torchvision" as const, batchSize: 3, brightnessTta: [0.9, 1, 1.1] };
  const one = await predictFiles(model, files, { ...options, shares: 1 });
  const two = await predictFiles(model, files, { ...options, shares: 2 });
  assert.deepEqual([...two.failed.keys()], [4], "the broken image is flagged");
  assert.deepEqual([...one.failed.keys()], [4]);
  let worst = 0;
  for (let i = 0; i < one.probabilities.length; i++) worst = Math.max(worst, Math.abs(one.probabilities[i] - two.probabilities[i]));
  assert.ok(worst < 1e-5, `largest probability difference ${worst}`);
  for (let f = 0; f < files.length; f++) {
    const row = two.probabilities.subarray(f * 3, f * 3 + 3);
    const sum = row.reduce((a, b) => a + b, 0);
    assert.ok(f === 4 ? sum === 0 : Math.abs(sum - 1) < 1e-5, `row ${f} sums to ${sum}`);
  }
  model.dispose();
});
