// A model cut where its frozen part ends: the trunk (every layer before the first trainable one)
// and the top (the rest), sharing the original layers and so their weights. Training the top on
// the trunk's outputs is the same computation as training the whole model, as long as the trunk
// stays frozen, which is what makes a feature cache exact.
import * as tf from "@tensorflow/tfjs";

export interface SplitModel {
  /** Input -> the tensor the top starts from; frozen (BatchNorm in inference mode). */
  trunk: tf.LayersModel;
  /** That tensor -> the model's output; holds every trainable layer. */
  top: tf.LayersModel;
  /** The layer whose output is the cut, e.g. `features.13.add` or `avgpool`. */
  cut: string;
  /** Per-image shape of the cut tensor, e.g. [6, 6, 48]. */
  featureShape: number[];
}

/**
 * Cuts `model` before its first trainable layer (see freezeBefore). Returns undefined when nothing
 * before it is frozen (nothing to cache). The trunk must hand the top exactly one tensor, which
 * holds for chains of blocks (ResNet, MobileNetV2, the Keras applications).
 */
export function splitAtFreezePoint(model: tf.LayersModel): SplitModel | undefined {
  const layers = model.layers;
  const first = layers.findIndex((layer) => layer.trainableWeights.length > 0);
  if (first < 0) throw new Error(`splitAtFreezePoint: every layer of ${model.name} is frozen; unfreeze at least the head`);
  if (!layers.slice(0, first).some((layer) => layer.weights.length > 0)) return undefined;
  const trunkLayers = new Set(layers.slice(0, first));
  for (const output of model.outputs) {
    if (trunkLayers.has(output.sourceLayer)) throw new Error(`splitAtFreezePoint: output ${output.name} of ${model.name} is computed by frozen layers only`);
  }
  return splitAfterLayers(model, trunkLayers, "splitAtFreezePoint");
}

/**
 * Cuts `model` into the trunk made of `trunkLayers` (weightless layers of the top's first block
 * may move to the top) and the rest. Exactly one tensor may cross the cut.
 */
export function splitAfterLayers(model: tf.LayersModel, trunkLayers: Set<tf.layers.Layer>, caller = "splitAfterLayers"): SplitModel {
  const layers = model.layers;
  // A weightless layer of the first trainable block (ResNet's `layer3.0.conv1.pad`) precedes it in
  // layer order; moving such layers into the top leaves one tensor crossing the cut.
  let crossing = crossingTensors(layers, trunkLayers);
  while (crossing.size > 1) {
    const movable = [...crossing.values()].map((t) => t.sourceLayer).filter((layer) => layer.weights.length === 0);
    const last = layers.filter((layer) => movable.includes(layer)).pop();
    if (!last || originalNode(last).inputTensors.length === 0) {
      const names = [...crossing.values()].map((t) => t.sourceLayer.name).join(", ");
      throw new Error(`${caller}: the first part of ${model.name} hands ${crossing.size} tensors (${names}) to the trainable part; cut at a block boundary`);
    }
    trunkLayers.delete(last);
    crossing = crossingTensors(layers, trunkLayers);
  }
  const [cutTensor] = crossing.values();
  const featureShape = cutTensor.shape.slice(1) as number[];
  const trunk = tf.model({ inputs: model.inputs, outputs: cutTensor, name: `${model.name}_trunk` });

  const features = tf.input({ shape: featureShape, name: "features" });
  const rewired = new Map<number, tf.SymbolicTensor>([[cutTensor.id, features]]);
  for (const layer of layers.filter((l) => !trunkLayers.has(l))) {
    const node = originalNode(layer);
    const inputs = node.inputTensors.map((t) => rewired.get(t.id) ?? missingInput(layer, t));
    const outputs = layer.apply(inputs.length === 1 ? inputs[0] : inputs, node.callArgs) as tf.SymbolicTensor | tf.SymbolicTensor[];
    const list = Array.isArray(outputs) ? outputs : [outputs];
    node.outputTensors.forEach((t, i) => rewired.set(t.id, list[i]));
  }
  const top = tf.model({ inputs: features, outputs: model.outputs.map((t) => rewired.get(t.id)!), name: `${model.name}_top` });
  return { trunk, top, cut: cutTensor.sourceLayer.name, featureShape };
}

/** Tensors made by trunk layers and read by the others. */
function crossingTensors(layers: tf.layers.Layer[], trunk: Set<tf.layers.Layer>): Map<number, tf.SymbolicTensor> {
  const crossing = new Map<number, tf.SymbolicTensor>();
  for (const layer of layers.filter((l) => !trunk.has(l))) {
    for (const tensor of originalNode(layer).inputTensors) {
      if (trunk.has(tensor.sourceLayer)) crossing.set(tensor.id, tensor);
    }
  }
  return crossing;
}

/** The node that placed the layer in its model (later applications, e.g. by an earlier split, come after it). */
function originalNode(layer: tf.layers.Layer): { inputTensors: tf.SymbolicTensor[]; outputTensors: tf.SymbolicTensor[]; callArgs?: tf.serialization.ConfigDict } {
  return (layer as unknown as { inboundNodes: { inputTensors: tf.SymbolicTensor[]; outputTensors: tf.SymbolicTensor[]; callArgs?: tf.serialization.ConfigDict }[] }).inboundNodes[0];
}

function missingInput(layer: tf.layers.Layer, tensor: tf.SymbolicTensor): never {
  throw new Error(`splitAtFreezePoint: ${layer.name} reads ${tensor.name}, which is computed neither by the trunk's cut nor before it in the top`);
}
