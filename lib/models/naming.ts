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
// keras-inceptionv3 (keras.applications.InceptionV3, whose layers Keras numbers itself: conv2d_N,
//   batch_normalization_N, activation_N): stage `stem` with blocks stem.1 ... stem.5, one per
//   convolution before mixed0 (conv2d_3, batch_normalization_3, activation_3, max_pooling2d_1 ->
//   stem.3.conv, stem.3.bn, stem.3.relu, stem.3.pool), stage `mixed` with blocks mixed.0 ...
//   mixed.10 (conv2d_61 -> mixed.7.conv2d_61, the concatenation mixed7 -> mixed.7.concat), head
//   `predictions`. Which stage a layer is in depends on where it stands, not on its number: Keras
//   lists a stage's branches (in depth order) after the previous mixedN and before its own, so the
//   scheme is made for a model's list of layer names (kerasInceptionV3Naming).
//
// Layers that fit no rule (inputs, pooling, layers added later) keep their name as their path; a
// path spec may always name a layer exactly, too.

export type NamingSchemeName = "torchvision" | "keras-mobilenetv2" | "keras-resnet" | "keras-inceptionv3";

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

const INCEPTION_MIXED = /^mixed(\d+)$/;
const INCEPTION_STEM_ROLES: readonly Rename[] = [
  [/^conv2d(_\d+)?$/, "conv"],
  [/^batch_normalization(_\d+)?$/, "bn"],
  [/^activation(_\d+)?$/, "relu"],
  [/^max_pooling2d(_\d+)?$/, "pool"],
];

/** The keras-inceptionv3 scheme for a model's layer names, in the model's order (see the top). */
export function kerasInceptionV3Naming(layerNames: readonly string[]): NamingScheme {
  const paths = new Map<string, string>();
  const firstMixed = layerNames.findIndex((name) => INCEPTION_MIXED.test(name));
  // The stem ends with the pooling before mixed0, whose branches pool by averaging only.
  const stemEnd = layerNames[firstMixed] === "mixed0" ? lastIndexBefore(layerNames, firstMixed, /^max_pooling2d(_\d+)?$/) : -1;
  let block = 0;
  for (const name of layerNames.slice(0, stemEnd + 1)) {
    const role = INCEPTION_STEM_ROLES.find(([pattern]) => pattern.test(name))?.[1];
    if (role === "conv") block += 1;
    if (block > 0) paths.set(name, `stem.${block}.${role ?? name}`);
  }
  let stage: string | undefined;
  for (let i = layerNames.length - 1; i > stemEnd; i--) {
    const mixed = INCEPTION_MIXED.exec(layerNames[i]);
    if (mixed) stage = mixed[1];
    if (stage !== undefined) paths.set(layerNames[i], mixed ? `mixed.${stage}.concat` : `mixed.${stage}.${layerNames[i]}`);
  }
  return {
    name: "keras-inceptionv3",
    stage: /^(stem|mixed)$/,
    pathOf: (layerName) => paths.get(layerName) ?? layerName,
    examples: ["mixed.7.concat", "mixed.7:"],
  };
}

function lastIndexBefore(names: readonly string[], end: number, pattern: RegExp): number {
  for (let i = end - 1; i >= 0; i--) if (pattern.test(names[i])) return i;
  return -1;
}

/** The Keras scheme the layer names (in the model's order) follow, if any. */
export function detectKerasNaming(layerNames: readonly string[]): NamingScheme | undefined {
  const names = new Set(layerNames);
  if (names.has("Conv1") && layerNames.some((name) => /^(expanded_conv|block_\d+)_project$/.test(name))) return KERAS_MOBILENET_V2;
  if (names.has("conv1_conv") && layerNames.some((name) => /^conv\d+_block\d+_/.test(name))) return KERAS_RESNET;
  if (layerNames.some((name) => INCEPTION_MIXED.test(name)) && layerNames.some((name) => /^conv2d(_\d+)?$/.test(name))) return kerasInceptionV3Naming(layerNames);
  return undefined;
}

/** The scheme the layer names (in the model's order) follow: a Keras one when they fit, torchvision otherwise. */
export function detectNaming(layerNames: readonly string[]): NamingScheme {
  return detectKerasNaming(layerNames) ?? TORCHVISION;
}
