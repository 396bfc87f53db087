// Freezing and parameter groups addressed by module paths: torchvision's, or the ones naming.ts
// derives from Keras layer names (detected from the model's layers). A model's "blocks" are its
// top-level modules that own parameters, with the numbered children of a stage (`layer3.18`,
// `features.7`, `block.14`) as blocks of their own: conv1, bn1, layer1.0, ..., layer4.2, fc for a
// ResNet; features.0 ... features.18, classifier for MobileNetV2.
import * as tf from "@tensorflow/tfjs";
import { BatchNorm } from "./layers/batch-norm";
import { detectNaming, TORCHVISION, type NamingScheme } from "./naming";

export interface ParameterGroup<T> {
  /** The path spec that selected the group, e.g. "layer3.18:". */
  name: string;
  options: T;
  variables: tf.LayerVariable[];
}

export interface BlockSummary {
  path: string;
  params: number;
  trainableParams: number;
  trainable: "yes" | "no" | "partly";
}

/** The block a layer belongs to: `layer3.18` for `layer3.18.conv2`, `fc` for `fc`; `block.14` for Keras' `block_14_expand`. */
export function blockOf(layerName: string, naming: NamingScheme = TORCHVISION): string {
  const [first, second] = naming.pathOf(layerName).split(".");
  return naming.stage.test(first) && second !== undefined ? `${first}.${second}` : first;
}

/** The naming scheme of the model's layers (see naming.ts). */
export function namingOf(model: tf.LayersModel): NamingScheme {
  return detectNaming(model.layers.map((layer) => layer.name));
}

/** A layer's parameters in the PyTorch sense (BatchNorm moving statistics are buffers), frozen or not. */
export function parametersOf(layer: tf.layers.Layer): tf.LayerVariable[] {
  return layer instanceof BatchNorm ? layer.affineWeights : layer.weights;
}

/** The number of parameters as torchvision counts them (`sum(p.numel() for p in model.parameters())`). */
export function parameterCount(model: tf.LayersModel): number {
  return model.layers.reduce((sum, layer) => sum + sizeOf(parametersOf(layer)), 0);
}

/** The blocks in forward order. */
export function blockPaths(model: tf.LayersModel): string[] {
  const naming = namingOf(model);
  const blocks = model.layers.filter((layer) => parametersOf(layer).length > 0).map((layer) => blockOf(layer.name, naming));
  return [...new Set(blocks)];
}

/** Freezes every block before `path` (BatchNorm then runs in inference mode) and unfreezes the rest. */
export function freezeBefore(model: tf.LayersModel, path: string): void {
  const blocks = blockPaths(model);
  const index = blocks.indexOf(path);
  if (index < 0) throw new Error(`freezeBefore: "${path}" is not a block of ${model.name}; blocks are ${blocks.join(", ")}`);
  const frozen = new Set(blocks.slice(0, index));
  const naming = namingOf(model);
  for (const layer of model.layers) {
    if (parametersOf(layer).length > 0) layer.trainable = !frozen.has(blockOf(layer.name, naming));
  }
}

/**
 * The trainable variables of each spec's layers, e.g. { "layer3.18:": a, layer4: b, fc: c }. A spec is
 * a slice `stage.start:end` over a stage's blocks with Python's slice rules (`layer3.18:` is
 * layer3[18:]), where a bound of 0 or more is a block number, so that Keras stages numbered from 1
 * slice as they read (`conv4.2:` starts at conv4.2); or a module path selecting that module and
 * everything inside it (`layer4`, `layer3.18.conv2`, `block.14`), or a layer by its name. A variable
 * may belong to one group only.
 */
