// One training run of an experiment notebook (03, 04): a backbone with a new head, some top blocks
// unfrozen, a fixed number of epochs, validation accuracy per epoch. Everything that varies between
// the runs of a study is a setting, everything else is held fixed, and runs are reproducible from
// their seed (head initialisation, epoch order, augmentation draws).
import * as tf from "@tensorflow/tfjs";
import { UInt8Cache, type ImageBatchOptions } from "../data/batches";
import type { SplitManifest } from "../data/manifest";
import { parametersOf, unfreezeTop } from "../models";
import { loadBackbone, type BackboneProvenance } from "../models/backbone";
import { progress } from "../progress";
import type { Callback, EpochRecord } from "../train/callback";
import { defaultTrainingThreads, Learner, type OptimizerGroup } from "../train/learner";
import { trainingSources, type TrainingSources } from "../train/training-sources";

export interface ExperimentSettings {
  /** Shown in tables and charts, e.g. "hue 0.1" or "pretrained · 2 blocks". */
  label: string;
  /** An architecture (mobilenet_v2, resnet18, ...) or a Keras-converted model.json / folder. */
  backbone: string;
  widthMultiplier?: number;
  imageSize: number;
  /** "embedded", a .pth / model folder / .ckpt path, "random", or "" (an architecture: random init; a package backbone: its own). */
  weights: string;
  /** Blocks trained below the head: 0 = head only, -1 = all. */
  unfreeze: number;
  epochs: number;
  batchSize: number;
  /** Adam rates of the new head and of the unfrozen blocks below it. */
  rates: { head: number; body: number };
  /** Training augmentation (validation is never augmented). */
  augment?: ImageBatchOptions["augment"];
  seed: number;
  /** Folder of the frozen-trunk feature cache; "" trains on images through the whole model. */
  featureCache: string;
  /** Augmentation draws cached per image (default: one per epoch, which repeats uncached training exactly). */
  draws?: number;
  /** Training threads (default: defaultTrainingThreads(), both cores on wasm; 1 = the single-thread path). */
  threads?: number;
}

export interface ExperimentResult {
  label: string;
  seed: number;
  weights: string;
  /** Whether the backbone started from pretrained weights, for the pretrained-vs-random comparison. */
  pretrained: boolean;
  /** Where the backbone and its weights came from (package version and integrity, weight hashes). */
  provenance: BackboneProvenance;
  unfreeze: number;
  augment: ImageBatchOptions["augment"] | null;
  /** The first trainable block ("" = all train). */
  freezePoint: string;
  trainableParams: number;
  bestValidAccuracy: number;
  bestEpoch: number;
  finalValidAccuracy: number;
  history: EpochRecord[];
  /** Wall time of the whole run, feature extraction included. */
  seconds: number;
  extractSeconds: number;
  /** Whether training ran on cached trunk features. */
  cached: boolean;
}

/**
 * Decoded images shared by every run in this process: a sweep decodes each image once, not once
 * per run. Bounded; when full it stops adding (see UInt8Cache).
 */
const decoded = new UInt8Cache(2 ** 30);

/** Trains one setting from scratch and reports validation accuracy per epoch. */
export interface TrainOnceOptions {
  callbacks?: Callback[];
  /** Decoded images kept between runs; default one cache shared by every run in this process. */
  decodeCache?: UInt8Cache;
}

export async function trainOnce(manifest: SplitManifest, settings: ExperimentSettings, options: TrainOnceOptions = {}): Promise<ExperimentResult> {
  const { callbacks = [], decodeCache = decoded } = options;
  const started = Date.now();
  const classes = manifest.classes;
  const { model, input, provenance } = await loadBackbone(settings.backbone, {
    numClasses: classes.length, imageSize: settings.imageSize, widthMultiplier: settings.widthMultiplier, weights: settings.weights, seed: settings.seed,
  });
  let sources: TrainingSources | undefined;
  try {
    const freezePoint = unfreezeTop(model, settings.unfreeze);
    sources = await trainingSources({ model, input }, manifest, {
      batchSize: settings.batchSize, seed: settings.seed, epochs: settings.epochs, augment: settings.augment, draws: settings.draws,
      featureCache: settings.featureCache, decodeCache, label: settings.label,
    });
    const learner = new Learner({ model, top: sources.top, groups: headAndBody(model, settings.rates), train: sources.train, valid: sources.valid, classes, callbacks: [new EpochProgress(settings.label, settings.epochs), ...callbacks], parallel: { shares: settings.threads || defaultTrainingThreads() } });
    const history = await learner.fit(settings.epochs).finally(() => learner.dispose());
    const best = history.reduce((a, b) => ((b.validAccuracy ?? 0) > (a.validAccuracy ?? 0) ? b : a));
    return {
      label: settings.label,
      seed: settings.seed,
      weights: settings.weights,
      pretrained: provenance.weights !== "random init",
      provenance,
      unfreeze: settings.unfreeze,
      augment: settings.augment ?? null,
      freezePoint,
      trainableParams: model.trainableWeights.reduce((n, w) => n + (w.shape as number[]).reduce((a, b) => a * b, 1), 0),
      bestValidAccuracy: best.validAccuracy ?? NaN,
      bestEpoch: best.epoch,
      finalValidAccuracy: history[history.length - 1].validAccuracy ?? NaN,
      history,
      seconds: (Date.now() - started) / 1000,
      extractSeconds: sources.extractSeconds,
      cached: sources.top !== undefined,
    };
  } finally {
    // A layer counts the times it was applied: the top's layers were applied twice (in the model
    // and in the top), the trunk's once, so disposing the model and then the top frees them all.
    model.dispose();
    sources?.dispose();
  }
}

/** How a setting of `unfreeze` reads in tables and charts: "head only", "head + 2", "all". */
export function unfreezeLabel(blocks: number): string {
  return blocks === -1 ? "all" : blocks === 0 ? "head only" : `head + ${blocks}`;
}

/** Two Adam groups: the new head (the model's last block) and every other trainable layer. */
export function headAndBody(model: tf.LayersModel, rates: { head: number; body: number }): OptimizerGroup[] {
  const withParams = model.layers.filter((layer) => parametersOf(layer).length > 0);
  const head = withParams[withParams.length - 1];
  const body = withParams.filter((layer) => layer !== head).flatMap((layer) => layer.trainableWeights);
  const groups: OptimizerGroup[] = [{ name: "head", variables: head.trainableWeights, lr: rates.head }];
  if (body.length > 0) groups.push({ name: "body", variables: body, lr: rates.body });
  return groups;
}

/** One line per run that advances by epoch and ends with the best validation accuracy. */
class EpochProgress implements Callback {
  private readonly bar;
  private best = 0;

  constructor(label: string, epochs: number) {
    this.bar = progress(label, epochs, "epochs");
  }

  onEpochEnd(learner: Learner, record: EpochRecord): void {
    this.best = Math.max(this.best, record.validAccuracy ?? 0);
    this.bar.update(learner.epoch);
  }

  onFitEnd(): void {
    this.bar.finish(`best valid acc ${(100 * this.best).toFixed(2)}%`);
  }
}
