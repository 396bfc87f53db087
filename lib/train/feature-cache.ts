// The frozen-trunk feature cache. When everything below the unfreeze point is frozen, the trunk's
// output for an image never changes during training, so it is computed once (once per augmentation
// draw, K draws when augmenting) and training runs only the trainable top. Features live on disk
// under a key made of everything they depend on (trunk weights and layers, cut, kernel build, preprocessing,
// augmentation, seed, draw, and the image files' paths, sizes and mtimes): any change is a miss.
// Extraction shares whole batches out over the cores (lib/parallel/parallel-trunk.ts); each batch is
// computed as one thread would compute it, so the features do not depend on the thread count.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { epochOrder, ImageBatches, type BatchImage, type ImageBatchOptions, type UInt8Cache } from "../data/batches";
import type { InputConventionName } from "../data/input-convention";
import { preprocessSpec } from "../data/preprocess";
import { activeBlasLabel } from "../backends/wasm-training/blas-products";
import { kernelVariant } from "../backends/wasm-training/kernel-variant";
import { readBytesInto, writeFileAtomic, writeJsonAtomic } from "../io";
import { defaultShares, ParallelTrunk, type SharedParallelTrunk } from "../parallel/parallel-trunk";
import { progress } from "../progress";
import type { Batch, BatchSource } from "./batch-source";

const FORMAT = 1;

export interface FeatureCacheOptions {
  /** Folder of the cache files, e.g. data/cache/features. */
  dir: string;
  /** Model input size and convention (preprocessing as preprocessSpec(size, convention)). */
  size: number;
  convention?: InputConventionName;
  /** Where the crop sits along each image's long side (see PreprocessSpec.window); default the centre. */
  window?: number;
  /** Training augmentation; features are then cached for `draws` draws, epoch e using draw e mod draws. */
  augment?: ImageBatchOptions["augment"];
  /** Seeds the augmentation draws (and, in a source, the epoch order). */
  seed?: number;
  /** Augmentation draws to cache (default 1); ignored without augmentation. */
  draws?: number;
  /** Images per trunk call while extracting (default 32). */
  batchSize?: number;
  /**
   * Threads extracting, this one included: whole batches go to whichever thread is free, and the
   * features are bit-identical to one thread's. Default: 2 on the wasm backend with 2 or more cores
   * and 2 or more batches, else 1 (see defaultShares).
   */
  shares?: number;
  /** Threads kept for several extractions over this trunk (then `shares` is theirs); default: started for this one. */
  threads?: SharedParallelTrunk;
  /** Names the set in progress lines, e.g. "train". */
  label?: string;
  /** Decoded images kept between extractions (e.g. shared by the runs of a sweep). */
  decodeCache?: UInt8Cache;
  /**
   * A list the images start with, whose features may already be cached (the training set, when the
   * final retrain appends the validation images to it): on a miss, its cached rows are reused and
   * only the images after it go through the trunk, drawing the augmentation they would draw in the
   * whole list.
   */
  cachedPrefix?: readonly BatchImage[];
}

/** The trunk's outputs for a list of images, in list order, for one augmentation draw. */
export interface FeatureSet {
  key: string;
  /** Per-image shape, e.g. [6, 6, 48]. */
  shape: number[];
  count: number;
  /** [count * product(shape)] row-major; rows of `failed` images are zero. */
  data: Float32Array;
  /** Positions of images that could not be decoded (training skips them, as ImageBatches does). */
  failed: number[];
  fromDisk: boolean;
  /** Seconds spent computing it (0 when read from disk). */
  seconds: number;
  /** Leading rows taken from the cached features of `cachedPrefix` (absent when none were). */
  reusedRows?: number;
  /** Threads that computed it (0 when read from disk). */
  threads: number;
}

interface FeatureSetMeta {
  format: number;
  key: string;
  trunk: string;
  shape: number[];
  count: number;
  failed: number[];
  size: number;
  augment: unknown;
  draw: number;
  seconds: number;
  threads: number;
  created: string;
}

/** What the trunk computes from: its layers and every weight value (BatchNorm statistics included). */
export function trunkDigest(trunk: tf.LayersModel): string {
  const hash = createHash("sha256");
  for (const layer of trunk.layers) hash.update(`${layer.getClassName()}:${layer.name}:${JSON.stringify(layer.outputShape)};`);
  for (const weight of trunk.weights) {
    const values = weight.read().dataSync() as Float32Array;
    hash.update(`${weight.originalName}:${weight.shape.join("x")};`);
    hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }
  return hash.digest("hex");
}

