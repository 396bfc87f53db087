// A Learner's BatchSource over feature rows gathered from several sets (folds of a feature bank,
// pseudo-labelled test rows): training reshuffles per epoch from (seed, epoch), as the other sources.
import * as tf from "@tensorflow/tfjs";
import { epochOrder } from "../data/batches";
import type { Batch, BatchSource } from "../train/batch-source";
import type { FeatureRow } from "./feature-bank";

export function rowSource(rows: readonly FeatureRow[], options: { batchSize: number; shuffle?: boolean; seed?: number }): BatchSource {
  const { batchSize, shuffle = false, seed = 0 } = options;
  if (rows.length === 0) throw new Error("rowSource: no rows");
  const shape = rows[0].sets[0].shape;
  const rowSize = shape.reduce((a, b) => a * b, 1);
  return {
    size: rows.length,
    async *batches(epoch: number): AsyncIterable<Batch> {
      const order = epochOrder(rows.length, { shuffle, seed, epoch });
      for (let start = 0; start < order.length; start += batchSize) {
        const picked = order.slice(start, start + batchSize).map((i) => rows[i]);
        const x = new Float32Array(picked.length * rowSize);
        picked.forEach((r, k) => {
          const set = r.sets[epoch % r.sets.length];
          x.set(set.data.subarray(r.row * rowSize, (r.row + 1) * rowSize), k * rowSize);
        });
        yield { x: tf.tensor(x, [picked.length, ...shape]), y: tf.tensor1d(picked.map((r) => r.label), "int32"), files: picked.map((r) => r.file) };
      }
    },
  };
}
