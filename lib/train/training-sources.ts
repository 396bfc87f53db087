// The train and validation batches of a Learner, from a backbone and a split manifest: images
// through the whole model, or, when the model is frozen below some block and a feature cache folder
// is given, the frozen trunk's features (cached on disk, see feature-cache.ts) with the trainable
// top that trains on them. Notebooks 03, 04 (through trainOnce) and 05 build their batches here.
import type * as tf from "@tensorflow/tfjs";
import type { AugmentSpec } from "../data/augment";
import { UInt8Cache } from "../data/batches";
import type { ModelInput } from "../data/input-convention";
import { checkWindows } from "../data/preprocess";
import { trainingImages, validationImages, type SplitManifest } from "../data/manifest";
import type { LabelledImage } from "../data/scan";
import { splitAtFreezePoint } from "../models/split";
import { defaultShares, SharedParallelTrunk } from "../parallel/parallel-trunk";
import { cachedFeatureSource, trunkDigest, type FeatureSource } from "./feature-cache";
import type { BatchSource } from "./batch-source";
import { imageSource, labelledItems, multiViewSource } from "./sources";

export interface TrainingSourceOptions {
  batchSize: number;
  seed: number;
  /** Epochs the sources serve: no more augmentation draws than this are worth caching. */
  epochs: number;
  /** Training augmentation; validation images are never augmented. */
  augment?: AugmentSpec;
  /**
   * Folder of the frozen-trunk feature cache (e.g. data/cache/features); "" or omitted: images
   * through the whole model. Used only when layers before the first trainable one are frozen.
   */
  featureCache?: string;
  /**
   * Augmentation draws cached per training image, epoch e reading draw e mod draws; 0 or omitted:
   * one per epoch, which trains exactly what training on the images trains. At most `epochs`.
   */
  draws?: number;
  /**
   * Validation sees each image through these windows along its long side, probabilities averaged
   * (see PreprocessSpec.window): [0, 0.5, 1] covers the whole of an elongated photo. Default [0.5],
   * the centre crop alone.
   */
  windows?: readonly number[];
  /** The validation images join the training set (the final retrain); there is no validation source then. */
  mergeValidation?: boolean;
  /**
   * Images appended to the training set, e.g. pseudo-labelled test images (paths relative to the
   * manifest's root, like its own); the training set's cached features serve, only these are extracted.
   */
  extraTrain?: readonly LabelledImage[];
  /** Decoded images kept between epochs and extractions: a cache shared with other sources… */
  decodeCache?: UInt8Cache;
  /** … or a new one of this many bytes (0 or omitted: none). */
  cacheBytes?: number;
  /** Names the sets in progress lines: "<label> train", "<label> valid". */
  label?: string;
  /** Threads extracting features, kept for every draw and window (default: see defaultShares in lib/parallel/parallel-trunk.ts). */
  shares?: number;
}

export interface TrainingSources {
  train: BatchSource;
  /** Absent with mergeValidation. */
  valid?: BatchSource;
  /** The top to give the Learner (`top`) when the batches hold trunk features; it shares the model's layers. */
  top?: tf.LayersModel;
  /** What the batches are, in one line for a notebook's output. */
  description: string;
  /** Seconds spent computing trunk features (0 on images, or when every set came from the cache). */
  extractSeconds: number;
  /** Frees the top; call it after disposing the model (see trainOnce), or never while the model lives. */
  dispose(): void;
}

