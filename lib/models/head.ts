// Swapping the classifier for a new task, as `model.fc = nn.Linear(2048, 42)` does in PyTorch.
import * as tf from "@tensorflow/tfjs";
import { linear, withInitSeed } from "./builders";

export interface ReplaceHeadOptions {
  /** The Linear layer to replace, which must produce the model's output (default: the last dense layer, `fc` or `classifier.1`). */
  name?: string;
  /** Seeds the new layer's initialisers (see withInitSeed). */
  seed?: number;
  /**
   * Free the old head's weights (a 1000-class head is 5 MB), for a `model` that is not used again,
   * as in buildBackbone. Off by default: replacing the head of the same model twice stays possible.
   */
  disposeOld?: boolean;
}

/**
 * A new model, sharing every other layer (and so its weights) with `model`, whose final Linear is a
 * freshly initialised one with `numClasses` outputs and the same name. A Dropout right before the
 * old head (MobileNetV2's `classifier.0`) goes too: the seed's head is one Linear layer (extra
 * layers did worse), and an unseeded dropout would make training runs unrepeatable.
 */
export function replaceHead(model: tf.LayersModel, numClasses: number, options: ReplaceHeadOptions = {}): tf.LayersModel {
  const denseLayers = model.layers.filter((layer) => layer.getClassName() === "Dense");
  const name = options.name ?? denseLayers[denseLayers.length - 1]?.name;
  const head = model.layers.find((layer) => layer.name === name);
  if (name === undefined || head === undefined) {
    throw new Error(`replaceHead: ${model.name} has no layer ${name ?? "of class Dense"}; dense layers: ${denseLayers.map((l) => l.name).join(", ") || "none"}`);
  }
  if (model.outputs.length !== 1 || model.outputs[0].sourceLayer !== head) {
    throw new Error(`replaceHead: ${name} does not produce the output of ${model.name}; only a final Linear can be replaced`);
  }
  let features = head.input as tf.SymbolicTensor;
  if (features.sourceLayer.getClassName() === "Dropout") features = features.sourceLayer.input as tf.SymbolicTensor;
  const logits = withInitSeed(options.seed, () => linear(features, name, numClasses));
  const replaced = tf.model({ inputs: model.inputs, outputs: logits, name: model.name });
  if (options.disposeOld) head.dispose(); // applied once, in `model`: this frees its weights
  return replaced;
}
