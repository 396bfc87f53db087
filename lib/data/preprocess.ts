// The method's preprocessing, made to match torchvision on PIL images:
//   Resize(resize) -> CenterCrop(crop) -> ToTensor() -> [ColorJitter(brightness)] -> Normalize(ImageNet)
// decodeResized does the pixel work with sharp (off the main thread, in libvips' thread pool);
// toNormalizedFloat does the cheap per-value part.
//
// Where we knowingly differ from `PIL.Image.open(f).convert("RGB")`:
// - EXIF orientation is applied (PIL and torchvision ignore it), so a phone photo stands upright.
// - Alpha is dropped without compositing, exactly like PIL's convert("RGB"): transparent pixels
//   keep whatever colour they store.
// - CMYK goes through sharp's ICC conversion (PIL uses a naive formula) and 16-bit images are
//   scaled to 8 bits (PIL truncates or clips some 16-bit modes).
// - Shrinks of 4x or more: libvips box-shrinks by an integer factor before its triangle filter
//   (its "reducing gap", which sharp does not expose), where PIL applies one wide triangle filter.
//   The result is a little softer; test/preprocess-parity.test.ts measures the difference.
import * as fs from "node:fs";
import sharp, { type Sharp } from "sharp";

import { inputConvention, type InputConventionName } from "./input-convention";

export const IMAGENET_MEAN = inputConvention("torchvision").mean;
export const IMAGENET_STD = inputConvention("torchvision").std;

export interface PreprocessSpec {
  /** The short side is resized to this many pixels first. */
  resize: number;
  /** Then a `crop` x `crop` square is kept, by default the centre one. */
  crop: number;
  /**
   * Where that square sits along the resized image's long side: 0 at its start (top or left), 1 at
   * its end; absent: 0.5, the centre crop. The short side stays centred, and a square image has no
   * long side. Evaluation averages a few windows to see what a centre crop cuts off (see `windows`).
   */
  window?: number;
  /** The model's input convention (see input-convention.ts): per output channel, (x - mean) / std. */
  convention: InputConventionName;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Output channel c reads input channel 2 - c. */
  bgr: boolean;
}