/** The cache key of one draw's features; `digest` is trunkDigest(trunk). */
export function featureKey(digest: string, items: readonly BatchImage[], options: FeatureCacheOptions, draw: number): string {
  const hash = createHash("sha256");
  const augmenting = options.augment !== undefined;
  // The kernels compute the features: the FMA build rounds differently from the plain one, BLAS from both.
  const blas = activeBlasLabel();
  const kernels = tf.getBackend() === "wasm" ? `${kernelVariant()}${blas ? ` + ${blas}` : ""}` : tf.getBackend();
  hash.update(JSON.stringify({ format: FORMAT, digest, kernels, spec: preprocessSpec(options.size, options.convention, options.window), augment: options.augment ?? null, seed: augmenting ? (options.seed ?? 0) : null, draw: augmenting ? draw : 0 }));
  for (const { file } of items) {
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    hash.update(`\n${path.resolve(file)}:${stat?.size ?? -1}:${stat?.mtimeMs ?? -1}`);
  }
  return hash.digest("hex").slice(0, 32);
}

/** Reads draw `draw`'s features from the cache, or computes and stores them. */
export async function cachedFeatures(trunk: tf.LayersModel, items: readonly BatchImage[], options: FeatureCacheOptions, draw = 0, digest = trunkDigest(trunk)): Promise<FeatureSet> {
  const key = featureKey(digest, items, options, draw);
  const fromDisk = readFeatureSet(options.dir, key, items.length);
  if (fromDisk) return fromDisk;
  const set = (await extendCachedPrefix(trunk, items, options, draw, digest, key)) ?? (await extractFeatures(trunk, items, options, draw, key));
  const base = path.join(options.dir, key);
  writeFileAtomic(`${base}.f32`, new Uint8Array(set.data.buffer, set.data.byteOffset, set.data.byteLength));
  const meta: FeatureSetMeta = {
    format: FORMAT,
    key,
    trunk: trunk.name,
    shape: set.shape,
    count: set.count,
    failed: set.failed,
    size: options.size,
    augment: options.augment ?? null,
    draw,
    seconds: set.seconds,
    threads: set.threads,
    created: new Date().toISOString(),
  };
  writeJsonAtomic(`${base}.json`, meta); // written last: its presence marks a complete entry
  return set;
}

/** The prefix's cached rows followed by the rest's, extracted; undefined when the prefix is not cached. */
async function extendCachedPrefix(trunk: tf.LayersModel, items: readonly BatchImage[], options: FeatureCacheOptions, draw: number, digest: string, key: string): Promise<FeatureSet | undefined> {
  const prefix = options.cachedPrefix;
  if (!prefix || prefix.length === 0 || prefix.length >= items.length || prefix.some((image, i) => image.file !== items[i].file)) return undefined;
  const head = readFeatureSet(options.dir, featureKey(digest, prefix, options, draw), prefix.length);
  if (!head) return undefined;
  const label = `${options.label ?? "images"} after ${prefix.length} cached`;
  const tail = await extractFeatures(trunk, items.slice(prefix.length), { ...options, label }, draw, key, prefix.length);
  const data = new Float32Array(head.data.length + tail.data.length);
  data.set(head.data);
  data.set(tail.data, head.data.length);
  const failed = [...head.failed, ...tail.failed.map((i) => prefix.length + i)];
  return { ...tail, count: items.length, data, failed, reusedRows: prefix.length };
}

/**
 * Runs the trunk (inference mode) over the images, in order, for one augmentation draw; `drawOffset`
 * as in ImageBatchOptions.
 */
export async function extractFeatures(trunk: tf.LayersModel, items: readonly BatchImage[], options: FeatureCacheOptions, draw = 0, key = "", drawOffset = 0): Promise<FeatureSet> {
  const started = Date.now();
  const shape = trunk.outputs[0].shape.slice(1) as number[];
  const rowSize = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(items.length * rowSize);
  const batchSize = options.batchSize ?? 32;
  const shares = options.threads?.shares ?? options.shares ?? defaultShares(Math.ceil(items.length / batchSize));
  const draws = options.augment ? (options.draws ?? 1) : 1;
  const label = `${options.label ?? "images"}${draws > 1 ? ` (draw ${draw + 1}/${draws})` : ""}${shares > 1 ? `, ${shares} threads` : ""}`;
  const bar = progress(`trunk features: ${label}`, items.length, "images");
  const batches = new ImageBatches(items, {
    batchSize,
    size: options.size,
    convention: options.convention,
    window: options.window,
    seed: options.seed ?? 0,
    epoch: draw,
    augment: options.augment,
    drawOffset,
    cache: options.decodeCache,
    onError: "flag",
    warn: () => undefined, // listed in `failed`; training skips them with its own warning
  });
  const failed = await trunkRowsInto(trunk, batches, options.threads ?? shares, data, bar);
  bar.finish(failed.length ? `${failed.length} could not be decoded` : undefined);
  return { key, shape, count: items.length, data, failed, fromDisk: false, seconds: (Date.now() - started) / 1000, threads: shares };
}

