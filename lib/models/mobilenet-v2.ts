// MobileNetV2 as in torchvision's models/mobilenetv2.py, NHWC, every layer named by its
// torchvision module path (`features.0.0`, `features.3.conv.1.0`, `classifier.1`, ...).
import * as tf from "@tensorflow/tfjs";
import { add, apply, batchNorm, channels, conv2d, globalAveragePool, linear, relu6 } from "./builders";

export interface MobileNetV2Options {
  /** Scales every layer's channels (torchvision's width_mult). */
  widthMultiplier?: number;
  /** Outputs of `classifier.1` (torchvision: 1000). */
  numClasses?: number;
  /** Height and width of the square RGB input (default 224). */
  inputSize?: number;
  /** Without the top, the model ends at `avgpool` and outputs the pooled features. */
  includeTop?: boolean;
}

/** expand ratio t, output channels c, repeats n, first stride s. */
const INVERTED_RESIDUAL_SETTING: readonly (readonly [t: number, c: number, n: number, s: number])[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** torchvision's _make_divisible: round to a multiple of `divisor`, never more than 10% down. */
export function makeDivisible(value: number, divisor = 8): number {
  const rounded = Math.max(divisor, Math.floor((value + divisor / 2) / divisor) * divisor);
  return rounded < 0.9 * value ? rounded + divisor : rounded;
}

/** Conv2dNormActivation: `${name}.0` conv, `${name}.1` batch norm, `${name}.2` ReLU6. */
function convBNReLU6(x: tf.SymbolicTensor, name: string, filters: number, kernel: number, stride = 1, groups = 1): tf.SymbolicTensor {
  const padding = (kernel - 1) / 2;
  const out = conv2d(x, `${name}.0`, { filters, kernel, stride, padding, groups });
  return relu6(batchNorm(out, `${name}.1`), `${name}.2`);
}

/** 1x1 expansion (unless t = 1) -> 3x3 depthwise -> linear 1x1 projection, residual when shapes allow. */
function invertedResidual(x: tf.SymbolicTensor, name: string, outChannels: number, stride: number, expandRatio: number): tf.SymbolicTensor {
  const inChannels = channels(x);
  const hidden = Math.round(inChannels * expandRatio);
  const conv = (i: number) => `${name}.conv.${i}`;
  let out = x;
  let i = 0;
  if (expandRatio !== 1) out = convBNReLU6(out, conv(i++), hidden, 1);
  out = convBNReLU6(out, conv(i++), hidden, 3, stride, hidden);
  out = conv2d(out, conv(i++), { filters: outChannels, kernel: 1 });
  out = batchNorm(out, conv(i));
  return stride === 1 && inChannels === outChannels ? add(x, out, `${name}.add`) : out;
}

export function mobilenetV2(options: MobileNetV2Options = {}): tf.LayersModel {
  const { widthMultiplier = 1.0, numClasses = 1000, inputSize = 224, includeTop = true } = options;
  const input = tf.input({ shape: [inputSize, inputSize, 3], name: "input" });
  let x = convBNReLU6(input, "features.0", makeDivisible(32 * widthMultiplier), 3, 2);
  let index = 1;
  for (const [t, c, n, s] of INVERTED_RESIDUAL_SETTING) {
    const outChannels = makeDivisible(c * widthMultiplier);
    for (let i = 0; i < n; i++) {
      x = invertedResidual(x, `features.${index++}`, outChannels, i === 0 ? s : 1, t);
    }
  }
  const lastChannels = makeDivisible(1280 * Math.max(1.0, widthMultiplier));
  x = convBNReLU6(x, `features.${index}`, lastChannels, 1);
  // torchvision pools functionally in forward(); the layer needs a name, and it owns no weights.
  x = globalAveragePool(x, "avgpool");
  if (includeTop) {
    x = apply(tf.layers.dropout({ name: "classifier.0", rate: 0.2 }), x);
    x = linear(x, "classifier.1", numClasses);
  }
  return tf.model({ inputs: input, outputs: x, name: "mobilenet_v2" });
}
