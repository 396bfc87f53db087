// The random parameters of one image in one epoch. Each transform draws from its own stream,
// seeded by (seed, transform, epoch, index): the draw is a pure function of those, independent of
// the batch order and boundaries, and turning one transform on does not change another's draws.
import { hashSeed, Rng } from "../../random";
import { cropOffsets, roundHalfEven } from "../preprocess";
import { COLOUR_OPS, needsWholeImage, randomCropPadding, resizedCropRanges, type AugmentSpec, type ColourOp } from "./spec";

/** torchvision's crop window (i, j, h, w) in the resized image; top/left < 0 reach into zero padding. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

export interface ColourStep {
  op: ColourOp;
  /** Brightness/contrast/saturation factor, or the hue shift in turns. */
  factor: number;
}

export interface AugmentDraw {
  /** The window taken from the resized image; absent: the centre crop (no random crop). */
  crop?: { box: CropBox; resize: boolean };
  /** Rotation in degrees, counter-clockwise; absent: none. */
  rotation?: number;
  hflip: boolean;
  /** ColorJitter's adjustments in the order applied (its random permutation), active ones only. */
  colour: ColourStep[];
}

/** The resized image's size and the network input size: random crops depend on them. */
export interface CropFrame {
  width: number;
  height: number;
  size: number;
}

/** Same as brightnessFactor in batches.ts: [max(0, 1 - amount), 1 + amount) from the op's stream. */
export function jitterFactor(op: ColourOp, amount: number, seed: number, epoch: number, index: number): number {
  const rng = new Rng(hashSeed(seed, op, epoch, index));
  return op === "hue" ? rng.float(-amount, amount) : rng.float(Math.max(0, 1 - amount), 1 + amount);
}

export function drawAugmentation(spec: AugmentSpec, seed: number, epoch: number, index: number, frame?: CropFrame): AugmentDraw {
  const stream = (name: string) => new Rng(hashSeed(seed, name, epoch, index));
  const active = COLOUR_OPS.filter((op) => (spec[op] ?? 0) > 0);
  const order = active.length > 1 ? stream("colour-order").shuffle(COLOUR_OPS).filter((op) => active.includes(op)) : active;
  const draw: AugmentDraw = {
    hflip: spec.hflip ? stream("hflip").chance(0.5) : false,
    colour: order.map((op) => ({ op, factor: jitterFactor(op, spec[op]!, seed, epoch, index) })),
  };
  if (spec.rotation) draw.rotation = stream("rotation").float(-spec.rotation, spec.rotation);
  if (needsWholeImage(spec)) {
    if (!frame) throw new Error("drawAugmentation: random crops and windows need the frame (resized image size and network size)");
    if (spec.windows) draw.crop = { box: windowBox(frame, spec.windows[(epoch + index) % spec.windows.length]), resize: false };
    else if (spec.randomCrop) draw.crop = { box: randomCropBox(frame, randomCropPadding(spec), stream("crop")), resize: false };
    else draw.crop = { box: randomResizedCropBox(frame, resizedCropRanges(spec), stream("crop")), resize: true };
  }
  return draw;
}

/** The square `window` along the long side (see PreprocessSpec.window): what decodeResized crops there. */
export function windowBox(frame: CropFrame, window: number): CropBox {
  const { left, top } = cropOffsets(frame.width, frame.height, { crop: frame.size, window });
  return { top, left, height: frame.size, width: frame.size };
}

/** RandomCrop.get_params on the image padded by `padding`, as a box in unpadded coordinates. */
export function randomCropBox(frame: CropFrame, padding: number, rng: Rng): CropBox {
  const height = frame.height + 2 * padding;
  const width = frame.width + 2 * padding;
  if (height < frame.size || width < frame.size) {
    throw new Error(`random crop: ${frame.size} px does not fit in the ${width}x${height} padded image`);
  }
  return { top: rng.int(0, height - frame.size) - padding, left: rng.int(0, width - frame.size) - padding, height: frame.size, width: frame.size };
}

/** RandomResizedCrop.get_params: 10 tries at a window of random area and aspect, then a centre fallback. */
export function randomResizedCropBox(frame: CropFrame, ranges: { scale: [number, number]; ratio: [number, number] }, rng: Rng): CropBox {
  const { width, height } = frame;
  const area = width * height;
  const logRatio = [Math.log(ranges.ratio[0]), Math.log(ranges.ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * rng.float(ranges.scale[0], ranges.scale[1]);
    const aspect = Math.exp(rng.float(logRatio[0], logRatio[1]));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.int(0, height - h), left: rng.int(0, width - w), height: h, width: w };
    }
  }
  return centreFallbackBox(width, height, ranges.ratio);
}

function centreFallbackBox(width: number, height: number, ratio: [number, number]): CropBox {
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}
