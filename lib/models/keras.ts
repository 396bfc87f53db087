// Backbones from keras.applications as the TensorFlow.js converter writes them (`tensorflowjs_converter
// --input_format keras`: model.json plus group1-shard1ofN.bin ...), loaded with plain fs, with their
// Keras layer names mapped onto module paths (naming.ts) so freezeBefore and parameterGroups work.
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { globalAveragePool, linear, withInitSeed } from "./builders";
import { replaceHead } from "./head";
import { detectKerasNaming, KERAS_MOBILENET_V2, KERAS_RESNET } from "./naming";
// Keras' BatchNormalization layers are loaded as BatchNorm, which must be registered first.
import "./layers/batch-norm";

const MODEL_JSON = "model.json";
/** The Keras classifier layer that numClasses replaces. */
const KERAS_HEAD = "predictions";

export interface LoadKerasModelOptions {
  /** Replaces the Keras head (or adds one to a model converted without its top) by a new Dense to this many classes, outputting logits. */
  numClasses?: number;
  /** Without the top, the model outputs the globally average-pooled features (default true). */
  includeTop?: boolean;
  /** Seeds the new head's initialisers (see withInitSeed). */
  seed?: number;
}

/**
 * Loads a converted keras.applications MobileNetV2 or ResNet from its folder or its model.json. Its
 * BatchNormalization layers become BatchNorm layers (same weights, epsilon and momentum), which
 * freezeBefore can freeze: tfjs's own keeps using batch statistics when frozen.
 */
export async function loadKerasModel(dirOrModelJson: string, options: LoadKerasModelOptions = {}): Promise<tf.LayersModel> {
  const { numClasses, includeTop = true } = options;
  if (numClasses !== undefined && !includeTop) throw new Error("loadKerasModel: numClasses adds a head, so it cannot go with includeTop: false");
  const jsonFile = dirOrModelJson.endsWith(".json") ? dirOrModelJson : path.join(dirOrModelJson, MODEL_JSON);
  if (!fs.existsSync(jsonFile)) throw new Error(`no converted Keras model at ${jsonFile}: the file is missing`);
  const modelJson = checkLayersModelJson(JSON.parse(fs.readFileSync(jsonFile, "utf8")) as tf.io.ModelJSON, jsonFile);
  const model = await tf.loadLayersModel(fileHandler(jsonFile, modelJson));
  // As in loadModel: re-applying the flag makes the variables of layers saved as frozen untrainable.
  for (const layer of model.layers) layer.trainable = layer.trainable;
  const names = model.layers.map((layer) => layer.name);
  if (detectKerasNaming(names) === undefined) {
    throw new Error(
      `${jsonFile}: the layer names (${names.slice(0, 8).join(", ")}, ...) follow no supported Keras naming scheme: ` +
        `${KERAS_MOBILENET_V2.name} (Conv1, expanded_conv_*, block_N_*, Conv_1), keras-inceptionv3 (conv2d_N, mixed0 ... mixed10) ` +
        `or ${KERAS_RESNET.name} (conv1_conv, convK_blockM_*)`,
    );
  }
  if (numClasses !== undefined) return withNewHead(model, numClasses, options.seed);
  return includeTop ? model : tf.model({ inputs: model.inputs, outputs: pooledFeatures(model), name: model.name });
}

/** `modelJson`, if it is a layers model with weights; `source` names it in the errors. */
export function checkLayersModelJson(modelJson: tf.io.ModelJSON, source: string): tf.io.ModelJSON {
  const topology = (modelJson.modelTopology ?? {}) as Record<string, unknown>;
  if (modelJson.format === "graph-model" || "node" in topology) {
    throw new Error(
      `${source} is a TensorFlow.js graph model, whose weights are frozen into the graph: graph models cannot be fine-tuned. ` +
        `Convert the Keras model to a layers model with tensorflowjs_converter --input_format keras model.h5 <folder>`,
    );
  }
  if (!("model_config" in topology || "class_name" in topology)) throw new Error(`${source} holds no TensorFlow.js layers model topology`);
  if (!modelJson.weightsManifest?.length) throw new Error(`${source} lists no weights (weightsManifest): a backbone without weights is no use`);
  return modelJson;
}

