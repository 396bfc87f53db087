// What the main thread and the gradient workers exchange, and the gradient of one share of a batch,
// computed the same way on both sides.
import * as tf from "@tensorflow/tfjs";

export interface InitMessage {
  modelJson: string;
  weightShapes: number[][];
  /** Indices into model.weights of the variables to differentiate, in the order of the gradients. */
  trainable: number[];
  numClasses: number;
  /** The training loss's label smoothing (see trainingLoss). */
  labelSmoothing: number;
  /** Shared: every weight of the model, flattened in model.weights order (written by the main thread). */
  weights: SharedArrayBuffer;
  /** Shared: the gradients of the trainable variables, flattened (written by the worker). */
  grads: SharedArrayBuffer;
}

export interface StepMessage {
  /** "grads": loss and gradients of the share (training mode); "logits": the share's logits in inference mode. */
  kind: "grads" | "logits";
  /** Indices into model.weights whose values in shared memory changed since the last message. */
  changed: number[];
  x: Float32Array;
  xShape: number[];
  y: Int32Array;
  /** Rows in the whole batch: each share's mean loss is weighted by its rows / total. */
  total: number;
}

export type WorkerReply =
  | { type: "ready" }
  | { type: "done"; loss: number; hits: number }
  | { type: "logits"; data: Float32Array; shape: number[] }
  | { type: "error"; message: string };

// A type, not an interface: tf.tidy returns only index-signature-compatible objects.
export type ShareResult = {
  /** This share's part of the batch's mean loss (its mean loss * rows / total). */
  loss: tf.Scalar;
  hits: tf.Scalar;
  grads: tf.Tensor[];
};

/**
 * Loss and gradients of one share of a batch, scaled so that the shares' losses and gradients add
 * up to those of the whole batch's mean cross-entropy (exactly so when no BatchNorm layer uses batch
 * statistics; a training-mode BatchNorm normalises each share with its own statistics).
 */
export function gradientShare(model: tf.LayersModel, variables: tf.Variable[], x: tf.Tensor, y: tf.Tensor1D, numClasses: number, total: number, labelSmoothing = 0): ShareResult {
  return tf.tidy(() => {
    let hits: tf.Scalar | undefined;
    const weight = y.shape[0] / total;
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(x, { training: true }) as tf.Tensor2D;
      hits = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), "int32"))) as tf.Scalar;
      return tf.mul(trainingLoss(logits, y, numClasses, labelSmoothing), weight) as tf.Scalar;
    }, variables);
    return { loss: value as tf.Scalar, hits: hits!, grads: variables.map((v) => grads[v.name]) };
  });
}

/**
 * Mean cross-entropy of a batch, the targets smoothed as PyTorch's
 * `CrossEntropyLoss(label_smoothing=ε)`: (1 - ε) on the true class plus ε / classes on every class.
 */
export function trainingLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number, labelSmoothing = 0): tf.Scalar {
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, numClasses), logits, undefined, labelSmoothing) as tf.Scalar;
}

/** Start offsets (in floats) of tensors of these shapes laid end to end, plus the total at the end. */
export function offsetsOf(shapes: number[][]): number[] {
  const offsets = [0];
  for (const s of shapes) offsets.push(offsets[offsets.length - 1] + s.reduce((a, b) => a * b, 1));
  return offsets;
}
