// A backbone is one value: the model (with a new head), what input it takes (size and pixel
// convention) and where its weights came from, all resolved here from one spec, so that no caller
// passes the preprocessing again and a saved classifier carries everything needed to use it.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { inputConvention, type InputConventionName, type ModelInput } from "../data/input-convention";
import { loadMatchingWeights, type WeightTransfer } from "../train/export";
import { projectRoot } from "../jupyter/kernelspec";
import { hashSeed } from "../random";
import { EMBEDDED_WEIGHTS, resolveWeights, sha256 } from "../weights";
import { buildBackbone, isArchitecture, NSFWJS_PREFIX, type ModelOptions } from "../models";
import { BatchNorm } from "./layers/batch-norm";
import { detectKerasNaming } from "./naming";
import { isNsfwjsBackbone, loadNsfwjsBackbone, NSFWJS_BACKBONES } from "./nsfwjs";

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
  /** Input size; omitted or 0: the backbone's native size. */
  imageSize?: number;
  /** mobilenet_v2 only. */
  widthMultiplier?: number;
  /**
   * "random": random initialisation, for any backbone. For an architecture: "embedded", a .pth /
   * model folder / .ckpt, or "" (random init); a package or Keras backbone brings its own weights ("").
   */
  weights?: string;
  /** A Keras model folder's input convention, when its naming does not tell (default: by architecture). */
  convention?: InputConventionName;
  seed?: number;
  /**
   * Momentum of every BatchNorm's moving statistics while it trains (Keras convention: moving =
   * m * moving + (1 - m) * batch). Default FINE_TUNE_BN_MOMENTUM, whatever the weights file says.
   */
  batchNormMomentum?: number;
}

/**
 * PyTorch's BatchNorm momentum (0.1, Keras 0.9): the moving statistics follow the fine-tuned
 * weights within a few dozen steps. keras.applications train with 0.999, right for ImageNet's
 * hundreds of thousands of steps; a fine-tune of a few hundred steps then keeps mostly ImageNet's
 * statistics (0.999^300 = 74 %) under weights that have moved on, and inference accuracy
 * collapses: nsfwjs MobileNetV2 @128, head + 8 blocks, 4 epochs: 15 % validation with 0.999,
 * 67 % with 0.9, for the same 78 % training accuracy (README, "BatchNorm momentum").
 */
export const FINE_TUNE_BN_MOMENTUM = 0.9;

/** The size a backbone was trained at, which is where it transfers best. */
export function nativeImageSize(name: string, weights = ""): number {
  if (weights === "embedded") return embeddedProvenance().imageSize;
  const nsfwjs = name.startsWith(NSFWJS_PREFIX) ? name.slice(NSFWJS_PREFIX.length) : "";
  return isNsfwjsBackbone(nsfwjs) ? NSFWJS_BACKBONES[nsfwjs].nativeSize : 224;
}

/** Resolves `name` into a model with a fresh head for `numClasses`, its input and its provenance. */
export async function loadBackbone(name: string, options: BackboneOptions): Promise<Backbone> {
  const backbone = await resolveBackbone(name, options);
  const momentum = options.batchNormMomentum ?? FINE_TUNE_BN_MOMENTUM;
  for (const layer of backbone.model.layers) if (layer instanceof BatchNorm) layer.momentum = momentum;
  return backbone;
}

async function resolveBackbone(name: string, options: BackboneOptions): Promise<Backbone> {
  const random = options.weights === RANDOM_INIT;
  const weights = random ? "" : (options.weights ?? "");
  const size = options.imageSize || nativeImageSize(name, weights);
  if (name.startsWith(NSFWJS_PREFIX)) {
    if (weights) throw new Error(`backbone "${name}" brings its own (ImageNet-derived) weights: leave weights empty (""), or "random"`);
    const { model, provenance } = await loadNsfwjsBackbone(name.slice(NSFWJS_PREFIX.length), { numClasses: options.numClasses, inputSize: size, seed: options.seed });
    const { weightsSha256, ...packaged } = provenance;
    const input: ModelInput = { size, convention: "unit" };
    if (random) return { name, model: reinitialised(model, options.seed ?? 0), input, provenance: { source: packaged.source, weights: "random init" } };
    return { name, model, input, provenance: { ...packaged, weights: packaged.source, sha256: weightsSha256 } };
  }
  const modelOptions: ModelOptions = { inputSize: size, seed: options.seed };
  if (name === "mobilenet_v2") modelOptions.widthMultiplier = options.widthMultiplier;
  const model = await buildBackbone(name, options.numClasses, modelOptions);
  try {
    if (isArchitecture(name)) {
      const source = weights ? resolveWeights(weights) : "";
      const transfer = source ? await loadMatchingWeights(model, source) : undefined;
      return { name, model, input: { size, convention: options.convention ?? "torchvision" }, provenance: architectureProvenance(name, weights, source), transfer };
    }
    if (weights) throw new Error(`backbone "${name}" brings its own weights: leave weights empty (""), or "random"`);
    const convention = options.convention ?? kerasConvention(model);
    inputConvention(convention);
    const source = `keras:${path.resolve(name)}`;
    if (random) return { name, model: reinitialised(model, options.seed ?? 0), input: { size, convention }, provenance: { source, weights: "random init" } };
    return { name, model, input: { size, convention }, provenance: { source, weights: path.resolve(name) } };
  } catch (error) {
    model.dispose();
    throw error;
  }
}

/** The weights value that asks for random initialisation. */
export const RANDOM_INIT = "random";

/**
 * The same model with Keras' default initialisation, seeded per weight: kernels Glorot-uniform,
 * gammas and moving variances 1, everything else 0. For the random-init side of a transfer study
 * with a backbone that comes with weights.
 */
function reinitialised(model: tf.LayersModel, seed: number): tf.LayersModel {
  for (const weight of model.weights) {
    const name = weight.originalName;
    const shape = weight.shape as number[];
    const value = tf.tidy(() =>
      /kernel$/.test(name) ? tf.initializers.glorotUniform({ seed: hashSeed(seed, "init", name) }).apply(shape)
        : /(gamma|moving_variance)$/.test(name) ? tf.ones(shape)
        : tf.zeros(shape));
    weight.write(value);
    value.dispose();
  }
  return model;
}

/** keras.applications' own preprocess_input: "caffe" for ResNet, "tf" for MobileNetV2 and InceptionV3. */
function kerasConvention(model: tf.LayersModel): InputConventionName {
  return detectKerasNaming(model.layers.map((layer) => layer.name))?.name === "keras-resnet" ? "keras-caffe" : "keras-tf";
}

function architectureProvenance(name: string, weights: string, source: string): BackboneProvenance {
  if (!weights) return { source: `charid:${name}`, weights: "random init" };
  if (weights === "embedded") return { source: `charid:${name}`, weights: EMBEDDED_WEIGHTS, sha256: embeddedProvenance().sha256 };
  return { source: `charid:${name}`, weights: source, sha256: fs.statSync(source).isFile() ? sha256(source) : undefined };
}

/** The embedded backbone's provenance.json, read without hashing the weights again (resolveWeights does when they load). */
function embeddedProvenance(): { imageSize: number; sha256: string } {
  const file = path.join(projectRoot(), EMBEDDED_WEIGHTS, "provenance.json");
  if (!fs.existsSync(file)) resolveWeights("embedded"); // throws, saying how to make it
  return JSON.parse(fs.readFileSync(file, "utf8")) as { imageSize: number; sha256: string };
}
