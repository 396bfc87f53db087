// Saving and loading models in the tfjs layers format (model.json + weights.bin, the same files
// tfjs-node's file:// handler writes) with plain fs, so it works on every backend; and weight
// snapshots for checkpoints within a run.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
// The custom layers must be registered before a model that uses them is deserialised.
import "./layers/batch-norm";
import "./layers/grouped-conv2d";

const MODEL_JSON = "model.json";
const WEIGHTS_BIN = "weights.bin";

export interface LoadModelOptions {
  /** The architecture the checkpoint must hold, e.g. "resnext101_32x8d"; anything else is an error. */
  architecture?: string;
}

/** Writes `dir`/model.json and `dir`/weights.bin, replacing an earlier checkpoint in `dir` as a whole. */
export async function saveModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        format: "layers-model",
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs ?? [] }],
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
      };
      replaceDirectory(dir, {
        [MODEL_JSON]: JSON.stringify(modelJson),
        [WEIGHTS_BIN]: new Uint8Array(weightData),
      });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
}

/** Loads a model saved by saveModel (or tfjs-node's file:// handler). */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<tf.LayersModel> {
  const jsonFile = path.join(dir, MODEL_JSON);
  if (!fs.existsSync(jsonFile)) throw new Error(`no model checkpoint in ${dir}: ${MODEL_JSON} is missing`);
  const modelJson = JSON.parse(fs.readFileSync(jsonFile, "utf8")) as tf.io.ModelJSON;
  const found = architectureOfTopology(modelJson.modelTopology);
  if (options.architecture !== undefined && found !== options.architecture) {
    throw new Error(`the checkpoint in ${dir} holds a ${found ?? "model of unknown architecture"}, not the expected ${options.architecture}`);
  }
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
    const buffers = manifest.flatMap((group) => group.paths.map((file) => toArrayBuffer(fs.readFileSync(path.join(dir, file)))));
    return [tf.io.getWeightSpecs(manifest), tf.io.CompositeArrayBuffer.join(buffers)];
  });
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  // Layers deserialised with trainable: false still create tf.Variables marked trainable, which an
  // optimizer's default variable list would pick up; re-applying the flag fixes the variables.
  for (const layer of model.layers) layer.trainable = layer.trainable;
  return model;
}

/** A copy of every weight, moving statistics included, keyed by variable name (e.g. `layer1.0.bn1/gamma`). */
export function getWeights(model: tf.LayersModel): Map<string, Float32Array> {
  return new Map(model.weights.map((variable) => [variable.originalName, new Float32Array(variable.read().dataSync())]));
}

/** Restores a snapshot from getWeights into a model of the same architecture. */
export function setWeights(model: tf.LayersModel, weights: Map<string, Float32Array>): void {
  const variables = model.weights;
  const missing = variables.filter((v) => !weights.has(v.originalName)).map((v) => v.originalName);
  const known = new Set(variables.map((v) => v.originalName));
  const unexpected = [...weights.keys()].filter((name) => !known.has(name));
  if (missing.length > 0 || unexpected.length > 0) {
    throw new Error(
      `the weights do not fit ${model.name}: ${missing.length} missing (${preview(missing)}), ` +
        `${unexpected.length} unexpected (${preview(unexpected)})`,
    );
  }
  for (const variable of variables) {
    const values = weights.get(variable.originalName) as Float32Array;
    const current = variable.read();
    if (values.length !== current.size) {
      throw new Error(`weight ${variable.originalName} of ${model.name} has shape [${current.shape}] but the snapshot has ${values.length} values`);
    }
    tf.tidy(() => {
      // A copy: the cpu backend would otherwise keep the caller's array as the variable's storage.
      variable.write(tf.tensor(values.slice(), current.shape));
    });
  }
}

function architectureOfTopology(topology: unknown): string | undefined {
  const config = (topology as { config?: { name?: unknown } } | null)?.config;
  return typeof config?.name === "string" ? config.name : undefined;
}

/** Writes the files into a temporary sibling folder, then swaps it in for `dir`. */
function replaceDirectory(dir: string, files: Record<string, string | Uint8Array>): void {
  if (fs.existsSync(dir)) {
    const strangers = fs.readdirSync(dir).filter((name) => !(name in files));
    if (strangers.length > 0) throw new Error(`not overwriting ${dir}: it holds other files than a checkpoint (${preview(strangers)})`);
  }
  const unique = `${process.pid}-${Date.now().toString(36)}`;
  const tmp = `${dir}.tmp-${unique}`;
  const old = `${dir}.old-${unique}`;
  fs.mkdirSync(path.dirname(path.resolve(dir)), { recursive: true });
  fs.mkdirSync(tmp);
  try {
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(tmp, name), data);
  } catch (error) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  const replacing = fs.existsSync(dir);
  if (replacing) fs.renameSync(dir, old);
  try {
    fs.renameSync(tmp, dir);
  } catch (error) {
    if (replacing) fs.renameSync(old, dir);
    fs.rmSync(tmp, { recursive: true, force: true });
    throw error;
  }
  if (replacing) fs.rmSync(old, { recursive: true, force: true });
}

function toArrayBuffer(buffer: Buffer): ArrayBuffer {
  const { buffer: whole, byteOffset, byteLength } = buffer;
  // Large files get an ArrayBuffer of their own; small ones may share Node's pool and need a copy.
  return (byteOffset === 0 && byteLength === whole.byteLength ? whole : whole.slice(byteOffset, byteOffset + byteLength)) as ArrayBuffer;
}

function preview(names: string[]): string {
  return names.length <= 5 ? names.join(", ") || "none" : `${names.slice(0, 5).join(", ")}, ...`;
}
