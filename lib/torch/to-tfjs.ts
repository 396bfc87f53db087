// torchvision state_dicts onto our models, whose layers carry torchvision's module paths:
// `layer1.0.conv1.weight` -> `layer1.0.conv1/kernel`, with PyTorch's layouts turned into tfjs's.
import type * as tf from "@tensorflow/tfjs";
import { BatchNorm } from "../models/layers/batch-norm";
import type { StateDict } from "./state-dict";

const BATCH_NORM_NAMES: Record<string, string> = { weight: "gamma", bias: "beta", running_mean: "moving_mean", running_var: "moving_variance" };

/** The classifiers, which a model for another number of classes (or without a top) cannot take. */
const HEAD_MODULES = new Set(["fc", "classifier.1"]);

export interface ConvertedStateDict {
  /** By variable name, in tfjs layout, ready for setWeights or variable.write. */
  weights: Map<string, Float32Array>;
  /** Head tensors left out, each with the reason (e.g. another number of classes). */
  skippedHead: string[];
}

/** The state_dict's weights for `model`; everything but the head must fit, or the error lists what does not. */
export function convertStateDict(stateDict: StateDict, model: tf.LayersModel): ConvertedStateDict {
  const layers = new Map(model.layers.map((layer) => [layer.name, layer]));
  const shapes = new Map(model.weights.map((variable) => [variable.originalName, variable.shape as number[]]));
  const weights = new Map<string, Float32Array>();
  const skippedHead: string[] = [];
  const unexpected: string[] = [];
  const misshapen: string[] = [];
  const misshapenNames = new Set<string>();
  for (const [key, tensor] of stateDict) {
    if (key.endsWith(".num_batches_tracked")) continue;
    const dot = key.lastIndexOf(".");
    const [module, param] = [key.slice(0, dot), key.slice(dot + 1)];
    const layer = layers.get(module);
    const isHead = HEAD_MODULES.has(module);
    const name = layer instanceof BatchNorm ? `${module}/${BATCH_NORM_NAMES[param]}` : `${module}/${param === "weight" ? "kernel" : param}`;
    const expected = shapes.get(name);
    if (!layer || !expected) {
      if (isHead) skippedHead.push(`${key}: ${model.name} has no ${module}`);
      else unexpected.push(key);
      continue;
    }
    if (!(tensor.data instanceof Float32Array)) throw new Error(`${key} holds ${tensor.dtype} values, not floating-point weights`);
    const tfjsShape = toTfjsShape(tensor.shape);
    if (!sameShape(tfjsShape, expected)) {
      const message = `${key}: [${tensor.shape}] in the file is [${tfjsShape}] in tfjs, but ${name} is [${expected}]`;
      if (isHead) skippedHead.push(message);
      else (misshapen.push(message), misshapenNames.add(name));
      continue;
    }
    weights.set(name, toTfjsLayout(tensor.data, tensor.shape));
  }
  const isHeadWeight = (name: string) => HEAD_MODULES.has(name.slice(0, name.lastIndexOf("/")));
  const missing = [...shapes.keys()].filter((name) => !weights.has(name) && !misshapenNames.has(name) && !isHeadWeight(name));
  if (unexpected.length + missing.length + misshapen.length > 0) {
    const problems = [
      listing("weights of the model missing from the file", missing),
      listing("unexpected keys in the file", unexpected),
      listing("tensors of another shape", misshapen),
    ].filter((line) => line !== "");
    throw new Error(`the state_dict does not fit ${model.name} (another architecture?):\n${problems.join("\n")}`);
  }
  return { weights, skippedHead };
}

/** The state_dict's weights for `model` by variable name; the head is left out when it does not fit. */
export function torchvisionToWeights(stateDict: StateDict, model: tf.LayersModel): Map<string, Float32Array> {
  return convertStateDict(stateDict, model).weights;
}

/** Conv [out, in/groups, kh, kw] -> [kh, kw, in/groups, out] (depthwise [C*m, 1, kh, kw] included); Linear [out, in] -> [in, out]. */
function toTfjsShape(shape: number[]): number[] {
  if (shape.length === 4) return [shape[2], shape[3], shape[1], shape[0]];
  if (shape.length === 2) return [shape[1], shape[0]];
  return shape;
}

function toTfjsLayout(values: Float32Array, shape: number[]): Float32Array {
  if (shape.length === 4) return convToTfjs(values, shape);
  if (shape.length === 2) return linearToTfjs(values, shape);
  return values.slice();
}

/** [out, in/groups, kh, kw] -> [kh, kw, in/groups, out] (plain loops: tfjs's cpu transpose is slow). */
function convToTfjs(values: Float32Array, [out, inPerGroup, kh, kw]: number[]): Float32Array {
  const result = new Float32Array(values.length);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inPerGroup; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) result[((y * kw + x) * inPerGroup + i) * out + o] = values[((o * inPerGroup + i) * kh + y) * kw + x];
  return result;
}

/** [out, in] -> [in, out]. */
function linearToTfjs(values: Float32Array, [out, inFeatures]: number[]): Float32Array {
  const result = new Float32Array(values.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inFeatures; i++) result[i * out + o] = values[o * inFeatures + i];
  return result;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((size, i) => size === b[i]);
}

function listing(what: string, names: string[]): string {
  if (names.length === 0) return "";
  const shown = names.slice(0, 10).join(", ");
  return `  ${names.length} ${what}: ${shown}${names.length > 10 ? `, ... (${names.length - 10} more)` : ""}`;
}
