// Batches of preprocessed images for training and evaluation, decoded ahead of the consumer:
// while a training step runs on batch k, sharp decodes batches k+1..k+prefetch in libvips'
// threads. Only those batches exist as float arrays at any time, so memory stays bounded
// whatever the dataset size, and tensors are made only for the batch handed out.
import * as tf from "@tensorflow/tfjs";
import { hashSeed, Rng } from "../random";
import { augmentToNormalizedFloat, checkAugmentSpec, cropFrame, drawAugmentation, jitterFactor, needsWholeImage, type AugmentSpec } from "./augment";
import type { InputConventionName } from "./input-convention";
import { decodeResized, decodeResizedImage, preprocessSpec, toNormalizedFloat, type PreprocessSpec, type RgbImage } from "./preprocess";

export interface BatchImage {
  /** Absolute path. */
  file: string;
  /** Class index; omitted (-1 in `y`) for unlabelled images such as the test set. */
  label?: number;
}

export interface ImageBatch {
  /** [rows, size, size, 3] float32, normalised. */
  x: tf.Tensor4D;
  /** [rows] int32 class indices. */
  y: tf.Tensor1D;
  files: string[];
  /** Positions of the rows in the list given to ImageBatches. */
  indices: number[];
  /** Rows whose image could not be decoded (left as zeros); only with onError: "flag". */
  failed: number[];
}

export interface DecodeFailure {
  file: string;
  index: number;
  reason: string;
}

export interface ImageBatchOptions {
  batchSize: number;
  /** Network input size; see preprocessSpec. */
  size: number;
  /** How pixels become the network's input (default torchvision's ImageNet normalisation). */
  convention?: InputConventionName;
  /** Where the crop sits along each image's long side (see PreprocessSpec.window); default the centre. Random crops and `augment.windows` override it. */
  window?: number;
  shuffle?: boolean;
  seed?: number;
  epoch?: number;
  /** Starts the epoch at this batch, e.g. to resume mid-epoch; earlier batches are not decoded. */
  startBatch?: number;
  /** Training augmentation, drawn per (seed, epoch, image). Never pass it for validation or test batches. */
  augment?: AugmentSpec;
  /**
   * Added to each image's position when its augmentation is drawn (default 0): images that are the
   * tail of a longer list draw what they would draw in that list.
   */
  drawOffset?: number;
  /** Batches decoded ahead of the one the consumer holds. Default 2. */
  prefetch?: number;
  /** Images decoded at once, over all prefetched batches. Default 4. */
  concurrency?: number;
  cache?: UInt8Cache;
  /**
   * An image that cannot be decoded is dropped from its batch ("skip", for training) or kept as a
   * zero row listed in `batch.failed` ("flag", for prediction, so outputs line up with files).
   */
  onError?: "skip" | "flag";
  /** Receives a message naming each broken file. Default console.warn. */
  warn?: (message: string) => void;
}

/** The image order of an epoch: a function of (seed, epoch) only, so an epoch can be replayed. */
export function epochOrder(count: number, options: { shuffle?: boolean; seed?: number; epoch?: number }): number[] {
  const order = Array.from({ length: count }, (_, i) => i);
  if (!options.shuffle) return order;
  return new Rng(hashSeed(options.seed ?? 0, "order", options.epoch ?? 0)).shuffle(order);
}

/**
 * The ColorJitter brightness factor of one image in one epoch, uniform in
 * [max(0, 1 - amount), 1 + amount]: independent of the order and of batch boundaries.
 */
export function brightnessFactor(amount: number, seed: number, epoch: number, index: number): number {
  return jitterFactor("brightness", amount, seed, epoch, index);
}

/**
 * Decoded, resized and cropped uint8 images (before augmentation and normalisation), kept in memory
 * up to `maxBytes`; with random crops, the whole resized images instead (`whole`). When full it
 * stops adding rather than evicting: with a shuffled order each epoch, evicting would churn without
 * raising the hit rate.
 */
export class UInt8Cache {
  private readonly entries = new Map<string, RgbImage>();
  bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The centre crop's pixels. */
  get(file: string, spec: PreprocessSpec): Uint8Array | undefined {
    return this.getImage(file, spec, false)?.data;
  }

  /** Returns false when the image did not fit. */
  set(file: string, spec: PreprocessSpec, pixels: Uint8Array): boolean {
    return this.setImage(file, spec, false, { data: pixels, width: spec.crop, height: spec.crop });
  }

  /** The whole resized image (`whole`) or its centre crop. */
  getImage(file: string, spec: PreprocessSpec, whole: boolean): RgbImage | undefined {
    const image = this.entries.get(cacheKey(file, spec, whole));
    if (image) this.hits++;
    else this.misses++;
    return image;
  }

  setImage(file: string, spec: PreprocessSpec, whole: boolean, image: RgbImage): boolean {
    const key = cacheKey(file, spec, whole);
    if (this.entries.has(key)) return true;
    if (this.bytes + image.data.byteLength > this.maxBytes) return false;
    this.entries.set(key, image);
    this.bytes += image.data.byteLength;
    return true;
  }
}

function cacheKey(file: string, spec: PreprocessSpec, whole: boolean): string {
  return `${spec.resize}/${whole ? "whole" : `${spec.crop}@${spec.window ?? 0.5}`}:${file}`;
}

interface DecodedBatch {
  rows: number;
  x: Float32Array;
  labels: Int32Array;
  files: string[];
  indices: number[];
  failed: number[];
}