/**
 * Runs `trunk` over `batches` on `threads` threads (ParallelTrunk, closed afterwards), or on a
 * SharedParallelTrunk over `trunk` (left open), writing each image's output row into `data` at its
 * index; returns the indices of the images that could not be decoded, sorted.
 */
export async function trunkRowsInto(
  trunk: tf.LayersModel,
  batches: AsyncIterable<{ x: tf.Tensor; y: tf.Tensor; indices: number[]; failed: number[] }>,
  threads: number | SharedParallelTrunk,
  data: Float32Array,
  bar: { update(done: number): void },
): Promise<number[]> {
  const rowSize = (trunk.outputs[0].shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
  const failed: number[] = [];
  let done = 0;
  const own = typeof threads === "number";
  if (!own && threads.trunk !== trunk) throw new Error("trunkRowsInto: the shared threads run another trunk");
  const runner = own ? await ParallelTrunk.start(trunk, threads) : await threads.runner();
  try {
    await runner.run(batches, (batch, values) => {
      batch.y.dispose();
      batch.indices.forEach((index, row) => data.set(values.subarray(row * rowSize, (row + 1) * rowSize), index * rowSize));
      for (const row of batch.failed) failed.push(batch.indices[row]);
      bar.update((done += batch.indices.length));
    });
  } finally {
    if (own) await runner.close();
  }
  return failed.sort((a, b) => a - b);
}

function readFeatureSet(dir: string, key: string, count: number): FeatureSet | undefined {
  const base = path.join(dir, key);
  let meta: FeatureSetMeta;
  try {
    meta = JSON.parse(fs.readFileSync(`${base}.json`, "utf8")) as FeatureSetMeta;
  } catch {
    return undefined;
  }
  const rowSize = meta.shape.reduce((a, b) => a * b, 1);
  if (meta.format !== FORMAT || meta.count !== count) return undefined;
  const data = new Float32Array(count * rowSize);
  if (!readBytesInto(`${base}.f32`, new Uint8Array(data.buffer))) return undefined;
  return { key, shape: meta.shape, count, data, failed: meta.failed, fromDisk: true, seconds: 0, threads: 0 };
}

export interface FeatureSourceOptions extends FeatureCacheOptions {
  batchSize: number;
  /** trunkDigest(trunk), when the caller already has it (several sources over one trunk). */
  digest?: string;
  /** Training: a new seeded order every epoch, the same order ImageBatches uses. */
  shuffle?: boolean;
}

/** A BatchSource over cached trunk features; epoch e reads draw e mod draws. */
export interface FeatureSource extends BatchSource {
  readonly sets: readonly FeatureSet[];
  /** Seconds spent extracting (0 when every draw came from disk). */
  readonly extractSeconds: number;
}

/**
 * Features of `items` through `trunk` (see splitAtFreezePoint) as a BatchSource for a Learner built
 * with the matching `top`. Batches hold the same images, in the same order, as the image source with
 * the same seed, so for deterministic inputs training gives the weights training on images gives.
 */
export async function cachedFeatureSource(trunk: tf.LayersModel, items: readonly BatchImage[], options: FeatureSourceOptions): Promise<FeatureSource> {
  const draws = options.augment ? (options.draws ?? 1) : 1;
  if (!Number.isInteger(draws) || draws < 1) throw new Error(`draws must be a whole number >= 1, got ${options.draws}`);
  const digest = options.digest ?? trunkDigest(trunk);
  const sets: FeatureSet[] = [];
  for (let draw = 0; draw < draws; draw++) sets.push(await cachedFeatures(trunk, items, options, draw, digest));
  const { batchSize, shuffle = false, seed = 0 } = options;
  return {
    size: items.length,
    sets,
    extractSeconds: sets.reduce((sum, set) => sum + set.seconds, 0),
    async *batches(epoch: number): AsyncIterable<Batch> {
      const set = sets[epoch % sets.length];
      const skip = new Set(set.failed);
      const rowSize = set.data.length / Math.max(1, set.count);
      const order = epochOrder(items.length, { shuffle, seed, epoch });
      for (let start = 0; start < order.length; start += batchSize) {
        const rows = order.slice(start, start + batchSize).filter((i) => !skip.has(i));
        if (rows.length === 0) continue;
        const x = new Float32Array(rows.length * rowSize);
        rows.forEach((i, r) => x.set(set.data.subarray(i * rowSize, (i + 1) * rowSize), r * rowSize));
        yield {
          x: tf.tensor(x, [rows.length, ...set.shape]),
          y: tf.tensor1d(rows.map((i) => items[i].label ?? -1), "int32"),
          files: rows.map((i) => items[i].file),
        };
      }
    },
  };
}
