// A trained classifier on disk: the tfjs model plus what is needed to use it (classes, input size).
import * as fs from "node:fs";
import * as path from "node:path";
import type * as tf from "@tensorflow/tfjs";
import { writeJsonAtomic } from "../io";
import { loadModel, saveModel } from "../models/io";

export interface ClassifierInfo {
  classes: string[];
  imageSize: number;
  backbone: string;
}

export interface Classifier extends ClassifierInfo {
  model: tf.LayersModel;
}

const INFO = "classifier.json";

/** `dir/classifier.json` (classes, input size) beside the tfjs model in `dir/model/`. */
export async function saveClassifier(dir: string, model: tf.LayersModel, info: ClassifierInfo): Promise<void> {
  await saveModel(model, path.join(dir, "model"));
  writeJsonAtomic(path.join(dir, INFO), info);
}

export async function loadClassifier(dir: string): Promise<Classifier> {
  const infoFile = path.join(dir, INFO);
  if (!fs.existsSync(infoFile)) {
    throw new Error(`${dir} holds no trained classifier (${INFO} is missing): run notebooks/05-lr-schedule-training.ipynb first`);
  }
  const info = JSON.parse(fs.readFileSync(infoFile, "utf8")) as ClassifierInfo;
  const model = await loadModel(path.join(dir, "model"));
  const outputs = (model.outputs[0].shape as number[])[1];
  if (outputs !== info.classes.length) throw new Error(`${dir}: the model has ${outputs} outputs but ${info.classes.length} classes are listed`);
  return { ...info, model };
}