/**
 * An IOHandler for tf.loadLayersModel that gives `modelJson` with freezable BatchNorm layers and
 * the weight shards `readShards` returns (in the order of the manifest's paths); tfjs dequantizes
 * quantized weights as the manifest says.
 */
export function layersModelHandler(modelJson: tf.io.ModelJSON, readShards: () => ArrayBuffer[] | Promise<ArrayBuffer[]>): tf.io.IOHandler {
  return {
    load: async () => {
      const json: tf.io.ModelJSON = { ...modelJson, modelTopology: withFreezableBatchNorm(modelJson.modelTopology) as {} };
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => [tf.io.getWeightSpecs(manifest), tf.io.CompositeArrayBuffer.join(await readShards())]);
    },
  };
}

/** Reads the shards of the weights manifest, in order, from beside model.json. */
function fileHandler(jsonFile: string, modelJson: tf.io.ModelJSON): tf.io.IOHandler {
  const dir = path.dirname(jsonFile);
  const shards = modelJson.weightsManifest.flatMap((group) => group.paths.map((file) => path.join(dir, file)));
  return layersModelHandler(modelJson, () => {
    const missing = shards.filter((file) => !fs.existsSync(file));
    if (missing.length > 0) throw new Error(`${jsonFile}: weight shard ${missing.join(", ")} is missing (the model needs ${shards.length} shards)`);
    return shards.map((file) => new Uint8Array(fs.readFileSync(file)).buffer);
  });
}

/** The topology with every BatchNormalization layer replaced by an equivalent BatchNorm. */
function withFreezableBatchNorm(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withFreezableBatchNorm);
  if (node === null || typeof node !== "object") return node;
  const record = node as Record<string, unknown>;
  if (record.class_name === "BatchNormalization") return toBatchNorm(record);
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, withFreezableBatchNorm(value)]));
}

interface KerasBatchNormConfig {
  name: string;
  trainable?: boolean;
  dtype?: unknown;
  axis?: number | number[];
  epsilon?: number;
  momentum?: number;
  center?: boolean;
  scale?: boolean;
}

function toBatchNorm(layer: Record<string, unknown>): Record<string, unknown> {
  const { name, trainable, dtype, axis = -1, epsilon = 1e-3, momentum = 0.99, center = true, scale = true } = layer.config as KerasBatchNormConfig;
  const axes = Array.isArray(axis) ? axis : [axis];
  if (axes.length !== 1 || (axes[0] !== -1 && axes[0] !== 3) || (!center && !scale)) {
    throw new Error(
      `${name}: only a BatchNormalization over the last axis of NHWC features with center or scale can be loaded ` +
        `(it has axis ${JSON.stringify(axis)}, center ${center}, scale ${scale})`,
    );
  }
  const config = { name, trainable, epsilon, momentum, scale, center, ...(typeof dtype === "string" ? { dtype } : {}) };
  return { ...layer, class_name: "BatchNorm", config };
}

/** The Keras head's input, or the (pooled) output of a model converted without its top. */
function pooledFeatures(model: tf.LayersModel): tf.SymbolicTensor {
  const head = kerasHead(model);
  if (head !== undefined) return head.input as tf.SymbolicTensor;
  const output = model.outputs[0];
  return output.rank === 4 ? globalAveragePool(output, "avg_pool") : output;
}

/** `model` with a new Dense head (named as Keras' classifier, `predictions`) for `numClasses`, on its (pooled) features. */
export function withNewHead(model: tf.LayersModel, numClasses: number, seed?: number): tf.LayersModel {
  if (kerasHead(model) !== undefined) return replaceHead(model, numClasses, { name: KERAS_HEAD, seed, disposeOld: true }); // the loaded model is not used again
  const logits = withInitSeed(seed, () => linear(pooledFeatures(model), KERAS_HEAD, numClasses));
  return tf.model({ inputs: model.inputs, outputs: logits, name: model.name });
}

function kerasHead(model: tf.LayersModel): tf.layers.Layer | undefined {
  const last = model.outputs[0].sourceLayer;
  return model.outputs.length === 1 && last.name === KERAS_HEAD && last.getClassName() === "Dense" ? last : undefined;
}
