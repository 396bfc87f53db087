// What an augmentation does to an image, as pictures: for grids in the notebooks.
import sharp from "sharp";
import { decodeResizedImage, preprocessSpec, type RgbImage } from "../preprocess";
import { drawAugmentation } from "./draw";
import { augmentedPixels, cropFrame } from "./pipeline";
import { checkAugmentSpec, type AugmentSpec } from "./spec";

/**
 * `draws` augmented versions of one image file at network size `size`: draw d is the one image 0
 * gets in epoch d, so every file shown with the same (spec, seed) gets the same jitter factors.
 */
export async function augmentedSamples(file: string, spec: AugmentSpec, size: number, seed: number, draws: number): Promise<RgbImage[]> {
  checkAugmentSpec(spec);
  const image = await decodeResizedImage(file, preprocessSpec(size));
  const frame = cropFrame(image, size);
  return Array.from({ length: draws }, (_, epoch) => augmentedPixels(image, size, drawAugmentation(spec, seed, epoch, 0, frame)));
}

export async function rgbToPng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toBuffer();
}

/** augmentedSamples as PNG buffers (sharp and tslab's display.png take them). */
export async function augmentedSamplePngs(file: string, spec: AugmentSpec, size: number, seed: number, draws: number): Promise<Buffer[]> {
  return Promise.all((await augmentedSamples(file, spec, size, seed, draws)).map(rgbToPng));
}
