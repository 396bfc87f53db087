// One model per fold on a feature bank: the notebook-05 recipe (one Adam per parameter group,
// step-decayed rates, early stop, best checkpoint by validation loss) trained on the other folds,
// evaluated on its own. Each fold is resumable: its checkpoints and, once done, its predictions
// live in <dir>/fold-<n>/ under a key of everything it depends on; a changed setting starts it over.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { foldParts } from "../data/folds";
import { writeJsonAtomic } from "../io";
import { EarlyStopping, SaveCheckpoints, ShowProgress } from "../train/callbacks";
import type { FeatureSet } from "../train/feature-cache";
import type { Callback } from "../train/callback";
import { defaultTrainingThreads, Learner } from "../train/learner";
import { groupsByPath } from "../train/sources";
import { bankRows, type FeatureBank, type FeatureRow } from "./feature-bank";
import { rowSource } from "./row-source";

export interface FoldRecipe {
  groupRates: Record<string, number>;
  /** Epochs at the base rates, then at each lower rate. */
  phaseEpochs: number[];
  lowerRates: number[];
  /** Epochs without a better validation accuracy before stopping. */
  patience: number;
  batchSize: number;
  seed: number;
  /** Training threads (default: defaultTrainingThreads(), both cores on wasm; 1 = the single-thread path). */
  threads?: number;
  /** Label smoothing of the training loss (default 0; see LearnerOptions.labelSmoothing). */
  labelSmoothing?: number;
}

export interface FoldResult {
  fold: number;
  /** Positions (into bank.items) of the fold's validation rows, in the order of `probabilities`. */
  valid: number[];
  /** [valid, classes] softmax probabilities of the best checkpoint: out of fold. */
  probabilities: number[];
  /** Per TTA view: probabilities of the rows of `valid` that are in the sample, in that order. */
  views: Record<string, { positions: number[]; probabilities: number[] }>;
  /** [test, classes] plain probabilities on bank.test. */
  test: number[];
  bestEpoch: number;
  epochs: number;
  validAccuracy: number;
  /** Training seconds (epochs), not counting what a resumed run did before. */
  seconds: number;
  /** Extra training rows (pseudo-labels) this fold trained with. */
  extraRows: number;
  checkpoint: string;
}

export interface TrainFoldsOptions {
  model: tf.LayersModel;
  /** The trainable top of `model` that reads the bank's features (splitAtFreezePoint). */
  top: tf.LayersModel;
  classes: readonly string[];
  bank: FeatureBank;
  /** Fold of each bank position (stratifiedFolds). */
  folds: readonly number[];
  recipe: FoldRecipe;
  /** Checkpoints and results, one folder per fold. */
  dir: string;
  /** Rows added to fold f's training set (pseudo-labelled test images). */
  extraRows?: (fold: number) => FeatureRow[];
  /** TTA views of the images at the `sample` positions, row i for sample[i] (viewFeatures of those items). */
  views?: Record<string, FeatureSet>;
  /** Bank positions on which the views are measured. */
  sample?: readonly number[];
  /** Train only these folds (default all). */
  only?: readonly number[];
  log?: (line: string) => void;
  callbacks?: Callback[];
}

