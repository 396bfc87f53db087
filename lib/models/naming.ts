// How a model's layer names map onto dotted module paths, so that freezing and parameter groups
// address torchvision-named and Keras-named backbones alike. A path's first component is a
// top-level module; in a stage (a container whose numbered children are blocks) the first two are
// the block:
//
// torchvision: the layer names are the paths (`layer3.18.conv2`, `features.7.conv.1.0`, `fc`);
//   stages layer1..layer4 and features.
// keras-mobilenetv2 (keras.applications.MobileNetV2): stem `Conv1` (Conv1, bn_Conv1, Conv1_relu
//   -> Conv1.conv, Conv1.bn, Conv1.relu), stage `block` with the inverted residual blocks
//   block.0 (expanded_conv_*) and block.1 ... block.16 (block_N_*; block_14_expand_BN ->
//   block.14.expand_BN), top `Conv_1` (Conv_1, Conv_1_bn, out_relu -> Conv_1.conv, Conv_1.bn,
//   Conv_1.relu), head `predictions`.
// keras-resnet (keras.applications.ResNet50/101/152 and the V2 variants): stem `conv1` (conv1_conv,
//   conv1_bn -> conv1.conv, conv1.bn), stages conv2..conv5 whose blocks keep Keras' numbers, which
//   start at 1 (conv4_block2_1_conv -> conv4.2.1_conv, block conv4.2), V2's `post` (post_bn ->
//   post.bn), head `predictions`.
//
// Layers that fit no rule (inputs, pooling, layers added later) keep their name as their path; a
// path spec may always name a layer exactly, too.

export type NamingSchemeName = "torchvision" | "keras-mobilenetv2" | "keras-resnet";

export interface NamingScheme {
  name: NamingSchemeName;
  /** Containers whose numbered children are the blocks. */
  stage: RegExp;
  pathOf(layerName: string): string;
  /** A module inside a block and a stage slice, for error messages. */
  examples: readonly [module: string, slice: string];
}

type Rename = readonly [pattern: RegExp, replacement: string];

function renaming(rules: readonly Rename[]): (layerName: string) => string {
  return (layerName) => {
    const rule = rules.find(([pattern]) => pattern.test(layerName));
    return rule ? layerName.replace(rule[0], rule[1]) : layerName;
  };
}

export const TORCHVISION: NamingScheme = {
  name: "torchvision",
  stage: /^(layer\d+|features)$/,
  pathOf: (layerName) => layerName,
  examples: ["layer3.18.conv2", "layer3.18:"],
};

export const KERAS_MOBILENET_V2: NamingScheme = {
  name: "keras-mobilenetv2",
  stage: /^block$/,
  pathOf: renaming([
    [/^expanded_conv_(.+)$/, "block.0.$1"],
    [/^block_(\d+)_(.+)$/, "block.$1.$2"],
    [/^Conv1$/, "Conv1.conv"],
    [/^bn_Conv1$/, "Conv1.bn"],
    [/^Conv1_(relu|pad)$/, "Conv1.$1"],
    [/^Conv_1$/, "Conv_1.conv"],
    [/^Conv_1_bn$/, "Conv_1.bn"],
    [/^out_relu$/, "Conv_1.relu"],
  ]),
  examples: ["block.14.expand", "block.14:"],
};

export const KERAS_RESNET: NamingScheme = {
  name: "keras-resnet",
  stage: /^conv[2-9]$/,
  pathOf: renaming([
    [/^(conv\d+)_block(\d+)_(.+)$/, "$1.$2.$3"],
    [/^(conv1|pool1|post)_(.+)$/, "$1.$2"],
  ]),
  examples: ["conv4.2.1_conv", "conv4.2:"],
};

export const NAMING_SCHEMES: readonly NamingScheme[] = [TORCHVISION, KERAS_MOBILENET_V2, KERAS_RESNET];

/** The Keras scheme the layer names follow, if any. */
export function detectKerasNaming(layerNames: readonly string[]): NamingScheme | undefined {
  const names = new Set(layerNames);
  if (names.has("Conv1") && layerNames.some((name) => /^(expanded_conv|block_\d+)_project$/.test(name))) return KERAS_MOBILENET_V2;
  if (names.has("conv1_conv") && layerNames.some((name) => /^conv\d+_block\d+_/.test(name))) return KERAS_RESNET;
  return undefined;
}

/** The scheme the layer names follow: a Keras one when they fit, torchvision otherwise. */
export function detectNaming(layerNames: readonly string[]): NamingScheme {
  return detectKerasNaming(layerNames) ?? TORCHVISION;
}
