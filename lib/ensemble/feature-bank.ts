// Cached trunk features of every labelled image (train + valid of a split) and of the test images,
// computed once and shared by all folds and rounds. The train and valid lists are cached under the
// same keys notebook 05 uses (same trunk, preprocessing, augmentation, seed and image list), so
// after notebook 05 only what it did not need is computed: the training images without
// augmentation and the validation images' augmentation draws.
import type * as tf from "@tensorflow/tfjs";
import type { AugmentSpec } from "../data/augment";
import type { BatchImage, UInt8Cache } from "../data/batches";
import type { ModelInput } from "../data/input-convention";
import { trainingImages, validationImages, type SplitManifest } from "../data/manifest";
import { cachedFeatures, trunkDigest, type FeatureCacheOptions, type FeatureSet } from "../train/feature-cache";
import { labelledItems } from "../train/sources";

export interface FeatureBank {
  /** Every labelled image: the split's training images, then its validation images. */
  items: BatchImage[];
  labels: number[];
  /** Features without augmentation, for validation and prediction. */
  plain: FeatureSet;
  /** Augmentation draws for training (epoch e reads draw e mod length); [plain] without augmentation. */
  draws: FeatureSet[];
  /** Features without augmentation of `tests` (may be empty). */
  test: FeatureSet;
  testItems: BatchImage[];
  digest: string;
  /** Seconds spent computing (0 when everything came from the cache). */
  extractSeconds: number;
}

export interface FeatureBankOptions {
  dir: string;
  batchSize: number;
  seed: number;
  augment?: AugmentSpec;
  /** Augmentation draws to cache (as notebook 05: min(draws || epochs, epochs)). */
  draws: number;
  decodeCache?: UInt8Cache;
  shares?: number;
}

export async function featureBank(trunk: tf.LayersModel, input: ModelInput, manifest: SplitManifest, testFiles: readonly string[], options: FeatureBankOptions): Promise<FeatureBank> {
  const digest = trunkDigest(trunk);
  const augment = options.augment && Object.keys(options.augment).length > 0 ? options.augment : undefined;
  const base: FeatureCacheOptions = { dir: options.dir, ...input, batchSize: options.batchSize, seed: options.seed, decodeCache: options.decodeCache, shares: options.shares };
  const trainItems = labelledItems(manifest, trainingImages(manifest));
  const validItems = labelledItems(manifest, validationImages(manifest));
  const testItems = testFiles.map((file) => ({ file }));
  let seconds = 0;
  const get = async (items: BatchImage[], label: string, draw = 0, augmented = false): Promise<FeatureSet> => {
    const set = await cachedFeatures(trunk, items, augmented ? { ...base, augment, draws: options.draws, label } : { ...base, label }, draw, digest);
    seconds += set.seconds;
    return set;
  };
  const plain = concatSets([await get(trainItems, "train"), await get(validItems, "valid")]);
  const draws: FeatureSet[] = [];
  if (augment) {
    for (let d = 0; d < Math.max(1, options.draws); d++) draws.push(concatSets([await get(trainItems, "train", d, true), await get(validItems, "valid", d, true)]));
  } else draws.push(plain);
  const test = testItems.length ? await get(testItems, "test") : emptySet(plain.shape);
  const items = [...trainItems, ...validItems];
  return { items, labels: items.map((item) => item.label!), plain, draws, test, testItems, digest, extractSeconds: seconds };
}

/** One set of the rows of several, in order. */
export function concatSets(sets: readonly FeatureSet[]): FeatureSet {
  const count = sets.reduce((n, s) => n + s.count, 0);
  const data = new Float32Array(sets.reduce((n, s) => n + s.data.length, 0));
  const failed: number[] = [];
  let [offset, rows] = [0, 0];
  for (const set of sets) {
    data.set(set.data, offset);
    failed.push(...set.failed.map((i) => i + rows));
    offset += set.data.length;
    rows += set.count;
  }
  return { key: sets.map((s) => s.key).join("+"), shape: sets[0].shape, count, data, failed, fromDisk: sets.every((s) => s.fromDisk), seconds: sets.reduce((n, s) => n + s.seconds, 0), threads: Math.max(...sets.map((s) => s.threads)) };
}

function emptySet(shape: number[]): FeatureSet {
  return { key: "", shape, count: 0, data: new Float32Array(0), failed: [], fromDisk: true, seconds: 0, threads: 0 };
}

/** A training or evaluation example: a row of features (per draw) with its label. */
export interface FeatureRow {
  /** Row `row` of each set in `sets` (cycled by epoch when training). */
  sets: readonly FeatureSet[];
  row: number;
  label: number;
  file: string;
}

/** Rows of a bank's sets: positions into bank.items, labelled with their true classes. */
export function bankRows(bank: FeatureBank, positions: readonly number[], sets: readonly FeatureSet[] = bank.draws): FeatureRow[] {
  return positions.filter((i) => !sets.some((s) => s.failed.includes(i))).map((i) => ({ sets, row: i, label: bank.labels[i], file: bank.items[i].file }));
}
