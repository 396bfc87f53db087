// A tiny but real conv net and an in-memory dataset whose epoch order depends only on (seed, epoch).
import * as tf from "@tensorflow/tfjs";
import { Rng, hashSeed } from "../../lib/random";
import type { Batch, BatchSource } from "../../lib/train";

export function tinyModel(seed = 1, numClasses = 3): tf.LayersModel {
  const init = (s: number) => tf.initializers.glorotUniform({ seed: seed * 100 + s });
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers.conv2d({ name: "conv1", filters: 4, kernelSize: 3, padding: "same", kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: "relu" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ name: "conv2", filters: 6, kernelSize: 3, strides: 2, padding: "same", kernelInitializer: init(2) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: "pool" }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: "fc", units: numClasses, kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: "tiny" });
}

/** tinyModel with a BatchNormalization after conv1: its moving statistics are weights no gradient touches. */
export function tinyModelWithBatchNorm(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  let x = tf.layers.conv2d({ name: "conv1", filters: 4, kernelSize: 3, padding: "same", kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: "bn1" }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU({ name: "relu", maxValue: 6 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: "pool" }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: "fc", units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Images whose mean colour channel is the label, plus noise; reshuffled every epoch from the seed. */
export class TinyImages implements BatchSource {
  readonly size: number;
  private readonly images: Float32Array[];
  private readonly labels: number[];

  constructor(count = 24, private readonly batchSize = 5, private readonly seed = 7, numClasses = 3) {
    const rng = new Rng(seed);
    this.size = count;
    this.labels = Array.from({ length: count }, (_, i) => i % numClasses);
    this.images = this.labels.map((label) => Float32Array.from({ length: 8 * 8 * 3 }, (_, j) => (j % 3 === label ? 1 : 0) + rng.normal() * 0.5));
  }

  async *batches(epoch: number): AsyncIterable<Batch> {
    const order = new Rng(hashSeed(this.seed, epoch)).shuffle(this.labels.map((_, i) => i));
    for (let start = 0; start < order.length; start += this.batchSize) {
      const ids = order.slice(start, start + this.batchSize);
      const data = new Float32Array(ids.length * 8 * 8 * 3);
      ids.forEach((id, k) => data.set(this.images[id], k * 8 * 8 * 3));
      yield { x: tf.tensor4d(data, [ids.length, 8, 8, 3]), y: tf.tensor1d(ids.map((id) => this.labels[id]), "int32"), files: ids.map((id) => `img${id}`) };
    }
  }
}

export function weightsOf(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
}
