// One training image through the augmented pipeline:
//   Resize -> [RandomResizedCrop | RandomCrop | CenterCrop] -> [RandomRotation] -> [RandomHorizontalFlip]
//   -> ToTensor -> [ColorJitter] -> Normalize
import { sourceChannel, toNormalizedFloat, type PreprocessSpec, type RgbImage } from "../preprocess";
import { applyColour } from "./colour";
import type { AugmentDraw, CropFrame } from "./draw";
import { applyGeometry } from "./geometry";

export interface AugmentOutput {
  /** Writes into this array (at `offset`) instead of allocating one, e.g. a batch buffer. */
  out?: Float32Array;
  offset?: number;
}

/** The frame drawAugmentation needs for random crops of this (resized) image. */
export function cropFrame(image: { width: number; height: number }, size: number): CropFrame {
  return { width: image.width, height: image.height, size };
}

/**
 * `image` is the resized image (or already its centre crop when the draw has no random crop);
 * returns the normalised `crop x crop x 3` floats. A draw with at most a brightness factor takes
 * toNormalizedFloat's lookup table, so brightness-only batches are bit-identical to the plain path.
 */
export function augmentToNormalizedFloat(image: RgbImage, spec: PreprocessSpec, draw: AugmentDraw, options: AugmentOutput = {}): Float32Array {
  const pixels = applyGeometry(image, spec.crop, draw).data;
  const colour = draw.colour;
  if (colour.length === 0 || (colour.length === 1 && colour[0].op === "brightness")) {
    return toNormalizedFloat(pixels, spec, { brightness: colour[0]?.factor, out: options.out, offset: options.offset });
  }
  const unit = toUnitFloat(pixels);
  applyColour(unit, colour);
  const out = options.out ?? new Float32Array(unit.length);
  const offset = options.offset ?? 0;
  if (offset + unit.length > out.length) throw new Error("augmentToNormalizedFloat: output array too small");
  const [m0, m1, m2] = spec.mean;
  const [s0, s1, s2] = spec.std;
  const [r0, r1, r2] = [0, 1, 2].map((c) => sourceChannel(spec, c));
  for (let i = 0; i < unit.length; i += 3) {
    out[offset + i] = (unit[i + r0] - m0) / s0;
    out[offset + i + 1] = (unit[i + r1] - m1) / s1;
    out[offset + i + 2] = (unit[i + r2] - m2) / s2;
  }
  return out;
}

/** The augmented image as 8-bit RGB, to look at: geometry, then colour, rounded back to bytes. */
export function augmentedPixels(image: RgbImage, size: number, draw: AugmentDraw): RgbImage {
  const geometric = applyGeometry(image, size, draw);
  if (draw.colour.length === 0) return geometric;
  const unit = toUnitFloat(geometric.data);
  applyColour(unit, draw.colour);
  return { data: Uint8Array.from(unit, (v) => Math.round(v * 255)), width: size, height: size };
}

const UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);

/** ToTensor: bytes to float32 in [0, 1]. */
export function toUnitFloat(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = UNIT[pixels[i]];
  return out;
}
