// Image-classification backbones named like torchvision (so torchvision weights map onto them by
// module path), with freezing, parameter groups, head replacement and checkpoints.
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { withInitSeed } from "./models/builders";
import { replaceHead } from "./models/head";
import { loadKerasModel } from "./models/keras";
import { loadNsfwjsBackbone, NSFWJS_BACKBONE_NAMES } from "./models/nsfwjs";
import { mobilenetV2, type MobileNetV2Options } from "./models/mobilenet-v2";
import { resnet18, resnet34, resnet50, resnet101, resnext50_32x4d, resnext101_32x8d, type ResNetOptions } from "./models/resnet";

export { BatchNorm, type BatchNormArgs } from "./models/layers/batch-norm";
export { GroupedConv2D, type GroupedConv2DArgs } from "./models/layers/grouped-conv2d";
export { makeDivisible, mobilenetV2, type MobileNetV2Options } from "./models/mobilenet-v2";
export { resnet18, resnet34, resnet50, resnet101, resnext50_32x4d, resnext101_32x8d, type ResNetOptions } from "./models/resnet";
export {
  blockOf,
  blockPaths,
  freezeBefore,
  namingOf,
  parameterCount,
  parameterGroups,
  parametersOf,
  trainableSummary,
  unfreezeTop,
  type BlockSummary,
  type ParameterGroup,
} from "./models/paths";
export { replaceHead, type ReplaceHeadOptions } from "./models/head";
export { withInitSeed } from "./models/builders";
export { splitAfterLayers, splitAtFreezePoint, type SplitModel } from "./models/split";
export { loadKerasModel, type LoadKerasModelOptions } from "./models/keras";
export {
  isNsfwjsBackbone,
  loadNsfwjsBackbone,
  NSFWJS_BACKBONE_NAMES,
  NSFWJS_BACKBONES,
  nsfwjsProvenance,
  type LoadNsfwjsOptions,
  type NsfwjsBackbone,
  type NsfwjsBackboneInfo,
  type NsfwjsBackboneName,
  type NsfwjsProvenance,
} from "./models/nsfwjs";
export { detectNaming, NAMING_SCHEMES, type NamingScheme, type NamingSchemeName } from "./models/naming";
export { getWeights, loadModel, saveModel, setWeights, type LoadModelOptions } from "./models/io";

export type ModelOptions = ResNetOptions &
  Pick<MobileNetV2Options, "widthMultiplier"> & {
    /** Seeds every initialiser (per layer), so the same seed builds the same random weights. */
    seed?: number;
  };

const BUILDERS = {
  resnet18,
  resnet34,
  resnet50,
  resnet101,
  resnext50_32x4d,
  resnext101_32x8d,
  mobilenet_v2: mobilenetV2,
} satisfies Record<string, (options: ModelOptions) => tf.LayersModel>;

export type Architecture = keyof typeof BUILDERS;

export const ARCHITECTURES = Object.keys(BUILDERS) as Architecture[];

export function isArchitecture(name: string): name is Architecture {
  return Object.prototype.hasOwnProperty.call(BUILDERS, name);
}

/** Builds an architecture by its torchvision name; widthMultiplier applies to mobilenet_v2 only. */
export function buildModel(name: Architecture, options: ModelOptions = {}): tf.LayersModel {
  if (!isArchitecture(name)) throw new Error(`unknown architecture "${name}"; choose one of ${ARCHITECTURES.join(", ")}`);
  if (options.widthMultiplier !== undefined && name !== "mobilenet_v2") {
    throw new Error(`widthMultiplier applies to mobilenet_v2 only, not ${name}`);
  }
  return withInitSeed(options.seed, () => BUILDERS[name](options));
}

/** The prefix of the nsfwjs package's pretrained Keras backbones: "nsfwjs:mobilenet_v2". */
export const NSFWJS_PREFIX = "nsfwjs:";

/**
 * A backbone with a fresh one-Linear head for `numClasses`: an architecture name builds our
 * torchvision-named model; "nsfwjs:<name>" loads the trunk of a model the nsfwjs package bundles
 * (at options.inputSize, default its native size; see nsfwjsProvenance for where it comes from);
 * a path loads a Keras-converted tfjs model (folder or model.json).
 */
export async function buildBackbone(spec: string, numClasses: number, options: ModelOptions = {}): Promise<tf.LayersModel> {
  if (isArchitecture(spec)) return replaceHead(buildModel(spec, options), numClasses, { seed: options.seed, disposeOld: true });
  if (spec.startsWith(NSFWJS_PREFIX)) {
    if (options.widthMultiplier !== undefined) throw new Error(`widthMultiplier applies to the mobilenet_v2 architecture only, not ${spec}`);
    const { model } = await loadNsfwjsBackbone(spec.slice(NSFWJS_PREFIX.length), { numClasses, inputSize: options.inputSize, seed: options.seed });
    return model;
  }
  if (fs.existsSync(spec)) return loadKerasModel(spec, { numClasses, seed: options.seed });
  const nsfwjs = NSFWJS_BACKBONE_NAMES.map((name) => NSFWJS_PREFIX + name).join(", ");
  throw new Error(`backbone "${spec}" is neither an architecture (${ARCHITECTURES.join(", ")}), a pretrained nsfwjs backbone (${nsfwjs}) nor a Keras model folder or model.json`);
}
