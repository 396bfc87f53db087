// Grad-CAM (Selvaraju et al. 2017): where the network looked for a class. The model is cut at the
// tensor its global pooling reads (the last convolutional stage's activations A, k channels); the
// gradient of the class score (the logit, before softmax) with respect to A, averaged over the
// positions, weighs each channel: map = ReLU(sum_k alpha_k A_k), upsampled bilinearly to the input
// size (half-pixel centres, as PyTorch's align_corners=False) and divided by its maximum.
import * as tf from "@tensorflow/tfjs";
import { splitAfterLayers, type SplitModel } from "../models/split";

/** The model cut before its global pooling: `trunk` ends at the last conv stage, `top` pools and classifies. */
export function gradCamSplit(model: tf.LayersModel): SplitModel {
  const rank = (shape: unknown) => (Array.isArray(shape) && Array.isArray(shape[0]) ? -1 : (shape as unknown[]).length);
  let index = -1;
  model.layers.forEach((layer, i) => {
    const input = (layer as unknown as { inboundNodes: { inputTensors: tf.SymbolicTensor[] }[] }).inboundNodes[0]?.inputTensors;
    if (input?.length === 1 && input[0].shape.length === 4 && rank(layer.outputShape) === 2) index = i;
  });
  if (index < 0) throw new Error(`Grad-CAM: ${model.name} has no layer turning a 4-D activation into a vector (global pooling or flatten)`);
  return splitAfterLayers(model, new Set(model.layers.slice(0, index)), "gradCamSplit");
}

export interface GradCamResult {
  /** [images, size, size] row-major maps in [0, 1] (all zeros where no position favours the class). */
  maps: Float32Array;
  /** Side of the maps (the input size). */
  size: number;
  /** Side of the last conv stage's activations before upsampling, e.g. 7. */
  featureSize: [number, number];
  /** [images, classes] softmax probabilities of the model. */
  probabilities: Float32Array;
  /** The class each map is for. */
  classes: Int32Array;
}

/**
 * Grad-CAM maps of a batch of preprocessed images (NHWC) for `classes` (one per image; default:
 * the predicted class), in inference mode.
 */
export function gradCam(split: SplitModel, x: tf.Tensor4D, classes?: readonly number[]): GradCamResult {
  const [n, height, width] = x.shape;
  return tf.tidy(() => {
    const activations = split.trunk.apply(x, { training: false }) as tf.Tensor4D;
    const logits = split.top.apply(activations, { training: false }) as tf.Tensor2D;
    const numClasses = logits.shape[1];
    const targets = classes ? Int32Array.from(classes) : (tf.argMax(logits, 1).dataSync() as Int32Array);
    if (targets.length !== n || targets.some((c) => c < 0 || c >= numClasses)) throw new Error(`gradCam: need one class in [0, ${numClasses}) per image, got ${Array.from(targets)}`);
    const mask = tf.oneHot(tf.tensor1d(targets, "int32"), numClasses);
    // Images are independent in inference mode: the gradient of the summed scores is each image's own.
    const grads = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(split.top.apply(a, { training: false }) as tf.Tensor2D, mask)))(activations);
    const alpha = tf.mean(grads, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(alpha, activations), 3, true)) as tf.Tensor4D;
    const up = tf.image.resizeBilinear(cam, [height, width], false, true);
    const peak = tf.max(up, [1, 2, 3], true);
    const maps = tf.div(up, tf.where(tf.greater(peak, 0), peak, tf.onesLike(peak)));
    return {
      maps: maps.dataSync() as Float32Array,
      size: height,
      featureSize: [activations.shape[1], activations.shape[2]] as [number, number],
      probabilities: tf.softmax(logits).dataSync() as Float32Array,
      classes: targets,
    };
  });
}
