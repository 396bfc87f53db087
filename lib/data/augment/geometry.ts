// Geometric transforms on 8-bit RGB images (HWC), with torchvision's tensor semantics
// (torchvision.transforms.functional on uint8 tensors; test/augment-parity.test.ts checks them).
import { centreCropOffset, roundHalfEven, type RgbImage } from "../preprocess";
import type { AugmentDraw, CropBox } from "./draw";

/** F.crop: the window `box`; where it reaches outside the image (padding) the pixels are 0. */
export function cropImage(image: RgbImage, box: CropBox): RgbImage {
  const { top, left, width, height } = box;
  if (top === 0 && left === 0 && width === image.width && height === image.height) return image;
  const out = new Uint8Array(width * height * 3);
  const x0 = Math.max(0, -left);
  const x1 = Math.min(width, image.width - left);
  if (x1 <= x0) return { data: out, width, height };
  for (let y = Math.max(0, -top); y < Math.min(height, image.height - top); y++) {
    const from = ((top + y) * image.width + left + x0) * 3;
    out.set(image.data.subarray(from, from + (x1 - x0) * 3), (y * width + x0) * 3);
  }
  return { data: out, width, height };
}

export function centreCropBox(image: { width: number; height: number }, size: number): CropBox {
  return { top: centreCropOffset(image.height, size), left: centreCropOffset(image.width, size), height: size, width: size };
}

/** F.hflip. */
export function hflipImage(image: RgbImage): RgbImage {
  const { width, height, data } = image;
  const out = new Uint8Array(data.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const from = row + x * 3;
      const to = row + (width - 1 - x) * 3;
      out[to] = data[from];
      out[to + 1] = data[from + 1];
      out[to + 2] = data[from + 2];
    }
  }
  return { data: out, width, height };
}

/**
 * F.rotate(angle, NEAREST, expand=False, center=None, fill=0): counter-clockwise about the image
 * centre. Each output pixel takes the nearest source pixel (grid_sample's round-half-even) of its
 * inversely rotated position, or 0 when that falls outside the image.
 */
export function rotateNearest(image: RgbImage, degrees: number): RgbImage {
  const { width, height, data } = image;
  // torch builds and samples the grid in float32: mimicking its roundings makes the result exact.
  const f32 = Math.fround;
  const radians = -degrees * (Math.PI / 180); // math.radians(-angle), as F.rotate computes it
  const [cos, sin] = [f32(Math.cos(radians)), f32(Math.sin(radians))];
  // The inverse rotation divided by the half sizes: normalised source position per centred pixel.
  const [ax, bx] = [f32(cos / f32(width / 2)), f32(sin / f32(width / 2))];
  const [ay, by] = [f32(-sin / f32(height / 2)), f32(cos / f32(height / 2))];
  const out = new Uint8Array(data.length);
  for (let oy = 0; oy < height; oy++) {
    const y = oy - height / 2 + 0.5;
    for (let ox = 0; ox < width; ox++) {
      const x = ox - width / 2 + 0.5;
      const gx = f32(f32(x * ax) + f32(y * bx));
      const gy = f32(f32(x * ay) + f32(y * by));
      const sx = roundHalfEven(f32(f32(f32(f32(gx + 1) * width) - 1) / 2));
      const sy = roundHalfEven(f32(f32(f32(f32(gy + 1) * height) - 1) / 2));
      if (sx < 0 || sx >= width || sy < 0 || sy >= height) continue;
      const from = (sy * width + sx) * 3;
      const to = (oy * width + ox) * 3;
      out[to] = data[from];
      out[to + 1] = data[from + 1];
      out[to + 2] = data[from + 2];
    }
  }
  return { data: out, width, height };
}

/**
 * F.resized_crop(box, [size, size], BILINEAR, antialias=True) on a uint8 tensor: the window
 * resampled with a triangle filter widened by the shrink factor (PIL's and torch's antialiased
 * bilinear; plain bilinear when enlarging), horizontally then vertically, rounded half-even. Weights
 * and sums are rounded to float32 where torch rounds them, which makes the bytes identical to its.
 */
