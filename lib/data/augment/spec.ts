// What to augment, as a plain JSON-able object (it goes into run parameters and cache keys).
// Each field is one torchvision transform with its default semantics (but `windows`, our own);
// leave it out to skip it.
import { checkWindows } from "../preprocess";

export interface RandomCropSpec {
  /** Zero padding on every side before cropping (RandomCrop's `padding`). Default 0. */
  padding?: number;
}

export interface RandomResizedCropSpec {
  /** Range of the window's area as a fraction of the image's. Default [0.08, 1]. */
  scale?: [number, number];
  /** Range of the window's aspect ratio (width / height), drawn log-uniformly. Default [3/4, 4/3]. */
  ratio?: [number, number];
}

export interface AugmentSpec {
  /** ColorJitter brightness: factor uniform in [max(0, 1 - a), 1 + a]. */
  brightness?: number;
  /** ColorJitter contrast: blends with the mean grey level, factor as for brightness. */
  contrast?: number;
  /** ColorJitter saturation: blends with the pixel's grey level, factor as for brightness. */
  saturation?: number;
  /** ColorJitter hue: shift uniform in [-h, h] turns of the colour wheel, h <= 0.5. */
  hue?: number;
  /** RandomHorizontalFlip(p = 0.5). */
  hflip?: boolean;
  /** RandomRotation(degrees): angle uniform in [-d, d], nearest neighbour, same size, zero fill. */
  rotation?: number;
  /** RandomCrop(size) from the resized image instead of the centre crop. */
  randomCrop?: boolean | RandomCropSpec;
  /** RandomResizedCrop(size) from the resized image, bilinear, instead of the centre crop. */
  randomResizedCrop?: boolean | RandomResizedCropSpec;
  /**
   * Crops along the long side (see PreprocessSpec.window) instead of the centre crop, cycling: image
   * i in epoch (or cached draw) e at `windows[(e + i) mod n]`, so n draws see every image through
   * every window once. [0, 0.5, 1] trains on the squares that validation with the same windows averages.
   */
  windows?: number[];
}

export const COLOUR_OPS = ["brightness", "contrast", "saturation", "hue"] as const;
export type ColourOp = (typeof COLOUR_OPS)[number];

const KNOWN_KEYS = [...COLOUR_OPS, "hflip", "rotation", "randomCrop", "randomResizedCrop", "windows"];

export const DEFAULT_SCALE: [number, number] = [0.08, 1];
export const DEFAULT_RATIO: [number, number] = [3 / 4, 4 / 3];

/** Throws an error naming the first invalid field; returns the spec for chaining. */
export function checkAugmentSpec(spec: AugmentSpec): AugmentSpec {
  if (typeof spec !== "object" || spec === null) throw new Error(`augment must be an object, got ${String(spec)}`);
  for (const key of Object.keys(spec)) {
    if (!KNOWN_KEYS.includes(key)) throw new Error(`unknown augmentation "${key}" (known: ${KNOWN_KEYS.join(", ")})`);
  }
  for (const op of ["brightness", "contrast", "saturation"] as const) {
    const value = spec[op];
    if (value !== undefined && !(typeof value === "number" && value >= 0 && Number.isFinite(value))) {
      throw new Error(`augment.${op} must be >= 0, got ${value}`);
    }
  }
  if (spec.hue !== undefined && !(typeof spec.hue === "number" && spec.hue >= 0 && spec.hue <= 0.5)) {
    throw new Error(`augment.hue must be in [0, 0.5], got ${spec.hue}`);
  }
  if (spec.rotation !== undefined && !(typeof spec.rotation === "number" && spec.rotation >= 0 && spec.rotation <= 180)) {
    throw new Error(`augment.rotation must be in [0, 180] degrees, got ${spec.rotation}`);
  }
  if (spec.hflip !== undefined && typeof spec.hflip !== "boolean") throw new Error(`augment.hflip must be true or false, got ${spec.hflip}`);
  if (spec.randomCrop && spec.randomResizedCrop) throw new Error("augment: randomCrop and randomResizedCrop exclude each other, choose one");
  if (spec.windows !== undefined) {
    try {
      checkWindows(spec.windows);
    } catch (error) {
      throw new Error(`augment.windows: ${(error as Error).message}`);
    }
    if (spec.randomCrop || spec.randomResizedCrop) throw new Error("augment: windows and random crops exclude each other, choose one");
  }
  const padding = randomCropPadding(spec);
  if (!(Number.isInteger(padding) && padding >= 0)) throw new Error(`augment.randomCrop.padding must be an integer >= 0, got ${padding}`);
  const { scale, ratio } = resizedCropRanges(spec);
  checkRange("augment.randomResizedCrop.scale", scale, 1);
  checkRange("augment.randomResizedCrop.ratio", ratio, Infinity);
  return spec;
}

function checkRange(name: string, range: unknown, max: number): void {
  const ok = Array.isArray(range) && range.length === 2 && range[0] > 0 && range[0] <= range[1] && range[1] <= max;
  if (!ok) throw new Error(`${name} must be [min, max] with 0 < min <= max${max < Infinity ? ` <= ${max}` : ""}, got ${JSON.stringify(range)}`);
}

export function randomCropPadding(spec: AugmentSpec): number {
  return typeof spec.randomCrop === "object" ? spec.randomCrop.padding ?? 0 : 0;
}

export function resizedCropRanges(spec: AugmentSpec): { scale: [number, number]; ratio: [number, number] } {
  const options = typeof spec.randomResizedCrop === "object" ? spec.randomResizedCrop : {};
  return { scale: options.scale ?? DEFAULT_SCALE, ratio: options.ratio ?? DEFAULT_RATIO };
}

/** Random crops and windows need the whole resized image, not just its centre crop. */
export function needsWholeImage(spec: AugmentSpec): boolean {
  return Boolean(spec.randomCrop || spec.randomResizedCrop || spec.windows);
}

/** A short label such as "hue 0.1 + hflip", e.g. for chart legends. */
export function describeAugment(spec: AugmentSpec | undefined): string {
  if (!spec) return "none";
  const parts: string[] = [];
  for (const op of COLOUR_OPS) if (spec[op]) parts.push(`${op} ${spec[op]}`);
  if (spec.hflip) parts.push("hflip");
  if (spec.rotation) parts.push(`rotation ${spec.rotation}°`);
  if (spec.randomCrop) parts.push(randomCropPadding(spec) ? `random crop (padding ${randomCropPadding(spec)})` : "random crop");
  if (spec.randomResizedCrop) parts.push("random resized crop");
  if (spec.windows) parts.push(`windows ${spec.windows.join("/")}`);
  return parts.length ? parts.join(" + ") : "none";
}