/** Python's round(): halves go to the even neighbour, as torchvision's CenterCrop computes. */
export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * 224 px -> resize 255, crop 224; other sizes keep the 255/224 ratio (96 -> 109). `window`: see
 * PreprocessSpec (0.5, the centre, is left out of the spec so that its cache keys stay the seed's).
 */
export function preprocessSpec(size = 224, convention?: InputConventionName, window?: number): PreprocessSpec {
  if (!Number.isInteger(size) || size < 1) throw new Error(`image size must be a positive integer, got ${size}`);
  checkWindow(window);
  const { name, mean, std, bgr } = inputConvention(convention);
  const spec: PreprocessSpec = { resize: roundHalfEven((size * 255) / 224), crop: size, convention: name, mean, std, bgr };
  if (window !== undefined && window !== 0.5) spec.window = window;
  return spec;
}

function checkWindow(window: number | undefined): void {
  if (window !== undefined && !(typeof window === "number" && window >= 0 && window <= 1)) {
    throw new Error(`a window position must be a number from 0 (start of the long side) to 1 (its end), got ${JSON.stringify(window)}`);
  }
}

/** A non-empty list of window positions (see PreprocessSpec.window), e.g. [0.5] or [0, 0.5, 1]. */
export function checkWindows(windows: readonly number[]): readonly number[] {
  if (!Array.isArray(windows) || windows.length === 0) throw new Error(`windows must be a non-empty list of positions from 0 to 1, e.g. [0.5] or [0, 0.5, 1]; got ${JSON.stringify(windows)}`);
  windows.forEach(checkWindow);
  return windows;
}

/** A non-empty list of distinct test-time scales (see ModelInput.scales), e.g. [1] or [1, 1.2]. */
export function checkScales(scales: readonly number[]): readonly number[] {
  if (!Array.isArray(scales) || scales.length === 0 || !scales.every((s) => typeof s === "number" && s > 0 && Number.isFinite(s)) || new Set(scales).size < scales.length) {
    throw new Error(`scales must be a non-empty list of distinct positive multiples of the image size, e.g. [1] or [1, 1.2]; got ${JSON.stringify(scales)}`);
  }
  return scales;
}

/** The square size a scale takes an input of `size` pixels to (Math.round: 224 x 1.2 = 269). */
export function scaledSize(size: number, scale: number): number {
  return Math.max(1, Math.round(size * scale));
}

/** The crop's top-left corner in the resized image: centred, or at `spec.window` along the long side. */
export function cropOffsets(width: number, height: number, spec: Pick<PreprocessSpec, "crop" | "window">): { left: number; top: number } {
  const along = (length: number, long: boolean) => (long && spec.window !== undefined ? roundHalfEven((length - spec.crop) * spec.window) : centreCropOffset(length, spec.crop));
  return { left: along(width, width > height), top: along(height, height > width) };
}

/** The input channel that output channel `c` reads. */
export function sourceChannel(spec: PreprocessSpec, c: number): number {
  return spec.bgr ? 2 - c : c;
}

/** torchvision's Resize(int): the short side becomes `resize`, the long side int(resize * long / short). */
export function resizedDimensions(width: number, height: number, resize: number): { width: number; height: number } {
  const portrait = width <= height;
  const [short, long] = portrait ? [width, height] : [height, width];
  const newLong = Math.trunc((resize * long) / short);
  return portrait ? { width: resize, height: newLong } : { width: newLong, height: resize };
}

/** torchvision's CenterCrop offset along one axis. */
export function centreCropOffset(length: number, crop: number): number {
  return roundHalfEven((length - crop) / 2);
}

interface RawImage {
  data: Buffer;
  width: number;
  height: number;
}

/** 8-bit RGB pixels, row-major (HWC): `width * height * 3` bytes. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/**
 * Decodes an image file into the crop of the resized image (the centre one unless `spec.window`):
 * `crop * crop * 3` bytes, RGB, row-major (HWC). Throws, naming the file, when the file cannot be
 * read or decoded.
 */
export async function decodeResized(file: string, spec: PreprocessSpec): Promise<Uint8Array> {
  const { image, size } = await decodeResizedRaw(file, spec);
  return windowCrop(image, size, spec);
}

/**
 * Decodes an image file into the whole resized image (short side `spec.resize`, before any crop),
 * for the random crops of augmentation. Its centre crop is exactly what decodeResized returns.
 */
export async function decodeResizedImage(file: string, spec: PreprocessSpec): Promise<RgbImage> {
  const { image, size } = await decodeResizedRaw(file, spec);
  if (image.width === size.width && image.height === size.height) return image;
  return cropRaw(image, 0, 0, size.width, size.height);
}

async function decodeResizedRaw(file: string, spec: PreprocessSpec): Promise<{ image: RawImage; size: { width: number; height: number } }> {
  try {
    const input = await fs.promises.readFile(file);
    const meta = await sharp(input).metadata();
    if (!meta.width || !meta.height) throw new Error("no dimensions in the header");
    const swapped = (meta.orientation ?? 1) >= 5;
    const width = swapped ? meta.height : meta.width;
    const height = swapped ? meta.width : meta.height;
    const target = resizedDimensions(width, height, spec.resize);
    const resized = Math.min(width, height) < spec.resize
      ? await enlarge(input, target.width / width, target.height / height)
      : await reduce(input, target.width, target.height);
    if (resized.width < target.width || resized.height < target.height) {
      throw new Error(`resize gave ${resized.width}x${resized.height}, expected ${target.width}x${target.height}`);
    }
    return { image: resized, size: target };
  } catch (error) {
    throw new Error(`cannot decode ${file}: ${(error as Error).message}`);
  }
}

function uprightRgb(input: Buffer): Sharp {
  return sharp(input, { failOn: "truncated" }).autoOrient().removeAlpha().toColourspace("srgb");
}

async function toRaw(image: Sharp): Promise<RawImage> {
  const { data, info } = await image.raw({ depth: "uchar" }).toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
  return { data, width: info.width, height: info.height };
}

/**
 * Shrinking (or keeping the size): libvips' "linear" kernel widens its triangle filter by the shrink
 * factor, as PIL's antialiased BILINEAR does; measured within 3 levels of PIL below a 4x shrink.
 * No shrink-on-load: libjpeg's DCT scaling is a different filter.
 */
async function reduce(input: Buffer, width: number, height: number): Promise<RawImage> {
  return toRaw(uprightRgb(input).resize(width, height, { fit: "fill", kernel: "linear", fastShrinkOnLoad: false }));
}

/**
 * Enlarging: sharp's resize samples at other positions than PIL when upsizing, so this is a
 * bilinear affine transform with pixel-centre alignment, x_in = (x_out + 0.5) / scale - 0.5.
 * The 1-pixel copied border stands in for PIL clamping at the edges; the offsets of -0.5 on
 * both sides of the transform then put output pixel 0 at input pixel 0 of the unpadded image.
 */
async function enlarge(input: Buffer, scaleX: number, scaleY: number): Promise<RawImage> {
  const padded = await toRaw(uprightRgb(input).extend({ top: 1, bottom: 1, left: 1, right: 1, extendWith: "copy" }));
  const raw = { width: padded.width, height: padded.height, channels: 3 as const };
  return toRaw(
    sharp(padded.data, { raw }).affine([[scaleX, 0], [0, scaleY]], {
      interpolator: sharp.interpolators.bilinear,
      idx: -0.5,
      idy: -0.5,
      odx: -0.5,
      ody: -0.5,
    }),
  );
}

/** `size` is the resized image's nominal size; the affine output can be a few pixels larger. */
function windowCrop(image: RawImage, size: { width: number; height: number }, spec: PreprocessSpec): Uint8Array {
  const { crop } = spec;
  if (size.width < crop || size.height < crop) {
    throw new Error(`resized image ${size.width}x${size.height} is smaller than the ${crop} px crop`);
  }
  const { left, top } = cropOffsets(size.width, size.height, spec);
  return cropRaw(image, left, top, crop, crop).data;
}

/** A window inside the image (no bounds checks: callers stay inside). */
function cropRaw(image: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const start = ((top + y) * image.width + left) * 3;
    out.set(image.data.subarray(start, start + width * 3), y * width * 3);
  }
  return { data: out, width, height };
}

