// A trained classifier on disk: the tfjs model plus what is needed to use it (classes, the input it
// takes, where its backbone came from).
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { ModelInput } from "../data/input-convention";
import { writeJsonAtomic } from "../io";
import type { BackboneProvenance } from "../models/backbone";
import { getWeights, loadModel, saveModel } from "../models/io";
import { readStateDict } from "../torch/state-dict";
import { torchvisionToWeights } from "../torch/to-tfjs";
import { readCheckpoint } from "./checkpoint";

export interface ClassifierInfo {
  classes: string[];
  /** Size and pixel convention, from the backbone: predictions apply it without being told. */
  input: ModelInput;
  backbone: string;
  provenance?: BackboneProvenance;
}

/** classifier.json as written before the input convention travelled with the model. */
interface LegacyClassifierInfo {
  imageSize?: number;
}

export interface Classifier extends ClassifierInfo {
  model: tf.LayersModel;
}

const INFO = "classifier.json";

/** `dir/classifier.json` (classes, input, backbone) beside the tfjs model in `dir/model/`. */
export async function saveClassifier(dir: string, model: tf.LayersModel, info: ClassifierInfo): Promise<void> {
  await saveModel(model, path.join(dir, "model"));
  writeJsonAtomic(path.join(dir, INFO), info);
}

export async function loadClassifier(dir: string): Promise<Classifier> {
  const infoFile = path.join(dir, INFO);
  if (!fs.existsSync(infoFile)) {
    throw new Error(`${dir} holds no trained classifier (${INFO} is missing): run notebooks/05-lr-schedule-training.ipynb first`);
  }
  const { imageSize, input, ...rest } = JSON.parse(fs.readFileSync(infoFile, "utf8")) as ClassifierInfo & LegacyClassifierInfo;
  const info: ClassifierInfo = { ...rest, input: input ?? { size: imageSize!, convention: "torchvision" } };
  const model = await loadModel(path.join(dir, "model"));
  const outputs = (model.outputs[0].shape as number[])[1];
  if (outputs !== info.classes.length) throw new Error(`${dir}: the model has ${outputs} outputs but ${info.classes.length} classes are listed`);
  return { ...info, model };
}

export interface WeightTransfer {
  loaded: number;
  /** Weights of the model that the file did not provide (e.g. the new head). */
  missing: string[];
  /** Weights in the file with another shape (e.g. a head with another number of classes). */
  mismatched: string[];
}

/**
 * Copies into `model` every weight of a saved model (a folder with model.json, or a classifier
 * folder), of a training checkpoint (.ckpt) or of a torchvision state_dict (.pth) whose name and
 * shape match; the rest keeps its initialisation. Pretrained backbones come in this way; the new
 * head usually stays fresh.
 */
export async function loadMatchingWeights(model: tf.LayersModel, source: string): Promise<WeightTransfer> {
  const weights = await readWeightFile(source, model);
  const transfer: WeightTransfer = { loaded: 0, missing: [], mismatched: [] };
  for (const variable of model.weights) {
    const values = weights.get(variable.originalName);
    if (!values) transfer.missing.push(variable.originalName);
    else if (values.length !== tf.util.sizeFromShape(variable.shape as number[])) transfer.mismatched.push(variable.originalName);
    else {
      const tensor = tf.tensor(values, variable.shape as number[]);
      variable.write(tensor);
      tensor.dispose();
      transfer.loaded++;
    }
  }
  if (transfer.loaded === 0) throw new Error(`${source} has no weight that fits this ${model.name} (names like ${model.weights[0]?.originalName})`);
  return transfer;
}

async function readWeightFile(source: string, model: tf.LayersModel): Promise<Map<string, Float32Array>> {
  if (source.endsWith(".pth")) return torchvisionToWeights(readStateDict(source), model);
  if (source.endsWith(".ckpt")) {
    const { tensors } = readCheckpoint<unknown>(source);
    const weights = new Map<string, Float32Array>();
    for (const [name, tensor] of tensors) {
      if (name.startsWith("model/")) weights.set(name.slice("model/".length), tensor.dataSync() as Float32Array);
      tensor.dispose();
    }
    return weights;
  }
  const dir = fs.existsSync(path.join(source, INFO)) ? path.join(source, "model") : source;
  const saved = await loadModel(dir);
  const weights = getWeights(saved);
  saved.dispose();
  return weights;
}
