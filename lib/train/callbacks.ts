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
 * loss improves, and `history.json`; all written atomically into `dir`. With a `recipe` (the
 * settings a run trains with), `recipe.json` too, and `resume` refuses a checkpoint trained under
 * another one rather than carrying on, or returning as finished, a run of other settings.
 */
export class SaveCheckpoints implements Callback {
  readonly last: string;
  readonly best: string;
  readonly historyFile: string;
  readonly recipeFile: string;

  constructor(readonly dir: string, private readonly options: { recipe?: Record<string, unknown> } = {}) {
    this.last = path.join(dir, "last.ckpt");
    this.best = path.join(dir, "best.ckpt");
    this.historyFile = path.join(dir, "history.json");
    this.recipeFile = path.join(dir, "recipe.json");
  }

  /** The epoch whose weights `best.ckpt` holds, from the history. */
  bestEpoch(learner: Learner): EpochRecord | undefined {
    return learner.history.reduce<EpochRecord | undefined>(
      (best, r) => (r.validLoss !== undefined && (best === undefined || r.validLoss < best.validLoss!) ? r : best),
      undefined,
    );
  }

  /** Restores `last.ckpt` into the learner when there is one (false when not), once its recipe is this run's. */
  async resume(learner: Learner): Promise<boolean> {
    if (!fs.existsSync(this.last)) return false;
    const { recipe } = this.options;
    if (recipe && fs.existsSync(this.recipeFile)) {
      const saved = JSON.parse(fs.readFileSync(this.recipeFile, "utf8")) as Record<string, unknown>;
      const changed = recipeChanges(saved, recipe);
      if (changed.length > 0) {
        throw new Error(
          `${this.dir} holds a run trained with other settings (${changed.join("; ")}): ` +
            `delete ${this.dir} to start over, or give this run a checkpoint folder of its own`,
        );
      }
    }
    await learner.restore(this.last);
    return true;
  }

  async onEpochEnd(learner: Learner, record: EpochRecord): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    if (this.options.recipe) writeJsonAtomic(this.recipeFile, this.options.recipe);
    if (this.bestEpoch(learner) === record) await learner.save(this.best);
    await learner.save(this.last);
    writeJsonAtomic(this.historyFile, learner.history);
  }
}

/** "name: saved → now" for each setting that differs between two recipes (as JSON, whatever the key order). */
export function recipeChanges(saved: Record<string, unknown>, now: Record<string, unknown>): string[] {
  const sorted = (_key: string, value: unknown) =>
    value && typeof value === "object" && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : 1))) : value;
  const show = (value: unknown) => (value === undefined ? "(none)" : JSON.stringify(value, sorted));
  return [...new Set([...Object.keys(saved), ...Object.keys(now)])]
    .filter((name) => show(saved[name]) !== show(now[name]))
    .map((name) => `${name}: ${show(saved[name])} → ${show(now[name])}`);
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
