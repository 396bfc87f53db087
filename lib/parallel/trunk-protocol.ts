// What the main thread and a trunk worker exchange, and the trunk's output for one batch, computed
// by the same function on both sides: that is what keeps features bit-identical whichever thread
// ran a batch (both run the same wasm kernels on the same whole batch).
import * as tf from "@tensorflow/tfjs";

export interface TrunkInit {
  /** The trunk's topology (model.toJSON). */
  modelJson: string;
  /** Every weight of the trunk, in trunk.weights order, with its name and shape. */
  weightNames: string[];
  weightShapes: number[][];
  weights: Float32Array[];
}

export interface TrunkRequest {
  x: Float32Array;
  shape: number[];
}

export type TrunkReply =
  | { type: "ready" }
  | { type: "output"; data: Float32Array }
  | { type: "error"; message: string };

/** The trunk's output for a batch, in inference mode (frozen BatchNorm), read back row-major. */
export function trunkOutput(trunk: tf.LayersModel, x: tf.Tensor): Float32Array {
  // Not foldedInference: training on these outputs must give the weights training on the images
  // gives, and folding's rounding (1e-6) is enough to change a small training run.
  const out = tf.tidy(() => trunk.apply(x, { training: false }) as tf.Tensor);
  try {
    return out.dataSync() as Float32Array;
  } finally {
    out.dispose();
  }
}
