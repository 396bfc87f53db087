import * as fs from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../io";
import { plotDisplay, type LivePlot } from "../plot/plotly";
import { progress, type Progress } from "../progress";
import { inKernel } from "../tslab";
import { curvesFigure } from "./figures";
import type { BatchEnd, Callback, EpochRecord } from "./callback";
import type { Learner } from "./learner";
import { formatGiB } from "./weight-health";

/** One progress line per epoch with images/s and ETA, and a summary line when it ends. */
export class ShowProgress implements Callback {
  private bar?: Progress;
  private epoch = 0;

  onBatchEnd(_learner: Learner, batch: BatchEnd): void {
    if (batch.epoch !== this.epoch) {
      this.epoch = batch.epoch;
      this.bar = progress(`epoch ${batch.epoch}`, batch.totalImages, "images");
    }
    this.bar?.update(batch.images);
  }

  onEpochEnd(_learner: Learner, r: EpochRecord): void {
    const valid = r.validLoss === undefined ? "" : ` · valid loss ${r.validLoss.toFixed(4)} acc ${(100 * r.validAccuracy!).toFixed(2)}%`;
    const heap = r.wasmHeapBytes === undefined ? "" : ` · wasm heap ${formatGiB(r.wasmHeapBytes)}`;
    this.bar?.finish(`train loss ${r.trainLoss.toFixed(4)} acc ${(100 * r.trainAccuracy).toFixed(2)}%${valid}${heap}`);
    this.bar = undefined;
  }
}

/** One chart of the curves in the notebook, redrawn after every epoch (not one output per epoch). */
export class LiveCurves implements Callback {
  private chart?: LivePlot;
  constructor(private readonly title = "Training curves") {}

  onEpochEnd(learner: Learner): void {
    if (!inKernel()) return;
    this.chart ??= plotDisplay();
    this.chart.update(curvesFigure(learner.history, this.title));
  }
}

/**
 * `last.ckpt` after every epoch (to resume an interrupted run), `best.ckpt` whenever validation
 * loss improves, and `history.json`; all written atomically into `dir`.
 */
export class SaveCheckpoints implements Callback {
  readonly last: string;
  readonly best: string;
  readonly historyFile: string;

  constructor(readonly dir: string) {
    this.last = path.join(dir, "last.ckpt");
    this.best = path.join(dir, "best.ckpt");
    this.historyFile = path.join(dir, "history.json");
  }

  /** The epoch whose weights `best.ckpt` holds, from the history. */
  bestEpoch(learner: Learner): EpochRecord | undefined {
    return learner.history.reduce<EpochRecord | undefined>(
      (best, r) => (r.validLoss !== undefined && (best === undefined || r.validLoss < best.validLoss!) ? r : best),
      undefined,
    );
  }

  async onEpochEnd(learner: Learner, record: EpochRecord): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    if (this.bestEpoch(learner) === record) await learner.save(this.best);
    await learner.save(this.last);
    writeJsonAtomic(this.historyFile, learner.history);
  }
}

/** Stops training when validation accuracy has not improved for `patience` epochs (the seed stopped when it began to fall). */
export class EarlyStopping implements Callback {
  constructor(private readonly patience = 1, private readonly log: (line: string) => void = console.log) {}

  onEpochEnd(learner: Learner, record: EpochRecord): void {
    const scores = learner.history.map((r) => r.validAccuracy ?? -Infinity);
    const best = Math.max(...scores);
    const sinceBest = scores.length - 1 - scores.lastIndexOf(best);
    if (record.validAccuracy !== undefined && sinceBest >= this.patience) {
      learner.stopped = true;
      this.log(`early stop after epoch ${record.epoch}: validation accuracy has not improved for ${sinceBest} epoch(s) (best ${(100 * best).toFixed(2)}%)`);
    }
  }
}
