import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { readCheckpoint, writeCheckpoint } from "./checkpoint";
import type { Callback, EpochRecord } from "./callback";
import type { Learner } from "./learner";

interface AverageMeta {
  kind: "weight-average";
  epochs: number[];
}

/**
 * Stochastic weight averaging (Izmailov et al. 2018; PyTorch's `torch.optim.swa_utils.AveragedModel`
 * with `use_buffers=True`): the running mean of every model weight at the end of each epoch from
 * `fromEpoch` on. BatchNorm's moving statistics are averaged with the rest, so no pass over the data
 * (`update_bn`) follows. With `file` the mean is written there atomically after every epoch and a
 * resumed run continues it; put this callback after `SaveCheckpoints`, so that a checkpoint is never
 * behind the mean. `apply(model)` writes the mean into the model.
 */
export class AverageWeights implements Callback {
  private mean?: Map<string, tf.Tensor>;
  private averaged: number[] = [];

  constructor(readonly fromEpoch: number, readonly file?: string) {
    if (!(Number.isInteger(fromEpoch) && fromEpoch >= 1)) throw new Error(`AverageWeights: fromEpoch must be an epoch number >= 1, got ${fromEpoch}`);
  }

  /** The epochs in the mean so far. */
  get epochs(): readonly number[] {
    this.load();
    return this.averaged;
  }

  onFitStart(learner: Learner): void {
    this.load();
    const last = this.averaged.at(-1);
    if (last !== undefined && last > learner.epoch) {
      throw new Error(`${this.file} averages epochs up to ${last}, but the learner is at epoch ${learner.epoch}: it belongs to another run; delete it to start the average over`);
    }
    // The process died after the epoch's checkpoint and before the mean took it: the restored weights are that epoch's.
    const next = last === undefined ? this.fromEpoch : last + 1;
    if (learner.epoch >= next) {
      if (learner.epoch !== next) throw new Error(`the average${this.file ? ` in ${this.file}` : ""} misses epochs ${next}-${learner.epoch - 1} of the restored run: delete it and the checkpoints to start over`);
      this.add(learner.model, learner.epoch);
    }
  }

  onEpochEnd(learner: Learner, record: EpochRecord): void {
    if (record.epoch >= this.fromEpoch) this.add(learner.model, record.epoch);
  }

  /** Writes the mean into `model` (the one trained, or a fresh copy of its architecture). */
  apply(model: tf.LayersModel): void {
    this.load();
    if (!this.mean) throw new Error(`no weights averaged yet: training has not reached epoch ${this.fromEpoch}`);
    for (const w of model.weights) {
      const mean = this.mean.get(w.originalName);
      if (!mean || mean.shape.join("x") !== w.shape.join("x")) throw new Error(`the averaged weights have no ${w.originalName} of shape ${w.shape.join("x")}: they come from another architecture`);
      w.write(mean);
    }
  }

  dispose(): void {
    if (this.mean) tf.dispose([...this.mean.values()]);
    this.mean = undefined;
    this.averaged = [];
  }

  private add(model: tf.LayersModel, epoch: number): void {
    const n = this.averaged.length;
    const next = new Map<string, tf.Tensor>();
    for (const w of model.weights) {
      const old = this.mean?.get(w.originalName);
      // mean + (w - mean) / (n + 1): the running mean, as AveragedModel's default averaging function.
      next.set(w.originalName, tf.tidy(() => (old ? tf.add(old, tf.div(tf.sub(w.read(), old), n + 1)) : tf.clone(w.read()))));
    }
    if (this.mean) tf.dispose([...this.mean.values()]);
    this.mean = next;
    this.averaged = [...this.averaged, epoch];
    if (this.file) writeCheckpoint<AverageMeta>(this.file, { kind: "weight-average", epochs: this.averaged }, this.mean);
  }

  private load(): void {
    if (this.mean || !this.file || !fs.existsSync(this.file)) return;
    const { meta, tensors } = readCheckpoint<AverageMeta>(this.file);
    if (meta.kind !== "weight-average") {
      tf.dispose([...tensors.values()]);
      throw new Error(`${this.file} is not a weight average: choose another file`);
    }
    this.mean = tensors;
    this.averaged = meta.epochs;
  }
}
