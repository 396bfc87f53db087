// What each inference step gained, MobileNetV2-1.0 @96, batch 16, one thread: the same model run
// in turns with and without each step, in one process, so the machine's noise hits all alike.
// The training step is timed with the stock and with our forward convolution kernels; the last
// step of each is relaxed SIMD (kernel-variant.ts), where the engine has it.
import * as tf from "@tensorflow/tfjs";
import { foldedInference, type FoldOptions } from "../lib/backends/folded-inference";
import { withKernelVariant } from "../lib/backends/wasm-training/kernel-module";
import { relaxedSimdSupported, type KernelVariant } from "../lib/backends/wasm-training/kernel-variant";
import { withStockKernels } from "../lib/backends/wasm-training/stock-kernels";
import { buildModel } from "../lib/models";
import { computeAndRead, median, timeSteps } from "./common";

const BATCH = 16;
const CONV = ["Conv2D", "FusedConv2D"];
const DEPTHWISE = ["DepthwiseConv2dNative", "FusedDepthwiseConv2D"];

export interface StepRow {
  name: string;
  /** Images per second, median over rounds. */
  rate: number;
  /** Against the row above it, median of the per-round ratios. */
  gain: number;
}

interface Variant {
  name: string;
  stock: string[];
  run: (x: tf.Tensor) => void;
  /** The build of our kernels (default: the plain SIMD one, as before relaxed SIMD). */
  kernels?: KernelVariant;
}

export async function benchSteps(rounds: number, log: (line: string) => void): Promise<StepRow[]> {
  const model = buildModel("mobilenet_v2", { inputSize: 96, numClasses: 1000, seed: 0 });
  const x = tf.randomNormal([BATCH, 96, 96, 3], 0, 1, "float32", 1);
  const labels = tf.oneHot(tf.randomUniform([BATCH], 0, 1000, "int32", 2), 1000);
  const optimizer = tf.train.adam(1e-3);
  const folded = (options: FoldOptions) => {
    const f = foldedInference(model, options);
    return (input: tf.Tensor) => computeAndRead(() => f.predict(input));
  };
  const train = () => {
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    value.dataSync();
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    tf.dispose([value, ...Object.values(grads)]);
  };
  const variants: Variant[] = [
    { name: "inference: model.predict, stock XNNPACK convolutions", stock: [...CONV, ...DEPTHWISE], run: (i) => computeAndRead(() => model.predict(i) as tf.Tensor) },
    { name: "  + BatchNorm and ReLU6 folded into the convolutions", stock: [...CONV, ...DEPTHWISE], run: folded({ absorbPadding: false }) },
    { name: "  + zero padding made the convolutions' own", stock: [...CONV, ...DEPTHWISE], run: folded({}) },
    { name: "  + our 3x3 depthwise kernel", stock: CONV, run: folded({}) },
    { name: "  + our convolutions as tiled matrix products", stock: [], run: folded({}) },
    ...(relaxedSimdSupported() ? [{ name: "  + relaxed-SIMD FMA in our kernels", stock: [], run: folded({}), kernels: "relaxed" as const }] : []),
    { name: "training step: stock XNNPACK convolutions", stock: [...CONV, ...DEPTHWISE], run: train },
    { name: "  + our forward convolution kernels", stock: [], run: train },
    ...(relaxedSimdSupported() ? [{ name: "  + relaxed-SIMD FMA in our kernels", stock: [], run: train, kernels: "relaxed" as const }] : []),
  ];
  const rates: number[][] = variants.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, v] of variants.entries()) {
      const training = v.run === train;
      const seconds = await withKernelVariant(v.kernels ?? "baseline", () =>
        withStockKernels(v.stock, async () => timeSteps(() => v.run(x), training ? 1 : 2, training ? 3 : 6).wall));
      rates[i].push(BATCH / seconds);
    }
    log(`  round ${r + 1}/${rounds}: ${variants.map((v, i) => `${rates[i][r].toFixed(0)}`).join(", ")} img/s`);
  }
  tf.dispose([x, labels]);
  optimizer.dispose();
  model.dispose();
  return variants.map((v, i) => {
    const before = v.name.startsWith("  ") ? rates[i - 1] : rates[i];
    return { name: v.name, rate: median(rates[i]), gain: median(rates[i].map((rate, k) => rate / before[k])) };
  });
}
