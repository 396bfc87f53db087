// ResNet and ResNeXt as in torchvision's models/resnet.py (ResNet v1.5: the stride of a
// bottleneck sits on its 3x3 convolution), NHWC, every layer named by its torchvision module path
// so that torchvision state_dicts map onto it by name.
import * as tf from "@tensorflow/tfjs";
import { add, apply, batchNorm, channels, conv2d, globalAveragePool, linear, relu, zeroPadding } from "./builders";

export interface ResNetOptions {
  /** Outputs of the final `fc` layer (torchvision: 1000). */
  numClasses?: number;
  /** Height and width of the square RGB input (default 224). */
  inputSize?: number;
  /** Without the top, the model ends at `avgpool` and outputs the pooled features. */
  includeTop?: boolean;
}

type Block = typeof basicBlock | typeof bottleneck;

interface ResNetSpec {
  name: string;
  block: Block;
  layers: [number, number, number, number];
  /** Expansion of the output channels of a block over its `planes`. */
  expansion: number;
  groups: number;
  widthPerGroup: number;
}

interface BlockSpec {
  planes: number;
  stride: number;
  downsample: boolean;
  groups: number;
  widthPerGroup: number;
}

/** conv3x3 -> bn -> relu -> conv3x3 -> bn, plus the shortcut, then relu. */
function basicBlock(x: tf.SymbolicTensor, name: string, spec: BlockSpec): tf.SymbolicTensor {
  const { planes, stride } = spec;
  let out = conv2d(x, `${name}.conv1`, { filters: planes, kernel: 3, stride, padding: 1 });
  out = batchNorm(out, `${name}.bn1`);
  out = relu(out, `${name}.relu1`);
  out = conv2d(out, `${name}.conv2`, { filters: planes, kernel: 3, padding: 1 });
  out = batchNorm(out, `${name}.bn2`);
  return relu(add(out, shortcut(x, name, spec, planes), `${name}.add`), `${name}.relu`);
}

/** conv1x1 -> bn -> relu -> grouped conv3x3 (strided) -> bn -> relu -> conv1x1 -> bn, plus the shortcut, then relu. */
function bottleneck(x: tf.SymbolicTensor, name: string, spec: BlockSpec): tf.SymbolicTensor {
  const { planes, stride, groups, widthPerGroup } = spec;
  const width = Math.floor(planes * (widthPerGroup / 64)) * groups;
  const outChannels = planes * 4;
  let out = conv2d(x, `${name}.conv1`, { filters: width, kernel: 1 });
  out = batchNorm(out, `${name}.bn1`);
  out = relu(out, `${name}.relu1`);
  out = conv2d(out, `${name}.conv2`, { filters: width, kernel: 3, stride, padding: 1, groups });
  out = batchNorm(out, `${name}.bn2`);
  out = relu(out, `${name}.relu2`);
  out = conv2d(out, `${name}.conv3`, { filters: outChannels, kernel: 1 });
  out = batchNorm(out, `${name}.bn3`);
  return relu(add(out, shortcut(x, name, spec, outChannels), `${name}.add`), `${name}.relu`);
}

/** The identity, or `downsample` (conv1x1 + bn) where the shape changes. */
function shortcut(x: tf.SymbolicTensor, name: string, spec: BlockSpec, outChannels: number): tf.SymbolicTensor {
  if (!spec.downsample) return x;
  const projected = conv2d(x, `${name}.downsample.0`, { filters: outChannels, kernel: 1, stride: spec.stride });
  return batchNorm(projected, `${name}.downsample.1`);
}

/** `blocks` blocks named `${name}.0` ...; only the first one strides and may downsample. */
function makeLayer(x: tf.SymbolicTensor, name: string, arch: ResNetSpec, planes: number, blocks: number, stride: number): tf.SymbolicTensor {
  const { groups, widthPerGroup } = arch;
  const downsample = stride !== 1 || channels(x) !== planes * arch.expansion;
  let out = arch.block(x, `${name}.0`, { planes, stride, downsample, groups, widthPerGroup });
  for (let i = 1; i < blocks; i++) {
    out = arch.block(out, `${name}.${i}`, { planes, stride: 1, downsample: false, groups, widthPerGroup });
  }
  return out;
}

function resnet(arch: ResNetSpec, options: ResNetOptions): tf.LayersModel {
  const { numClasses = 1000, inputSize = 224, includeTop = true } = options;
  const input = tf.input({ shape: [inputSize, inputSize, 3], name: "input" });
  let x = conv2d(input, "conv1", { filters: 64, kernel: 7, stride: 2, padding: 3 });
  x = batchNorm(x, "bn1");
  x = relu(x, "relu");
  // PyTorch pads max pooling with -inf; after a ReLU, zeros give the same maxima.
  x = zeroPadding(x, "maxpool.pad", 1);
  x = apply(tf.layers.maxPooling2d({ name: "maxpool", poolSize: 3, strides: 2, padding: "valid" }), x);
  x = makeLayer(x, "layer1", arch, 64, arch.layers[0], 1);
  x = makeLayer(x, "layer2", arch, 128, arch.layers[1], 2);
  x = makeLayer(x, "layer3", arch, 256, arch.layers[2], 2);
  x = makeLayer(x, "layer4", arch, 512, arch.layers[3], 2);
  x = globalAveragePool(x, "avgpool");
  if (includeTop) x = linear(x, "fc", numClasses);
  return tf.model({ inputs: input, outputs: x, name: arch.name });
}

const BASIC = { block: basicBlock, expansion: 1, groups: 1, widthPerGroup: 64 };
const BOTTLENECK = { block: bottleneck, expansion: 4, groups: 1, widthPerGroup: 64 };

export function resnet18(options: ResNetOptions = {}): tf.LayersModel {
  return resnet({ name: "resnet18", ...BASIC, layers: [2, 2, 2, 2] }, options);
}

export function resnet34(options: ResNetOptions = {}): tf.LayersModel {
  return resnet({ name: "resnet34", ...BASIC, layers: [3, 4, 6, 3] }, options);
}

export function resnet50(options: ResNetOptions = {}): tf.LayersModel {
  return resnet({ name: "resnet50", ...BOTTLENECK, layers: [3, 4, 6, 3] }, options);
}

export function resnet101(options: ResNetOptions = {}): tf.LayersModel {
  return resnet({ name: "resnet101", ...BOTTLENECK, layers: [3, 4, 23, 3] }, options);
}

export function resnext50_32x4d(options: ResNetOptions = {}): tf.LayersModel {
  return resnet({ name: "resnext50_32x4d", ...BOTTLENECK, layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 }, options);
}

export function resnext101_32x8d(options: ResNetOptions = {}): tf.LayersModel {
  return resnet({ name: "resnext101_32x8d", ...BOTTLENECK, layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 }, options);
}
