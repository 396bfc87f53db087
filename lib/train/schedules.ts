import type { Callback, BatchEnd, EpochRecord } from "./callback";
import type { Learner } from "./learner";

export interface OneCycleOptions {
  /** Share of the cycle spent warming up (fastai's `pct_start`). */
  pctStart?: number;
  /** The cycle starts at max / divFactor (fastai's `div`). */
  divFactor?: number;
  /** ... and ends at max / finalDiv (fastai's `div_final`). */
  finalDiv?: number;
}

/**
 * fastai's one-cycle policy (`fit_one_cycle`): each group's rate rises from max / divFactor to its
 * max over the first `pctStart` of the steps and falls back to max / finalDiv, both halves on a
 * cosine. The rate is set before every batch from the position in the cycle alone, so a run resumed
 * from a checkpoint continues the same curve. Use it through `fitOneCycle`.
 */
export class OneCycle implements Callback {
  readonly pctStart: number;
  readonly divFactor: number;
  readonly finalDiv: number;
  private firstEpoch = 0;

  constructor(readonly maxRates: Record<string, number>, readonly epochs: number, options: OneCycleOptions = {}) {
    this.pctStart = options.pctStart ?? 0.25;
    this.divFactor = options.divFactor ?? 25;
    this.finalDiv = options.finalDiv ?? 1e5;
    if (!(epochs >= 1)) throw new Error(`a one-cycle schedule needs at least one epoch, got ${epochs}`);
    if (!(this.pctStart > 0 && this.pctStart < 1)) throw new Error(`pctStart must be in (0, 1), got ${this.pctStart}`);
    for (const [group, lr] of Object.entries(maxRates)) if (!(lr > 0)) throw new Error(`the maximum rate of ${group} must be > 0, got ${lr}`);
  }

  /** The factor on the maximum rates at `fraction` (0 to 1) of the cycle. */
  factorAt(fraction: number): number {
    const t = Math.min(Math.max(fraction, 0), 1);
    const cosine = (from: number, to: number, f: number) => to + ((from - to) * (1 + Math.cos(Math.PI * f))) / 2;
    return t < this.pctStart
      ? cosine(1 / this.divFactor, 1, t / this.pctStart)
      : cosine(1, 1 / this.finalDiv, (t - this.pctStart) / (1 - this.pctStart));
  }

  onFitStart(learner: Learner, plan: { fromEpoch: number; toEpoch: number }): void {
    this.firstEpoch = plan.toEpoch - this.epochs;
    this.setAt(learner, plan.fromEpoch - this.firstEpoch);
  }

  onBatchEnd(learner: Learner, batch: BatchEnd): void {
    this.setAt(learner, batch.epoch - 1 - this.firstEpoch + batch.images / batch.totalImages);
  }

  private setAt(learner: Learner, epochs: number): void {
    const factor = this.factorAt(epochs / this.epochs);
    learner.setLearningRates(Object.fromEntries(Object.entries(this.maxRates).map(([group, lr]) => [group, lr * factor])));
  }
}

/**
 * `epochs` more epochs under a one-cycle schedule peaking at `maxRates` (a rate per group name), like
 * fastai's `learn.fit_one_cycle(epochs, lr_max)`; the learner's other callbacks run as usual.
 */
export async function fitOneCycle(learner: Learner, epochs: number, maxRates: Record<string, number>, options: OneCycleOptions = {}): Promise<EpochRecord[]> {
  const schedule = new OneCycle(maxRates, epochs, options);
  learner.callbacks.unshift(schedule);
  try {
    return await learner.fit(epochs);
  } finally {
    learner.callbacks.splice(learner.callbacks.indexOf(schedule), 1);
  }
}

/** The seed's step schedule: `epochs[0]` epochs at the learner's rates, then `epochs[i]` at `lowerRates[i - 1]`. */
export async function fitPhases(learner: Learner, epochs: readonly number[], lowerRates: readonly (number | Record<string, number>)[]): Promise<EpochRecord[]> {
  if (lowerRates.length < epochs.length - 1) throw new Error(`${epochs.length} phases need ${epochs.length - 1} lower rates, got ${lowerRates.length}`);
  const records: EpochRecord[] = [];
  for (const [phase, n] of epochs.entries()) {
    if (phase > 0) learner.setLearningRates(lowerRates[phase - 1]);
    records.push(...(await learner.fit(n)));
  }
  return records;
}

/** A training schedule by name, as notebook 05's parameters give it. */
export interface ScheduleSpec {
  /** "one-cycle" (fitOneCycle) or "steps" (fitPhases). */
  schedule: string;
  /** The base rate per group: one-cycle peaks at `oneCyclePeak` times these; steps start at them. */
  rates: Record<string, number>;
  oneCyclePeak: number;
  phaseEpochs: readonly number[];
  lowerRates: readonly (number | Record<string, number>)[];
}

/** `epochs` more epochs under `spec`: one cycle over all of them, or the steps' phases cut to `epochs` in all. */
export async function fitSchedule(learner: Learner, epochs: number, spec: ScheduleSpec): Promise<EpochRecord[]> {
  if (spec.schedule === "one-cycle") {
    return fitOneCycle(learner, epochs, Object.fromEntries(Object.entries(spec.rates).map(([group, lr]) => [group, lr * spec.oneCyclePeak])));
  }
  if (spec.schedule !== "steps") throw new Error(`schedule must be "one-cycle" or "steps", got "${spec.schedule}"`);
  let left = epochs;
  const phases = spec.phaseEpochs.map((n) => {
    const taken = Math.min(n, left);
    left -= taken;
    return taken;
  });
  return fitPhases(learner, phases, spec.lowerRates);
}
