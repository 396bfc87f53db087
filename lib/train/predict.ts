import * as tf from "@tensorflow/tfjs";
import { foldedInference } from "../backends/folded-inference";
import { ImageBatches } from "../data/batches";
import { inputConvention, type InputConventionName, type ModelInput } from "../data/input-convention";

export interface ImagePredictions {
  files: string[];
  /** Row-major [files, classes] softmax probabilities (averaged over the TTA passes). */
  probabilities: Float32Array;
  /** Indices (into `files`) of images that could not be decoded, with the reason. */
  failed: Map<number, string>;
}

export interface PredictOptions extends ModelInput {
  batchSize?: number;
  /**
   * Test-time augmentation: brightness factors, one inference pass each, probabilities averaged.
   * [1] is plain inference. Flips and crops are left out on purpose: they hurt on this task.
   */
  brightnessTta?: number[];
}

/** Predicts every file in the given order; an unreadable image gets a flagged row of zeros. */
export async function predictFiles(model: tf.LayersModel, files: readonly string[], options: PredictOptions): Promise<ImagePredictions> {
  const factors = options.brightnessTta ?? [1];
  const numClasses = (model.outputs[0].shape as number[])[1];
  const probabilities = new Float32Array(files.length * numClasses);
  const failed = new Map<number, string>();
  const batches = new ImageBatches(files.map((file) => ({ file })), {
    batchSize: options.batchSize ?? 32,
    size: options.size,
    convention: options.convention,
    onError: "flag",
    warn: () => {},
  });
  const folded = foldedInference(model); // BatchNorm folded into the convolutions: the same outputs, faster
  try {
    for await (const batch of batches) {
      const summed = tf.tidy(() => {
        const passes = factors.map((f) => tf.softmax(folded.predict(f === 1 ? batch.x : withBrightness(batch.x, f, options.convention)) as tf.Tensor2D));
        return tf.div(tf.addN(passes), factors.length);
      });
      const values = summed.dataSync();
      batch.indices.forEach((fileIndex, row) => probabilities.set(values.subarray(row * numClasses, (row + 1) * numClasses), fileIndex * numClasses));
      for (const row of batch.failed) {
        failed.set(batch.indices[row], "could not be decoded");
        probabilities.fill(0, batch.indices[row] * numClasses, (batch.indices[row] + 1) * numClasses);
      }
      tf.dispose([summed, batch.x, batch.y]);
    }
  } finally {
    folded.dispose();
  }
  return { files: [...files], probabilities, failed };
}

/** torchvision adjust_brightness on a normalised batch: back to [0, 1], scale, clamp, normalise again. */
export function withBrightness(x: tf.Tensor4D, factor: number, convention?: InputConventionName): tf.Tensor4D {
  return tf.tidy(() => {
    const { mean: m, std: s } = inputConvention(convention);
    const mean = tf.tensor1d([...m]);
    const std = tf.tensor1d([...s]);
    const pixels = tf.add(tf.mul(x, std), mean);
    return tf.div(tf.sub(tf.clipByValue(tf.mul(pixels, factor), 0, 1), mean), std) as tf.Tensor4D;
  });
}
