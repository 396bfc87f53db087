import * as tf from "@tensorflow/tfjs";
import { foldedInference } from "../backends/folded-inference";
import { ImageBatches } from "../data/batches";
import { inputConvention, type InputConventionName, type ModelInput } from "../data/input-convention";
import { defaultShares, ParallelTrunk } from "../parallel/parallel-trunk";

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
   * Test-time augmentation: brightness factors, one inference pass each (per window), probabilities
   * averaged. [1] is plain inference. Flips are left out on purpose: they hurt on this task.
   */
  brightnessTta?: number[];
  /**
   * Threads. Default: defaultShares (2 on the wasm backend with 2 or more cores and 2 or more batches:
   * MobileNetV2 @96 inferred 431 img/s on two unfolded threads against 305 on one folded thread).
   * 1: one thread with BatchNorm folded into the convolutions.
   */
  shares?: number;
}

/** Predicts every file in the given order; an unreadable image gets a flagged row of zeros. */
export async function predictFiles(model: tf.LayersModel, files: readonly string[], options: PredictOptions): Promise<ImagePredictions> {
  const factors = options.brightnessTta ?? [1];
  const numClasses = (model.outputs[0].shape as number[])[1];
  const probabilities = new Float32Array(files.length * numClasses);
  const failed = new Map<number, string>();
  const windows = options.windows ?? [0.5];
  const shares = options.shares ?? defaultShares(Math.ceil(files.length / (options.batchSize ?? 32)) * factors.length * windows.length);
  for (const window of windows) {
    const batches = new ImageBatches(files.map((file) => ({ file })), {
      batchSize: options.batchSize ?? 32,
      size: options.size,
      convention: options.convention,
      window,
      onError: "flag",
      warn: () => {},
    });
    const passes = shares > 1 ? predictOnThreads(model, batches, factors, shares, options.convention) : predictFolded(model, batches, factors, options.convention);
    for await (const { indices, rowsFailed, softmax } of passes) {
      indices.forEach((fileIndex, row) => {
        for (let c = 0; c < numClasses; c++) probabilities[fileIndex * numClasses + c] += softmax[row * numClasses + c] / (factors.length * windows.length);
      });
      for (const row of rowsFailed) failed.set(indices[row], "could not be decoded");
    }
  }
  for (const index of failed.keys()) probabilities.fill(0, index * numClasses, (index + 1) * numClasses);
  return { files: [...files], probabilities, failed };
}

/** The softmax of one inference pass over a batch (one brightness factor), for the rows `indices`. */
interface Pass {
  indices: number[];
  rowsFailed: number[];
  softmax: Float32Array;
}

async function* predictFolded(model: tf.LayersModel, batches: ImageBatches, factors: number[], convention: InputConventionName): AsyncGenerator<Pass> {
  const folded = foldedInference(model); // BatchNorm folded into the convolutions: the same outputs, faster
  try {
    for await (const batch of batches) {
      for (const f of factors) {
        const softmax = tf.tidy(() => tf.softmax(folded.predict(f === 1 ? batch.x : withBrightness(batch.x, f, convention)) as tf.Tensor2D).dataSync() as Float32Array);
        yield { indices: batch.indices, rowsFailed: batch.failed, softmax };
      }
      tf.dispose([batch.x, batch.y]);
    }
  } finally {
    folded.dispose();
  }
}

/** Every pass whole on one of `shares` threads (ParallelTrunk: the unfolded model, bit-identical on each thread). */
async function* predictOnThreads(model: tf.LayersModel, batches: ImageBatches, factors: number[], shares: number, convention: InputConventionName): AsyncGenerator<Pass> {
  async function* views(): AsyncGenerator<{ x: tf.Tensor; indices: number[]; rowsFailed: number[] }> {
    for await (const batch of batches) {
      for (const f of factors) yield { x: f === 1 ? tf.clone(batch.x) : withBrightness(batch.x, f, convention), indices: batch.indices, rowsFailed: batch.failed };
      tf.dispose([batch.x, batch.y]);
    }
  }
  const done: Pass[] = [];
  const runner = await ParallelTrunk.start(model, shares);
  try {
    await runner.run(views(), (view, logits) => done.push({ indices: view.indices, rowsFailed: view.rowsFailed, softmax: softmaxRows(logits, logits.length / view.indices.length) }));
  } finally {
    await runner.close();
  }
  for (const pass of done) yield pass;
}

function softmaxRows(logits: Float32Array, width: number): Float32Array {
  const out = new Float32Array(logits.length);
  for (let start = 0; start < logits.length; start += width) {
    let max = -Infinity;
    for (let c = 0; c < width; c++) max = Math.max(max, logits[start + c]);
    let sum = 0;
    for (let c = 0; c < width; c++) sum += out[start + c] = Math.exp(logits[start + c] - max);
    for (let c = 0; c < width; c++) out[start + c] /= sum;
  }
  return out;
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
