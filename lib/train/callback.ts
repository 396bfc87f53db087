import type { Learner } from "./learner";

export interface EpochRecord {
  /** 1-based, counted over the learner's whole life. */
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  validLoss?: number;
  validAccuracy?: number;
  seconds: number;
  lrs: Record<string, number>;
  /** The wasm backend's heap at the end of the epoch (wasm32 allows 4 GiB); absent on other backends. */
  wasmHeapBytes?: number;
  /** Threads that computed the training steps (the `parallel` option's shares, else 1). */
  threads?: number;
}

export interface BatchEnd {
  epoch: number;
  images: number;
  totalImages: number;
  loss: number;
}

/** fastai-style hooks: behaviour (progress, charts, checkpoints, early stop) lives in callbacks. */
export interface Callback {
  onFitStart?(learner: Learner, plan: { fromEpoch: number; toEpoch: number }): void | Promise<void>;
  onBatchEnd?(learner: Learner, batch: BatchEnd): void;
  onEpochEnd?(learner: Learner, record: EpochRecord): void | Promise<void>;
  onFitEnd?(learner: Learner): void | Promise<void>;
}