export class ImageBatches implements AsyncIterable<ImageBatch> {
  readonly spec: PreprocessSpec;
  /** Counts over every iteration of this object. */
  readonly stats = { batchesDecoded: 0, imagesDecoded: 0, failures: [] as DecodeFailure[] };
  private readonly limit: <T>(work: () => Promise<T>) => Promise<T>;

  constructor(
    private readonly images: readonly BatchImage[],
    private readonly options: ImageBatchOptions,
  ) {
    const { batchSize, prefetch = 2, concurrency = 4, startBatch = 0, augment, drawOffset = 0 } = options;
    requireInteger("batchSize", batchSize, 1);
    requireInteger("drawOffset", drawOffset, 0);
    requireInteger("prefetch", prefetch, 0);
    requireInteger("concurrency", concurrency, 1);
    requireInteger("startBatch", startBatch, 0);
    if (augment) checkAugmentSpec(augment);
    this.spec = preprocessSpec(options.size, options.convention, options.window);
    this.limit = concurrencyLimit(concurrency);
  }

  /** Batches this epoch yields, counting from startBatch (fewer if whole batches fail to decode). */
  get batchCount(): number {
    return Math.max(0, Math.ceil(this.images.length / this.options.batchSize) - (this.options.startBatch ?? 0));
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<ImageBatch> {
    const plan = this.plan();
    const prefetch = this.options.prefetch ?? 2;
    const pending: Promise<DecodedBatch>[] = [];
    let scheduled = 0;
    const scheduleNext = () => {
      if (scheduled < plan.length) pending.push(this.decodeBatch(plan[scheduled++]));
    };
    try {
      for (let i = 0; i <= prefetch; i++) scheduleNext();
      while (pending.length > 0) {
        const batch = await pending.shift()!;
        if (batch.rows > 0) yield toTensors(batch, this.spec.crop);
        scheduleNext();
      }
    } finally {
      // The consumer stopped early: the decodes under way finish unobserved.
      for (const promise of pending) promise.catch(() => undefined);
    }
  }

  private plan(): number[][] {
    const { batchSize, shuffle, seed, epoch, startBatch = 0 } = this.options;
    const order = epochOrder(this.images.length, { shuffle, seed, epoch });
    const batches: number[][] = [];
    for (let start = startBatch * batchSize; start < order.length; start += batchSize) {
      batches.push(order.slice(start, start + batchSize));
    }
    return batches;
  }

  private async decodeBatch(indices: number[]): Promise<DecodedBatch> {
    const pixelsPerImage = this.spec.crop * this.spec.crop * 3;
    const x = new Float32Array(indices.length * pixelsPerImage);
    const decoded = await Promise.all(
      indices.map((index, row) => this.limit(() => this.decodeInto(index, x, row * pixelsPerImage))),
    );
    const keepFailed = this.options.onError === "flag";
    const rows: number[] = [];
    const failed: number[] = [];
    decoded.forEach((ok, row) => {
      if (!ok && keepFailed) failed.push(rows.length);
      if (ok || keepFailed) rows.push(row);
    });
    rows.forEach((row, to) => {
      if (to !== row) x.copyWithin(to * pixelsPerImage, row * pixelsPerImage, (row + 1) * pixelsPerImage);
    });
    this.stats.batchesDecoded++;
    return {
      rows: rows.length,
      x: x.subarray(0, rows.length * pixelsPerImage),
      labels: Int32Array.from(rows, (row) => this.images[indices[row]].label ?? -1),
      files: rows.map((row) => this.images[indices[row]].file),
      indices: rows.map((row) => indices[row]),
      failed,
    };
  }

  /** Writes image `index` into `out` at `offset`; false (with a warning) when it cannot be decoded. */
  private async decodeInto(index: number, out: Float32Array, offset: number): Promise<boolean> {
    const { file } = this.images[index];
    const { cache, augment, seed = 0, epoch = 0, drawOffset = 0 } = this.options;
    const whole = augment !== undefined && needsWholeImage(augment);
    let image = cache?.getImage(file, this.spec, whole);
    if (!image) {
      try {
        image = whole ? await decodeResizedImage(file, this.spec) : this.asCrop(await decodeResized(file, this.spec));
      } catch (error) {
        const reason = (error as Error).message;
        this.stats.failures.push({ file, index, reason });
        const what = this.options.onError === "flag" ? "kept as a zero row in batch.failed" : "image skipped";
        (this.options.warn ?? console.warn)(`${reason} (${what})`);
        return false;
      }
      this.stats.imagesDecoded++;
      cache?.setImage(file, this.spec, whole, image);
    }
    if (!augment) {
      toNormalizedFloat(image.data, this.spec, { out, offset });
    } else {
      const draw = drawAugmentation(augment, seed, epoch, drawOffset + index, cropFrame(image, this.spec.crop));
      augmentToNormalizedFloat(image, this.spec, draw, { out, offset });
    }
    return true;
  }

  private asCrop(pixels: Uint8Array): RgbImage {
    return { data: pixels, width: this.spec.crop, height: this.spec.crop };
  }
}

function toTensors(batch: DecodedBatch, size: number): ImageBatch {
  return {
    x: tf.tensor4d(batch.x, [batch.rows, size, size, 3], "float32"),
    y: tf.tensor1d(batch.labels, "int32"),
    files: batch.files,
    indices: batch.indices,
    failed: batch.failed,
  };
}

function requireInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${value}`);
}

/** At most `concurrency` works run at once; the others wait in call order. */
function concurrencyLimit(concurrency: number): <T>(work: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (work) => {
    if (active < concurrency) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve)); // the permit is handed over
    try {
      return await work();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}
