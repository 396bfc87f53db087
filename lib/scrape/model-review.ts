// The optional model-assisted review: a trained classifier scores every scraped image and flags
// the ones it would label differently or is unsure about, for a person (or the merge) to drop.
import type { ModelInput } from "../data/input-convention";
import type * as tf from "@tensorflow/tfjs";
import { predictFiles } from "../train/predict";
import type { ScrapedImage } from "./review";

export interface ModelVerdict {
  image: ScrapedImage;
  predicted: string;
  /** Probability of the predicted class. */
  confidence: number;
  /** Probability the model gives the class the image was searched for. */
  labelProbability: number;
  /** Why a person should look at it; empty when the model agrees. */
  flags: string[];
  /**
   * The model finds the searched class implausible (its probability under `minClassProbability`,
   * or the image unusable for the model): the verdict strong enough to drop the image unseen.
   */
  implausible: boolean;
}

export interface ReviewOptions {
  /** Flag images whose top probability is below this. */
  minConfidence?: number;
  /** Call an image implausible when the model gives its searched class less than this. */
  minClassProbability?: number;
  batchSize?: number;
}

export interface ClassifierLike {
  model: tf.LayersModel;
  classes: string[];
  input: ModelInput;
}

/**
 * Scores every image with a trained classifier and flags those it predicts as another class or
 * with a top probability under `minConfidence`: advice for the reviewer, as the model is wrong
 * too (a 40 %-accurate model disagrees with most good images). Images whose searched class gets
 * a probability under `minClassProbability` are marked implausible: with the embedded default's
 * pretrained model that catches most off-topic images and few good ones.
 */
export async function reviewWithModel(classifier: ClassifierLike, images: readonly ScrapedImage[], options: ReviewOptions = {}): Promise<ModelVerdict[]> {
  const minConfidence = options.minConfidence ?? 0.3;
  const minClassProbability = options.minClassProbability ?? 0.02;
  const predictions = await predictFiles(classifier.model, images.map((i) => i.file), { ...classifier.input, batchSize: options.batchSize ?? 32 });
  const n = classifier.classes.length;
  return images.map((image, row) => {
    const probabilities = predictions.probabilities.subarray(row * n, (row + 1) * n);
    let best = 0;
    for (let c = 1; c < n; c++) if (probabilities[c] > probabilities[best]) best = c;
    const labelIndex = classifier.classes.indexOf(image.label);
    const verdict: ModelVerdict = {
      image,
      predicted: classifier.classes[best],
      confidence: probabilities[best],
      labelProbability: labelIndex >= 0 ? probabilities[labelIndex] : 0,
      flags: [],
      implausible: false,
    };
    if (predictions.failed.has(row)) verdict.flags.push("could not be decoded for the model");
    else if (labelIndex < 0) verdict.flags.push(`the model does not know class ${image.label}`);
    else {
      if (best !== labelIndex) verdict.flags.push(`predicted ${verdict.predicted}`);
      if (verdict.confidence < minConfidence) verdict.flags.push(`low confidence (${verdict.confidence.toFixed(2)} < ${minConfidence})`);
      if (verdict.labelProbability < minClassProbability) verdict.flags.push(`implausible: P(${image.label}) = ${verdict.labelProbability.toFixed(3)} < ${minClassProbability}`);
    }
    verdict.implausible = predictions.failed.has(row) || labelIndex < 0 || verdict.labelProbability < minClassProbability;
    return verdict;
  });
}