/** Batches of `manifest`'s images for training `net.model`: cached trunk features when it can, images otherwise. */
export async function trainingSources(net: { model: tf.LayersModel; input: ModelInput }, manifest: SplitManifest, options: TrainingSourceOptions): Promise<TrainingSources> {
  const { batchSize, seed, mergeValidation = false } = options;
  const augment = options.augment && Object.keys(options.augment).length > 0 ? options.augment : undefined;
  const decodeCache = options.decodeCache ?? (options.cacheBytes ? new UInt8Cache(options.cacheBytes) : undefined);
  const windows = checkWindows(options.windows ?? [0.5]);
  const trainImages = [...trainingImages(manifest, { mergeValidation }), ...(options.extraTrain ?? [])];
  const validImages = validationImages(manifest, { mergeValidation });
  const split = options.featureCache ? splitAtFreezePoint(net.model) : undefined;
  if (!split) {
    const base = { batchSize, ...net.input, seed, cache: decodeCache };
    const why = !options.featureCache ? "" : " (nothing frozen to cache)";
    return {
      train: imageSource(manifest, trainImages, { ...base, shuffle: true, augment }),
      valid: mergeValidation ? undefined : multiViewSource(windows.map((window) => imageSource(manifest, validImages, { ...base, window }))),
      description: `training on images through the whole model${why}: ${counts(trainImages.length, validImages.length, mergeValidation)}`,
      extractSeconds: 0,
      dispose: () => undefined,
    };
  }
  const epochs = Math.max(1, options.epochs);
  const draws = Math.min(options.draws || epochs, epochs);
  const prefix = options.label ? `${options.label} ` : "";
  // One set of extraction threads for every draw and window (started only if one is not cached).
  const threads = new SharedParallelTrunk(split.trunk, options.shares ?? defaultShares(Math.ceil(trainImages.length / batchSize)));
  const base = { dir: options.featureCache!, ...net.input, batchSize, seed, decodeCache, digest: trunkDigest(split.trunk), threads };
  // The final retrain's list is the training set, then the validation images (and any extra images): the training set's cached rows serve.
  const cachedPrefix = trainImages.length > manifest.train.length ? labelledItems(manifest, manifest.train) : undefined;
  let train: FeatureSource;
  const validViews: FeatureSource[] = [];
  try {
    train = await cachedFeatureSource(split.trunk, labelledItems(manifest, trainImages), { ...base, shuffle: true, augment, draws, label: `${prefix}train`, cachedPrefix });
    for (const window of mergeValidation ? [] : windows) {
      const label = `${prefix}valid${windows.length > 1 ? ` window ${window}` : ""}`;
      validViews.push(await cachedFeatureSource(split.trunk, labelledItems(manifest, validImages), { ...base, window, label }));
    }
  } finally {
    await threads.close();
  }
  const valid = validViews.length ? multiViewSource(validViews) : undefined;
  const validSeconds = validViews.reduce((sum, view) => sum + view.extractSeconds, 0);
  const sets = [describeSet("train", [train]), ...(validViews.length ? [describeSet("valid", validViews)] : [])];
  return {
    train,
    valid,
    top: split.top,
    description: `training the top on cached trunk features (cut at ${split.cut}, ${split.featureShape.join("x")} per image, in ${options.featureCache}): ${sets.join("; ")}`,
    extractSeconds: train.extractSeconds + validSeconds,
    dispose: () => split.top.dispose(),
  };
}

function counts(train: number, valid: number, merged: boolean): string {
  return merged ? `${train} training images (validation included)` : `${train} training images, ${valid} validation images`;
}

/** "train 1000 images x 3 draws, computed in 12.3 s on 2 threads" or "..., read from the cache"; several views: "x 3 windows". */
function describeSet(name: string, views: readonly FeatureSource[]): string {
  const allSets = views.flatMap((view) => view.sets);
  const draws = views[0].sets.length > 1 ? ` x ${views[0].sets.length} draws` : "";
  const windows = views.length > 1 ? ` x ${views.length} windows` : "";
  const computed = allSets.filter((set) => !set.fromDisk);
  const seconds = computed.reduce((sum, set) => sum + set.seconds, 0);
  const threads = Math.max(...computed.map((set) => set.threads), 0);
  const reused = Math.max(...computed.map((set) => set.reusedRows ?? 0), 0);
  const status = computed.length === 0
    ? "read from the cache"
    : `${computed.length < allSets.length ? `${allSets.length - computed.length} read from the cache, ${computed.length} ` : ""}computed in ${seconds.toFixed(1)} s on ${threads} thread${threads > 1 ? "s" : ""}${reused ? ` (the first ${reused} images' rows from the cache)` : ""}`;
  return `${name} ${views[0].size} images${draws}${windows}, ${status}`;
}
