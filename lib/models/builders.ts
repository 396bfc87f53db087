// The torch.nn building blocks the architectures are made of, as tf.layers calls named by
// torchvision module path. Shared by resnet.ts and mobilenet-v2.ts.
import * as tf from "@tensorflow/tfjs";
import { hashSeed } from "../random";
import { BatchNorm } from "./layers/batch-norm";
import { GroupedConv2D } from "./layers/grouped-conv2d";

let modelSeed: number | undefined;

/**
 * Builds with every initialiser seeded from (seed, layer name, weight), as torch.manual_seed does
 * for a PyTorch model: the same seed gives the same weights, and one layer's draw does not depend
 * on the layers built before it. Without a seed the initialisers draw from tfjs' global generator.
 */
export function withInitSeed<T>(seed: number | undefined, build: () => T): T {
  const outer = modelSeed;
  modelSeed = seed;
  try {
    return build();
  } finally {
    modelSeed = outer;
  }
}

/** The seed for one weight of one layer under withInitSeed, else undefined (unseeded). */
export function initSeed(layerName: string, weight: string): number | undefined {
  return modelSeed === undefined ? undefined : hashSeed(modelSeed, "init", layerName, weight);
}

export interface ConvSpec {
  filters: number;
  kernel: number;
  stride?: number;
  /** PyTorch's symmetric zero padding on each side. */
  padding?: number;
  groups?: number;
}

/** nn.Conv2d(bias=False), named `name`. */
export function conv2d(x: tf.SymbolicTensor, name: string, spec: ConvSpec): tf.SymbolicTensor {
  const { filters, kernel, stride = 1, padding = 0, groups = 1 } = spec;
  // tfjs "same" pads the bottom/right more than the top/left for strided convolutions, unlike
  // PyTorch; it agrees only for stride 1, so everything else gets explicit zero padding.
  const sameAsTorch = stride === 1 && 2 * padding === kernel - 1;
  let input = x;
  if (padding > 0 && !sameAsTorch) input = zeroPadding(x, `${name}.pad`, padding);
  const tfPadding = sameAsTorch ? "same" : "valid";
  const kernelInitializer = heNormalFanOut(initSeed(name, "kernel"));
  const layer =
    groups === 1
      ? tf.layers.conv2d({ name, filters, kernelSize: kernel, strides: stride, padding: tfPadding, useBias: false, kernelInitializer })
      : new GroupedConv2D({ name, filters, kernelSize: kernel, strides: stride, padding: tfPadding, groups, useBias: false, kernelInitializer });
  return apply(layer, input);
}

/** nn.BatchNorm2d with PyTorch's epsilon and momentum. */
export function batchNorm(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(new BatchNorm({ name }), x);
}

export function relu(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(tf.layers.reLU({ name }), x);
}

export function relu6(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(tf.layers.reLU({ name, maxValue: 6 }), x);
}

export function add(a: tf.SymbolicTensor, b: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(tf.layers.add({ name }), [a, b]);
}

export function zeroPadding(x: tf.SymbolicTensor, name: string, padding: number): tf.SymbolicTensor {
  return apply(tf.layers.zeroPadding2d({ name, padding }), x);
}

export function globalAveragePool(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(tf.layers.globalAveragePooling2d({ name }), x);
}

/** nn.Linear with PyTorch's default initialisation: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias. */
export function linear(x: tf.SymbolicTensor, name: string, units: number): tf.SymbolicTensor {
  const inFeatures = x.shape[x.shape.length - 1];
  if (inFeatures == null) throw new Error(`${name}: the input features must have a known size`);
  const bound = 1 / Math.sqrt(inFeatures);
  const layer = tf.layers.dense({
    name,
    units,
    kernelInitializer: tf.initializers.varianceScaling({ scale: 1 / 3, mode: "fanIn", distribution: "uniform", seed: initSeed(name, "kernel") }),
    biasInitializer: tf.initializers.randomUniform({ minval: -bound, maxval: bound, seed: initSeed(name, "bias") }),
  });
  return apply(layer, x);
}

/** The channel count of an NHWC tensor. */
export function channels(x: tf.SymbolicTensor): number {
  const c = x.shape[x.shape.length - 1];
  if (c == null) throw new Error(`tensor ${x.name} has no known channel count`);
  return c;
}

export function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  return layer.apply(x) as tf.SymbolicTensor;
}

/** PyTorch's ResNet/MobileNet initialisation (kaiming normal, fan-out); imported weights replace it. */
function heNormalFanOut(seed?: number): ReturnType<typeof tf.initializers.varianceScaling> {
  return tf.initializers.varianceScaling({ scale: 2, mode: "fanOut", distribution: "normal", seed });
}
