// The optional model-assisted review: a trained classifier scores every scraped image and flags
// the ones it would label differently or is unsure about, for a person (or the merge) to drop.
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
}

export interface ClassifierLike {
  model: tf.LayersModel;
  classes: string[];
  imageSize: number;
}

/**
 * Scores every image with a trained classifier and flags those it predicts as another class or
 * with a top probability under `minConfidence`. Flags are advice: the model is wrong too.
 */
export async function reviewWithModel(classifier: ClassifierLike, images: readonly ScrapedImage[], options: { minConfidence?: number; batchSize?: number } = {}): Promise<ModelVerdict[]> {
  const minConfidence = options.minConfidence ?? 0.3;
  const predictions = await predictFiles(classifier.model, images.map((i) => i.file), { size: classifier.imageSize, batchSize: options.batchSize ?? 32 });
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
    };
    if (predictions.failed.has(row)) verdict.flags.push("could not be decoded for the model");
    else if (labelIndex < 0) verdict.flags.push(`the model does not know class ${image.label}`);
    else {
      if (best !== labelIndex) verdict.flags.push(`predicted ${verdict.predicted}`);
      if (verdict.confidence < minConfidence) verdict.flags.push(`low confidence (${verdict.confidence.toFixed(2)} < ${minConfidence})`);
    }
    return verdict;
  });
}