export function resizedCrop(image: RgbImage, box: CropBox, size: number): RgbImage {
  // Each w * x + sum is rounded to float32, as torch's fused multiply-add (the product of a float32
  // weight and a byte or a float32 is exact in float64).
  const f32 = Math.fround;
  const window = cropImage(image, box);
  const source = window.data;
  const columns = triangleTaps(window.width, size);
  const rows = triangleTaps(window.height, size);
  const rowLength = size * 3;
  const horizontal = new Float32Array(window.height * rowLength);
  for (let y = 0; y < window.height; y++) {
    for (let x = 0; x < size; x++) {
      const from = (y * window.width + columns.first[x]) * 3;
      const tap = x * columns.stride;
      let r = 0, g = 0, b = 0;
      for (let k = 0; k < columns.count[x]; k++) {
        const w = columns.weights[tap + k];
        r = f32(w * source[from + 3 * k] + r);
        g = f32(w * source[from + 3 * k + 1] + g);
        b = f32(w * source[from + 3 * k + 2] + b);
      }
      const to = y * rowLength + x * 3;
      horizontal[to] = r;
      horizontal[to + 1] = g;
      horizontal[to + 2] = b;
    }
  }
  const out = new Uint8Array(size * rowLength);
  const sums = new Float32Array(rowLength); // one output row, summed over its input rows in order
  for (let y = 0; y < size; y++) {
    sums.fill(0);
    for (let k = 0; k < rows.count[y]; k++) {
      const w = rows.weights[y * rows.stride + k];
      const from = (rows.first[y] + k) * rowLength;
      for (let x = 0; x < rowLength; x++) sums[x] = w * horizontal[from + x] + sums[x];
    }
    for (let x = 0; x < rowLength; x++) out[y * rowLength + x] = Math.min(255, Math.max(0, roundHalfEven(sums[x])));
  }
  return { data: out, width: size, height: size };
}

/** Per output pixel along one axis: the first input pixel, how many, and their weights (`stride` apart). */
interface Taps {
  first: Int32Array;
  count: Int32Array;
  stride: number;
  weights: Float32Array;
}

/** The filter taps, computed step by step in float32 as torch does (its window centres carry float32 rounding). */
function triangleTaps(input: number, output: number): Taps {
  const f32 = Math.fround;
  const scale = f32(input / output);
  const support = scale >= 1 ? scale : 1;
  const inverse = scale >= 1 ? f32(1 / scale) : 1;
  const stride = Math.ceil(2 * support) + 1;
  const taps = { first: new Int32Array(output), count: new Int32Array(output), stride, weights: new Float32Array(output * stride) };
  for (let i = 0; i < output; i++) {
    const centre = f32(scale * (i + 0.5));
    const first = Math.max(Math.trunc(f32(f32(centre - support) + 0.5)), 0);
    const count = Math.min(Math.trunc(f32(f32(centre + support) + 0.5)), input) - first;
    let total = 0;
    for (let j = 0; j < count; j++) {
      const weight = Math.max(0, f32(1 - Math.abs(f32(f32(f32(first + j - centre) + 0.5) * inverse))));
      taps.weights[i * stride + j] = weight;
      total = f32(total + weight);
    }
    for (let j = 0; j < count; j++) taps.weights[i * stride + j] = f32(taps.weights[i * stride + j] / total);
    taps.first[i] = first;
    taps.count[i] = count;
  }
  return taps;
}

/** The geometric part of a draw: crop (random, resized or centre), then rotation, then flip. */
export function applyGeometry(image: RgbImage, size: number, draw: AugmentDraw): RgbImage {
  let out = !draw.crop
    ? cropImage(image, centreCropBox(image, size))
    : draw.crop.resize
      ? resizedCrop(image, draw.crop.box, size)
      : cropImage(image, draw.crop.box);
  if (draw.rotation !== undefined) out = rotateNearest(out, draw.rotation);
  if (draw.hflip) out = hflipImage(out);
  return out;
}
