// PyTorch checkpoints without Python: torchvision state_dicts (.pth) read and mapped onto our
// torchvision-named models, e.g. ImageNet weights for a backbone.
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { parseStateDict } from "./torch/state-dict";
import { convertStateDict } from "./torch/to-tfjs";

export { parseStateDict, readStateDict, type StateDict } from "./torch/state-dict";
export { convertStateDict, torchvisionToWeights, type ConvertedStateDict } from "./torch/to-tfjs";
export type { TensorData, TorchDtype, TorchTensor } from "./torch/tensor";

export interface TorchImportReport {
  /** Variables of the model written from the file. */
  loaded: number;
  /** Head tensors not imported, with the reason; the model keeps its own head there. */
  skippedHead: string[];
}

/**
 * Writes the weights of a torchvision state_dict file (`torch.save(model.state_dict(), file)`)
 * into `model`, built for the same architecture. The classifier is imported only when its shape
 * fits (same number of classes); any other difference is an error naming the keys.
 */
export async function importTorchvisionWeights(model: tf.LayersModel, file: string): Promise<TorchImportReport> {
  const { weights, skippedHead } = convertStateDict(parseStateDict(await fs.promises.readFile(file), file), model);
  for (const variable of model.weights) {
    const values = weights.get(variable.originalName);
    if (!values) continue;
    tf.tidy(() => {
      variable.write(tf.tensor(values, variable.shape as number[]));
    });
  }
  return { loaded: weights.size, skippedHead };
}
