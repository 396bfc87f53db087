import type * as tf from "@tensorflow/tfjs";

/** One batch: NHWC images (or a trunk's features for them), int32 class indices, and where the images came from. */
export interface Batch {
  x: tf.Tensor;
  y: tf.Tensor1D;
  files?: string[];
  /**
   * Evaluation only: `x` holds each of the y.shape[0] images seen `views` ways (e.g. windows along
   * the long side), view after view: row v * n + i is image i's view v. Their probabilities are averaged.
   */
  views?: number;
}

/** Where batches come from. The order of an epoch must be a function of `epoch` alone, so that
 * an interrupted epoch can be replayed exactly after a resume. */
export interface BatchSource {
  /** Images per epoch, for progress and rates. */
  readonly size: number;
  batches(epoch: number): AsyncIterable<Batch>;
}