export interface NormalizeOptions {
  /** ColorJitter brightness factor: multiplies the [0, 1] values, clamped to 1. Training only. */
  brightness?: number;
  /** Writes into this array (at `offset`) instead of allocating one, e.g. a batch buffer. */
  out?: Float32Array;
  offset?: number;
}

/** HWC uint8 pixels -> HWC float32, ToTensor + optional brightness + the spec's convention. */
export function toNormalizedFloat(pixels: Uint8Array, spec: PreprocessSpec, options: NormalizeOptions = {}): Float32Array {
  const brightness = options.brightness ?? 1;
  if (!(brightness >= 0)) throw new Error(`brightness factor must be >= 0, got ${brightness}`);
  const out = options.out ?? new Float32Array(pixels.length);
  const offset = options.offset ?? 0;
  if (offset + pixels.length > out.length) throw new Error("toNormalizedFloat: output array too small");
  // 3 x 256 lookup table: each value of an output channel's source channel maps to one float.
  const table = new Float32Array(3 * 256);
  for (let channel = 0; channel < 3; channel++) {
    for (let value = 0; value < 256; value++) {
      const scaled = Math.min(1, (value / 255) * brightness);
      table[channel * 256 + value] = (scaled - spec.mean[channel]) / spec.std[channel];
    }
  }
  const [r0, r1, r2] = [0, 1, 2].map((c) => sourceChannel(spec, c));
  for (let i = 0; i < pixels.length; i += 3) {
    out[offset + i] = table[pixels[i + r0]];
    out[offset + i + 1] = table[256 + pixels[i + r1]];
    out[offset + i + 2] = table[512 + pixels[i + r2]];
  }
  return out;
}
