import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { hashSeed, Rng } from "../lib/random";
import { augmentToNormalizedFloat, cropFrame, drawAugmentation, type AugmentSpec } from "../lib/data/augment";
import { brightnessFactor, ImageBatches, UInt8Cache, type BatchImage, type ImageBatchOptions } from "../lib/data/batches";
import { decodeResized, decodeResizedImage, preprocessSpec, toNormalizedFloat } from "../lib/data/preprocess";

const SIZE = 32;
const quiet = () => {};
let dir: string;
let images: BatchImage[];

/** A distinct picture per index: a two-colour split at a varying angle, so rows are tellable apart. */
async function writeImage(file: string, index: number, width: number, height: number): Promise<void> {
  const hue = (index * 47) % 360;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="hsl(${hue},70%,45%)"/>
    <polygon points="0,0 ${width},${(index * 13) % height} 0,${height}" fill="hsl(${(hue + 150) % 360},60%,70%)"/></svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toFile(file);
}

before(async () => {
  await tf.setBackend("cpu");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-batches-"));
  images = [];
  for (let i = 0; i < 10; i++) {
    const file = path.join(dir, `img-${i}.jpg`);
    await writeImage(file, i, 60 + 7 * i, 90 - 3 * i);
    images.push({ file, label: i % 3 });
  }
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Epoch {
  shapes: number[][];
  indices: number[];
  labels: number[];
  files: string[];
  failed: number[][];
  rows: Float32Array[];
}

/** Runs a whole epoch, checking that only the batch in hand has live tensors. */
async function collect(stream: ImageBatches): Promise<Epoch> {
  const epoch: Epoch = { shapes: [], indices: [], labels: [], files: [], failed: [], rows: [] };
  const tensorsBefore = tf.memory().numTensors;
  for await (const batch of stream) {
    assert.equal(tf.memory().numTensors, tensorsBefore + 2);
    epoch.shapes.push(batch.x.shape);
    epoch.indices.push(...batch.indices);
    epoch.labels.push(...batch.y.dataSync());
    epoch.files.push(...batch.files);
    epoch.failed.push(batch.failed);
    const x = batch.x.dataSync() as Float32Array;
    const rowLength = SIZE * SIZE * 3;
    for (let r = 0; r < batch.x.shape[0]; r++) epoch.rows.push(x.slice(r * rowLength, (r + 1) * rowLength));
    batch.x.dispose();
    batch.y.dispose();
  }
  assert.equal(tf.memory().numTensors, tensorsBefore);
  return epoch;
}

function batches(options: Partial<ImageBatchOptions> = {}, list = images): ImageBatches {
  return new ImageBatches(list, { batchSize: 4, size: SIZE, warn: quiet, ...options });
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline) await sleep(10);
}

async function expectedRow(index: number, brightness?: number): Promise<Float32Array> {
  const spec = preprocessSpec(SIZE);
  return toNormalizedFloat(await decodeResized(images[index].file, spec), spec, { brightness });
}

test("every image once per epoch in a replayable shuffled order, the last batch partial", async () => {
  const options = { shuffle: true, seed: 3, epoch: 1, augment: { brightness: 0.05 } };
  const first = await collect(batches(options));
  assert.deepEqual(first.shapes, [[4, SIZE, SIZE, 3], [4, SIZE, SIZE, 3], [2, SIZE, SIZE, 3]]);
  assert.deepEqual([...first.indices].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.notDeepEqual(first.indices, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(first.labels, first.indices.map((i) => images[i].label));
  assert.deepEqual(first.files, first.indices.map((i) => images[i].file));

  const replay = await collect(batches(options));
  assert.deepEqual(replay.indices, first.indices);
  assert.deepEqual(replay.rows, first.rows, "same brightness draws");

  assert.deepEqual([batches(options).batchCount, batches({ ...options, startBatch: 1 }).batchCount], [3, 2]);
  const resumed = await collect(batches({ ...options, startBatch: 1 }));
  assert.deepEqual(resumed.indices, first.indices.slice(4));
  assert.deepEqual(resumed.rows, first.rows.slice(4));

  const nextEpoch = await collect(batches({ ...options, epoch: 2 }));
  assert.notDeepEqual(nextEpoch.indices, first.indices);
  assert.deepEqual((await collect(batches({ ...options, shuffle: false }))).indices, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("brightness is applied only when asked, per (seed, epoch, image)", async () => {
  const plain = await collect(batches({ shuffle: true, seed: 5 }));
  for (const [row, index] of plain.indices.entries()) assert.deepEqual(plain.rows[row], await expectedRow(index));

  const jittered = await collect(batches({ shuffle: true, seed: 5, epoch: 4, augment: { brightness: 0.3 } }));
  const factors = new Set<number>();
  for (const [row, index] of jittered.indices.entries()) {
    const factor = brightnessFactor(0.3, 5, 4, index);
    assert.ok(factor >= 0.7 && factor < 1.3);
    factors.add(factor);
    assert.deepEqual(jittered.rows[row], await expectedRow(index, factor));
  }
  assert.equal(factors.size, images.length, "each image gets its own factor");
  assert.notDeepEqual(jittered.rows[jittered.indices.indexOf(0)], await expectedRow(0));
});

test("batches are decoded ahead while the consumer works, never more than `prefetch` ahead", async () => {
  const big: BatchImage[] = [];
  for (let i = 0; i < 8; i++) {
    const file = path.join(dir, `big-${i}.jpg`);
    await writeImage(file, i, 900, 700);
    big.push({ file, label: 0 });
  }
  const consumerWork = 150;
  for (const prefetch of [2, 0]) {
    const stream = batches({ batchSize: 2, prefetch }, big);
    const iterator = stream[Symbol.asyncIterator]();
    const waits: number[] = [];
    let received = 0;
    for (;;) {
      const asked = performance.now();
      const next = await iterator.next();
      if (next.done) break;
      waits.push(performance.now() - asked);
      received++;
      assert.ok(stream.stats.batchesDecoded <= received + prefetch, "decoding stays within the window");
      await sleep(consumerWork); // the "training step"
      // While the consumer holds the batch, the window fills up: exactly `prefetch` batches ahead.
      const expected = Math.min(received + prefetch, 4);
      await until(() => stream.stats.batchesDecoded >= expected, 5000); // only a loaded machine waits here
      assert.equal(stream.stats.batchesDecoded, expected, `prefetch ${prefetch}, batch ${received}`);
      next.value.x.dispose();
      next.value.y.dispose();
    }
    assert.equal(received, 4);
    const laterWaits = waits.slice(1);
    if (prefetch > 0) {
      assert.ok(Math.max(...laterWaits) < consumerWork / 3, `batches were ready when asked for: waits ${laterWaits.map(Math.round)} ms`);
    }
  }
});

test("a broken image is skipped with a warning naming it, or flagged as a zero row", async () => {
  const broken = path.join(dir, "broken.jpg");
  fs.writeFileSync(broken, "<html>404</html>");
  const list = [...images.slice(0, 2), { file: broken, label: 1 }, ...images.slice(2, 5)];
  const warnings: string[] = [];
  const stream = batches({ warn: (message) => warnings.push(message) }, list);
  const skipped = await collect(stream);
  assert.deepEqual(skipped.shapes.map((s) => s[0]), [3, 2]);
  assert.deepEqual(skipped.indices, [0, 1, 3, 4, 5]);
  assert.equal(warnings.length, 1);
  assert.ok(warnings[0].includes(broken), warnings[0]);
  assert.deepEqual(stream.stats.failures.map((f) => [f.file, f.index]), [[broken, 2]]);

  const flagged = await collect(batches({ onError: "flag" }, list));
  assert.deepEqual(flagged.shapes.map((s) => s[0]), [4, 2]);
  assert.deepEqual(flagged.failed, [[2], []]);
  assert.equal(flagged.files[2], broken);
  assert.ok(flagged.rows[2].every((v) => v === 0));

  const allBroken = await collect(batches({ batchSize: 1 }, [{ file: broken }, images[0]]));
  assert.deepEqual(allBroken.indices, [1], "a batch with no readable image is not yielded");
});

test("the uint8 cache serves later epochs without reading the files, within its byte bound", async () => {
  const copies = fs.mkdtempSync(path.join(dir, "copies-"));
  const list = images.map((image, i) => {
    const file = path.join(copies, `${i}.jpg`);
    fs.copyFileSync(image.file, file);
    return { ...image, file };
  });
  const cache = new UInt8Cache(1e6);
  const options = { shuffle: true, seed: 9, augment: { brightness: 0.1 }, cache };
  const uncached = await collect(batches({ ...options, epoch: 1, cache: undefined }, list));
  await collect(batches({ ...options, epoch: 0 }, list));
  assert.deepEqual([cache.size, cache.hits, cache.misses, cache.bytes], [10, 0, 10, 10 * SIZE * SIZE * 3]);

  fs.rmSync(copies, { recursive: true });
  const second = batches({ ...options, epoch: 1 }, list);
  const cached = await collect(second);
  assert.equal(cache.hits, 10);
  assert.equal(second.stats.imagesDecoded, 0);
  assert.deepEqual(cached.rows, uncached.rows, "cached pixels give the same batches");

  const small = new UInt8Cache(3 * SIZE * SIZE * 3 + 100);
  await collect(batches({ cache: small }));
  assert.deepEqual([small.size, small.bytes <= small.maxBytes], [3, true]);
  await collect(batches({ cache: small }));
  assert.equal(small.hits, 3);
});

test("every augmentation: each row is the pure pipeline of its (seed, epoch, image), whole images cached", async () => {
  const spec = preprocessSpec(SIZE);
  const augment: AugmentSpec = { brightness: 0.2, contrast: 0.2, saturation: 0.3, hue: 0.05, hflip: true, rotation: 10, randomResizedCrop: true };
  const cache = new UInt8Cache(1e6);
  const options = { shuffle: true, seed: 2, epoch: 5, augment, cache };
  const first = await collect(batches(options));
  for (const [row, index] of first.indices.entries()) {
    const whole = await decodeResizedImage(images[index].file, spec);
    const draw = drawAugmentation(augment, 2, 5, index, cropFrame(whole, SIZE));
    assert.deepEqual(first.rows[row], augmentToNormalizedFloat(whole, spec, draw), `image ${index}`);
  }
  const wholeBytes = (await Promise.all(images.map((image) => decodeResizedImage(image.file, spec)))).reduce((sum, image) => sum + image.data.length, 0);
  assert.deepEqual([cache.size, cache.bytes, cache.misses], [10, wholeBytes, 10], "the whole resized images are cached");

  const again = batches({ ...options, batchSize: 3 });
  const rebatched = await collect(again);
  assert.equal(again.stats.imagesDecoded, 0);
  assert.deepEqual(rebatched.indices, first.indices);
  assert.deepEqual(rebatched.rows, first.rows, "draws do not depend on batch boundaries or the cache");
  const nextEpoch = await collect(batches({ ...options, epoch: 6, shuffle: false }));
  for (const [row, index] of nextEpoch.indices.entries()) assert.notDeepEqual(nextEpoch.rows[row], first.rows[first.indices.indexOf(index)]);

  const plain = await collect(batches({ shuffle: false, cache }));
  for (const [row, index] of plain.indices.entries()) assert.deepEqual(plain.rows[row], await expectedRow(index), "no augment: the centre-crop path");
  assert.equal(cache.size, 20, "centre crops and whole images are cached apart");
});

test("brightness-only augmentation keeps the historical factors; bad specs are refused up front", () => {
  // The factor formula checkpoints and the resume test were made with.
  assert.equal(brightnessFactor(0.05, 1, 2, 3), new Rng(hashSeed(1, "brightness", 2, 3)).float(0.95, 1.05));
  assert.throws(() => batches({ augment: { hue: 0.7 } }), /augment\.hue must be in \[0, 0\.5\], got 0\.7/);
  assert.throws(() => batches({ augment: { brightness: -0.1 } }), /augment\.brightness must be >= 0/);
});