/** Trains (or reads back) every fold in turn, each from the model's weights at the call; they are put back at the end. */
export async function trainFolds(options: TrainFoldsOptions): Promise<FoldResult[]> {
  const { model, top, classes, bank, folds, recipe, dir, log = console.log } = options;
  const k = Math.max(...folds) + 1;
  const initial = model.weights.map((w) => tf.keep(w.read().clone()));
  const sample = new Map((options.sample ?? []).map((position, i) => [position, i]));
  const results: FoldResult[] = [];
  try {
    for (let fold = 0; fold < k; fold++) {
      if (options.only && !options.only.includes(fold)) continue;
      const foldDir = path.join(dir, `fold-${fold}`);
      const parts = foldParts(folds, fold);
      const extra = options.extraRows?.(fold) ?? [];
      const key = foldKey(bank, parts.valid, recipe, extra, Object.keys(options.views ?? {}), [...sample.keys()]);
      const done = readResult(foldDir, key);
      if (done) {
        log(`fold ${fold + 1}/${k}: read back from ${foldDir} (validation accuracy ${(100 * done.validAccuracy).toFixed(2)}%)`);
        results.push(done);
        continue;
      }
      if (readKey(foldDir) !== key) fs.rmSync(foldDir, { recursive: true, force: true });
      fs.mkdirSync(foldDir, { recursive: true });
      fs.writeFileSync(path.join(foldDir, "key.txt"), key);
      model.weights.forEach((w, i) => w.write(initial[i]));
      const checkpoints = new SaveCheckpoints(foldDir);
      const validRows = bankRows(bank, parts.valid, [bank.plain]);
      const learner = new Learner({
        model,
        top,
        groups: groupsByPath(model, recipe.groupRates),
        train: rowSource([...bankRows(bank, parts.train), ...extra], { batchSize: recipe.batchSize, shuffle: true, seed: recipe.seed * 1000 + fold }),
        valid: rowSource(validRows, { batchSize: recipe.batchSize }),
        classes,
        callbacks: [new ShowProgress(), checkpoints, new EarlyStopping(recipe.patience, log), ...(options.callbacks ?? [])],
        parallel: { shares: recipe.threads || defaultTrainingThreads() },
        labelSmoothing: recipe.labelSmoothing,
      });
      try {
        if (fs.existsSync(checkpoints.last)) await learner.restore(checkpoints.last);
        const before = learner.history.length;
        for (const [phase, epochs] of recipe.phaseEpochs.entries()) {
          if (phase > 0) learner.setLearningRates(recipe.lowerRates[phase - 1]);
          await learner.fit(epochs);
        }
        const best = checkpoints.bestEpoch(learner)!;
        learner.loadWeights(checkpoints.best);
        const evaluation = await learner.evaluate(rowSource(validRows, { batchSize: 256 }));
        const views: FoldResult["views"] = {};
        for (const [view, set] of Object.entries(options.views ?? {})) {
          const positions = validRows.filter((r) => sample.has(r.row)).map((r) => r.row);
          const rows = positions.map((p) => ({ sets: [set], row: sample.get(p)!, label: bank.labels[p], file: bank.items[p].file }));
          views[view] = { positions, probabilities: rows.length ? Array.from((await learner.evaluate(rowSource(rows, { batchSize: 256 }))).probabilities) : [] };
        }
        const test = bank.test.count ? Array.from(await predictRows(learner, testRows(bank.test))) : [];
        const result: FoldResult = {
          fold,
          valid: validRows.map((r) => r.row),
          probabilities: Array.from(evaluation.probabilities),
          views,
          test,
          bestEpoch: best.epoch,
          epochs: learner.history.length,
          validAccuracy: evaluation.accuracy,
          seconds: learner.history.slice(before).reduce((s, r) => s + r.seconds, 0),
          extraRows: extra.length,
          checkpoint: checkpoints.best,
        };
        writeJsonAtomic(path.join(foldDir, "result.json"), { key, ...result });
        log(`fold ${fold + 1}/${k}: best epoch ${best.epoch} of ${learner.history.length}, validation accuracy ${(100 * evaluation.accuracy).toFixed(2)}% (${validRows.length} images${extra.length ? `; trained with ${extra.length} pseudo-labelled test images` : ""})`);
        results.push(result);
      } finally {
        await learner.dispose();
      }
    }
  } finally {
    model.weights.forEach((w, i) => w.write(initial[i]));
    tf.dispose(initial);
  }
  return results;
}

/** Runs `fn` with a fold's best weights in the model, then puts the model's weights back. */
export async function withFoldWeights<T>(options: Pick<TrainFoldsOptions, "model" | "top" | "classes">, result: FoldResult, fn: () => Promise<T>): Promise<T> {
  const saved = options.model.weights.map((w) => tf.keep(w.read().clone()));
  const learner = new Learner({ ...options, groups: [], train: { size: 0, batches: async function* () {} }, classes: options.classes });
  try {
    learner.loadWeights(result.checkpoint);
    return await fn();
  } finally {
    options.model.weights.forEach((w, i) => w.write(saved[i]));
    tf.dispose(saved);
    await learner.dispose();
  }
}

/** Rows of a set of unlabelled features (label -1), in order. */
export function testRows(set: FeatureSet, file = (i: number) => String(i)): FeatureRow[] {
  return Array.from({ length: set.count }, (_, i) => ({ sets: [set], row: i, label: -1, file: file(i) }));
}

/** Each fold's best checkpoint (the model's weights are put back after) on `sets` (e.g. the test set's plain features and kept TTA views), probabilities averaged over folds and sets. */
export async function predictFolds(options: Pick<TrainFoldsOptions, "model" | "top" | "classes">, results: readonly FoldResult[], sets: readonly FeatureSet[]): Promise<Float32Array> {
  const { model, top, classes } = options;
  const sum = new Float32Array(sets[0].count * classes.length);
  const saved = model.weights.map((w) => tf.keep(w.read().clone()));
  try {
    for (const result of results) {
      const learner = new Learner({ model, top, groups: [], train: rowSource(testRows(sets[0]), { batchSize: 256 }), classes });
      try {
        learner.loadWeights(result.checkpoint);
        for (const set of sets) (await predictRows(learner, testRows(set))).forEach((p, i) => (sum[i] += p));
      } finally {
        await learner.dispose();
      }
    }
  } finally {
    model.weights.forEach((w, i) => w.write(saved[i]));
    tf.dispose(saved);
  }
  return sum.map((v) => v / (results.length * sets.length));
}

async function predictRows(learner: Learner, rows: FeatureRow[]): Promise<Float32Array> {
  return (await learner.evaluate(rowSource(rows, { batchSize: 256 }))).probabilities;
}

function foldKey(bank: FeatureBank, valid: readonly number[], recipe: FoldRecipe, extra: readonly FeatureRow[], views: string[], sample: number[]): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify({ digest: bank.digest, plain: bank.plain.key, draws: bank.draws.map((d) => d.key), test: bank.test.key, recipe, views, sample }));
  hash.update(JSON.stringify(valid));
  hash.update(JSON.stringify(extra.map((r) => [r.file, r.row, r.label])));
  return hash.digest("hex").slice(0, 32);
}

function readKey(dir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dir, "key.txt"), "utf8");
  } catch {
    return undefined;
  }
}

function readResult(dir: string, key: string): FoldResult | undefined {
  try {
    const { key: savedKey, ...saved } = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8")) as FoldResult & { key: string };
    return savedKey === key ? saved : undefined;
  } catch {
    return undefined;
  }
}
