// A backbone is one value: the model (with a new head), what input it takes (size and pixel
// convention) and where its weights came from, all resolved here from one spec, so that no caller
// passes the preprocessing again and a saved classifier carries everything needed to use it.
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { inputConvention, type InputConventionName, type ModelInput } from "../data/input-convention";
import { loadMatchingWeights, type WeightTransfer } from "../train/export";
import { EMBEDDED_WEIGHTS, resolveWeights, sha256 } from "../weights";
import { buildBackbone, isArchitecture, type ModelOptions } from "../models";
import { detectKerasNaming, KERAS_MOBILENET_V2 } from "./naming";

export interface BackboneProvenance {
  /** What built the model: an architecture of this project, a Keras model folder, or a package. */
  source: string;
  /** Where its weights came from: a file or folder, the package, or "random init". */
  weights: string;
  version?: string;
  /** The npm package's integrity hash (package-lock.json). */
  integrity?: string;
  /** sha256 of the weight bytes. */
  sha256?: string;
}

export interface Backbone {
  /** The spec it was resolved from, e.g. "mobilenet_v2" or a Keras model folder. */
  name: string;
  model: tf.LayersModel;
  input: ModelInput;
  provenance: BackboneProvenance;
  /** Which weights a weights file provided, and which kept their initialisation (the new head). */
  transfer?: WeightTransfer;
}

export interface BackboneOptions {
  numClasses: number;
  /** Input size; default the backbone's native size. */
  imageSize?: number;
  /** mobilenet_v2 only. */
  widthMultiplier?: number;
  /** For an architecture: "embedded", a .pth / model folder / .ckpt, or "" (random init). */
  weights?: string;
  /** A Keras model folder's input convention, when its naming does not tell (default: by architecture). */
  convention?: InputConventionName;
  seed?: number;
}

/** The size a backbone was trained at, which is where it transfers best. */
export function nativeImageSize(name: string, weights = ""): number {
  if (weights === "embedded") return embeddedProvenance().imageSize;
  return 224;
}

/** Resolves `name` into a model with a fresh head for `numClasses`, its input and its provenance. */
export async function loadBackbone(name: string, options: BackboneOptions): Promise<Backbone> {
  const weights = options.weights ?? "";
  const size = options.imageSize ?? nativeImageSize(name, weights);
  const modelOptions: ModelOptions = { inputSize: size, seed: options.seed };
  if (name === "mobilenet_v2") modelOptions.widthMultiplier = options.widthMultiplier;
  const model = await buildBackbone(name, options.numClasses, modelOptions);
  try {
    if (isArchitecture(name)) {
      const source = weights ? resolveWeights(weights) : "";
      const transfer = source ? await loadMatchingWeights(model, source) : undefined;
      return { name, model, input: { size, convention: options.convention ?? "torchvision" }, provenance: architectureProvenance(name, weights, source), transfer };
    }
    if (weights) throw new Error(`backbone "${name}" brings its own weights: leave weights empty ("")`);
    const convention = options.convention ?? kerasConvention(model);
    inputConvention(convention);
    return { name, model, input: { size, convention }, provenance: { source: `keras:${path.resolve(name)}`, weights: path.resolve(name) } };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** keras.applications' own preprocess_input: "tf" for MobileNetV2, "caffe" for ResNet. */
function kerasConvention(model: tf.LayersModel): InputConventionName {
  return detectKerasNaming(model.layers.map((layer) => layer.name)) === KERAS_MOBILENET_V2 ? "keras-tf" : "keras-caffe";
}

function architectureProvenance(name: string, weights: string, source: string): BackboneProvenance {
  if (!weights) return { source: `charid:${name}`, weights: "random init" };
  if (weights === "embedded") return { source: `charid:${name}`, weights: EMBEDDED_WEIGHTS, sha256: embeddedProvenance().sha256 };
  return { source: `charid:${name}`, weights: source, sha256: fs.statSync(source).isFile() ? sha256(source) : undefined };
}

function embeddedProvenance(): { imageSize: number; sha256: string } {
  const dir = resolveWeights("embedded");
  return JSON.parse(fs.readFileSync(path.join(dir, "provenance.json"), "utf8")) as { imageSize: number; sha256: string };
}
