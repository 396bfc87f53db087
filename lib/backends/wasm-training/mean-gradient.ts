// The gradient of Mean on wasm: dy / n broadcast by Tile. Core's multiplies dy by
// tf.ones(x.shape), built element by element in JavaScript and copied into the heap; with
// two means per batch norm (tf.moments) that was the largest single cost of a MobileNetV2
// training step on wasm.
import * as tf from "@tensorflow/tfjs-core";
import { Mean, util } from "@tensorflow/tfjs-core";
import type { MeanAttrs } from "@tensorflow/tfjs-core";
import { overrideGradientOnWasm } from "./gradient-overrides";

export function overrideMeanGradient(): void {
  overrideGradientOnWasm(Mean, (dy, [x], attrs) => {
    const axes = util.parseAxisParam((attrs as unknown as MeanAttrs).axis, x.shape);
    const kept = x.shape.map((size, axis) => (axes.includes(axis) ? 1 : size));
    const count = axes.reduce((product, axis) => product * x.shape[axis], 1);
    return { x: () => tf.broadcastTo(tf.reshape(tf.div(dy, count), kept), x.shape) };
  });
}