export function parameterGroups<T>(model: tf.LayersModel, specs: Record<string, T>): ParameterGroup<T>[] {
  const owner = new Map<string, string>();
  return Object.entries(specs).map(([name, options]) => {
    const variables = selectLayers(model, name).flatMap((layer) => layer.trainableWeights);
    if (variables.length === 0) {
      throw new Error(`parameter group "${name}" has no trainable variables: its layers are frozen (see freezeBefore) or own no parameters`);
    }
    for (const variable of variables) {
      const other = owner.get(variable.originalName);
      if (other !== undefined) throw new Error(`variable ${variable.originalName} is in two parameter groups, "${other}" and "${name}"`);
      owner.set(variable.originalName, name);
    }
    return { name, options, variables };
  });
}

/** Per block: parameters, how many of them train, and whether the block trains. */
export function trainableSummary(model: tf.LayersModel): BlockSummary[] {
  const naming = namingOf(model);
  return blockPaths(model).map((path) => {
    const layers = model.layers.filter((layer) => blockOf(layer.name, naming) === path);
    const params = layers.reduce((sum, layer) => sum + sizeOf(parametersOf(layer)), 0);
    const trainableParams = layers.reduce((sum, layer) => sum + sizeOf(layer.trainableWeights), 0);
    const trainable = trainableParams === params ? "yes" : trainableParams === 0 ? "no" : "partly";
    return { path, params, trainableParams, trainable };
  });
}

function selectLayers(model: tf.LayersModel, spec: string): tf.layers.Layer[] {
  const naming = namingOf(model);
  const range = /^(.+)\.(-?\d*):(-?\d*)$/.exec(spec);
  if (range) {
    const [, stage, start, end] = range;
    const children = blockPaths(model).filter((block) => block.startsWith(`${stage}.`));
    if (children.length === 0) throw unknownPath(model, spec, `${stage} is not a stage`);
    const selected = new Set(children.slice(slicePosition(children, start), slicePosition(children, end)));
    if (selected.size === 0) throw new Error(`"${spec}" selects no blocks; ${stage} has ${children[0]} ... ${children[children.length - 1]}`);
    return model.layers.filter((layer) => selected.has(blockOf(layer.name, naming)));
  }
  const layers = model.layers.filter((layer) => {
    const path = naming.pathOf(layer.name);
    return layer.name === spec || path === spec || path.startsWith(`${spec}.`);
  });
  if (layers.length === 0) throw unknownPath(model, spec, "no such module");
  return layers;
}

/** A slice bound as a position in `children` (`stage.N` paths in order): numbers from the start, negatives from the end. */
function slicePosition(children: string[], bound: string): number | undefined {
  if (bound === "") return undefined;
  const value = Number(bound);
  if (value < 0) return value;
  const position = children.findIndex((child) => Number(child.split(".")[1]) >= value);
  return position < 0 ? children.length : position;
}

function unknownPath(model: tf.LayersModel, spec: string, why: string): Error {
  const [module, slice] = namingOf(model).examples;
  return new Error(
    `unknown path "${spec}" in ${model.name} (${why}); blocks are ${blockPaths(model).join(", ")} ` +
      `(a path may also name a module inside a block, e.g. ${module}, or slice a stage, e.g. ${slice})`,
  );
}

function sizeOf(variables: tf.LayerVariable[]): number {
  return variables.reduce((sum, v) => sum + v.read().size, 0);
}

/**
 * Trains the head and the `blocks` blocks below it, freezing the rest; -1 (or more blocks than the
 * model has) trains everything. Returns the freeze point ("" when nothing is frozen).
 */
export function unfreezeTop(model: tf.LayersModel, blocks: number): string {
  if (!Number.isInteger(blocks) || blocks < -1) throw new Error(`unfreezeTop: blocks must be a whole number >= 0, or -1 for all, got ${blocks}`);
  const paths = blockPaths(model);
  const first = blocks === -1 ? 0 : Math.max(0, paths.length - 1 - blocks);
  if (first === 0) {
    for (const layer of model.layers) layer.trainable = true;
    return "";
  }
  freezeBefore(model, paths[first]);
  return paths[first];
}
