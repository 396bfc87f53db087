// Batch sources for the Learner, built from a split manifest and the input pipeline.
import type { AugmentSpec } from "../data/augment";
import { ImageBatches, UInt8Cache, type BatchImage, type ImageBatchOptions } from "../data/batches";
import type { InputConventionName } from "../data/input-convention";
import { imagePath, type SplitManifest } from "../data/manifest";
import type { LabelledImage } from "../data/scan";
import * as tf from "@tensorflow/tfjs";
import { parameterGroups } from "../models/paths";
import type { Batch, BatchSource } from "./batch-source";
import type { OptimizerGroup } from "./learner";

export interface SourceOptions {
  batchSize: number;
  /** Model input size; images are resized to round(size * 255 / 224) and centre-cropped. */
  size: number;
  /** The model's input convention (spread a backbone's `input` to pass both). */
  convention?: InputConventionName;
  /** Where the crop sits along each image's long side (see PreprocessSpec.window); default the centre. */
  window?: number;
  /** Training only: a new seeded order every epoch. */
  shuffle?: boolean;
  seed?: number;
  /** Training augmentation (the seed: { brightness: 0.05 }); never for validation or test images. */
  augment?: AugmentSpec;
  /** Keep decoded uint8 images in memory up to this many bytes (0: no cache). */
  cacheBytes?: number;
  /** A decode cache shared with other sources (e.g. by the runs of a sweep); overrides cacheBytes. */
  cache?: UInt8Cache;
}

/** A BatchSource over labelled images; labels are indices into `classes`. */
export function imageSource(manifest: SplitManifest, images: readonly LabelledImage[], options: SourceOptions): BatchSource {
  const items = labelledItems(manifest, images);
  const cache = options.cache ?? (options.cacheBytes ? new UInt8Cache(options.cacheBytes) : undefined);
  const base: ImageBatchOptions = {
    batchSize: options.batchSize,
    size: options.size,
    convention: options.convention,
    window: options.window,
    shuffle: options.shuffle ?? false,
    seed: options.seed ?? 0,
    augment: options.augment && Object.keys(options.augment).length > 0 ? options.augment : undefined,
    cache,
  };
  return {
    size: items.length,
    batches(epoch: number): AsyncIterable<Batch> {
      return new ImageBatches(items, { ...base, epoch });
    },
  };
}

/**
 * One evaluation source out of several over the same images in the same order, each a different view
 * (e.g. a window along the long side): every batch holds a batch of each, view after view, and
 * Learner.evaluate averages their probabilities. A single view is returned as it is.
 */
export function multiViewSource(views: readonly BatchSource[]): BatchSource {
  if (views.length === 0) throw new Error("multiViewSource needs at least one view");
  if (views.length === 1) return views[0];
  if (views.some((view) => view.size !== views[0].size)) throw new Error(`the views hold different image counts: ${views.map((v) => v.size).join(", ")}`);
  return {
    size: views[0].size,
    async *batches(epoch: number): AsyncIterable<Batch> {
      const iterators = views.map((view) => view.batches(epoch)[Symbol.asyncIterator]());
      try {
        for (;;) {
          const steps = await Promise.all(iterators.map((it) => it.next()));
          if (steps.every((step) => step.done)) return;
          const batches = steps.map((step) => step.value as Batch | undefined);
          const first = batches[0];
          if (!first || batches.some((b) => !b || b.y.shape[0] !== first.y.shape[0])) {
            tf.dispose(batches.flatMap((b) => (b ? [b.x, b.y] : [])));
            throw new Error("the views of one evaluation batch hold different images (an image failed to decode in one view only?)");
          }
          const x = tf.concat(batches.map((b) => b!.x));
          tf.dispose(batches.flatMap((b, i) => (i === 0 ? [b!.x] : [b!.x, b!.y])));
          yield { x, y: first.y, files: first.files, views: views.length };
        }
      } finally {
        await Promise.all(iterators.map((it) => it.return?.()));
      }
    },
  };
}

/** Absolute paths and class indices of manifest images, as ImageBatches and the feature cache take them. */
export function labelledItems(manifest: SplitManifest, images: readonly LabelledImage[]): BatchImage[] {
  const index = new Map(manifest.classes.map((c, i) => [c, i]));
  const unknown = images.find((image) => !index.has(image.label));
  if (unknown) throw new Error(`${unknown.file} has label "${unknown.label}", which is not one of the manifest's classes`);
  return images.map((image) => ({ file: imagePath(manifest, image), label: index.get(image.label)! }));
}

/** Classes that appear in validation but have no training image: the model cannot learn them. */
export function classesMissingFromTraining(train: readonly LabelledImage[], valid: readonly LabelledImage[]): string[] {
  const trained = new Set(train.map((image) => image.label));
  return [...new Set(valid.map((image) => image.label))].filter((label) => !trained.has(label)).sort();
}

/**
 * Optimiser groups from torchvision paths and their learning rates, e.g. the seed's
 * `{ "layer3.18:": 5e-5, "layer4": 5e-5, "fc": 5e-4 }` (freeze the rest first with freezeBefore).
 */
export function groupsByPath(model: tf.LayersModel, rates: Record<string, number>): OptimizerGroup[] {
  return parameterGroups(model, rates).map((group) => ({ name: group.name, variables: group.variables, lr: group.options }));
}
