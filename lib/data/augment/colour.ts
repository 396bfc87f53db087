// ColorJitter's adjustments on float RGB in [0, 1] (HWC), in place, with the semantics of
// torchvision's tensor ops (functional_tensor.adjust_*): blends clamped to [0, 1], grey level
// 0.2989 R + 0.587 G + 0.114 B, hue through torchvision's own RGB <-> HSV formulas.
import type { ColourStep } from "./draw";

type Rgb = Float32Array;

function grey(pixels: Rgb, i: number): number {
  return 0.2989 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
}

function clamp01(value: number): number {
  return value < 0 ? 0 : value > 1 ? 1 : value;
}

/** factor * pixel + (1 - factor) * `towards`, clamped; `towards` may vary per pixel. */
function blendEach(pixels: Rgb, factor: number, towards: (i: number) => number): void {
  for (let i = 0; i < pixels.length; i += 3) {
    const other = (1 - factor) * towards(i);
    pixels[i] = clamp01(factor * pixels[i] + other);
    pixels[i + 1] = clamp01(factor * pixels[i + 1] + other);
    pixels[i + 2] = clamp01(factor * pixels[i + 2] + other);
  }
}

export function adjustBrightness(pixels: Rgb, factor: number): void {
  for (let i = 0; i < pixels.length; i++) pixels[i] = clamp01(factor * pixels[i]);
}

/** Blends with the mean grey level of the whole image. */
export function adjustContrast(pixels: Rgb, factor: number): void {
  let sum = 0;
  for (let i = 0; i < pixels.length; i += 3) sum += Math.fround(grey(pixels, i));
  const mean = sum / (pixels.length / 3);
  blendEach(pixels, factor, () => mean);
}

/** Blends each pixel with its own grey level. */
export function adjustSaturation(pixels: Rgb, factor: number): void {
  blendEach(pixels, factor, (i) => Math.fround(grey(pixels, i)));
}

/** Rotates the hue by `shift` turns (in [-0.5, 0.5]). */
export function adjustHue(pixels: Rgb, shift: number): void {
  for (let i = 0; i < pixels.length; i += 3) {
    const r = pixels[i], g = pixels[i + 1], b = pixels[i + 2];
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const chroma = max - min;
    if (chroma === 0) continue; // grey: hue is undefined and the pixel unchanged
    const s = chroma / max;
    const rc = (max - r) / chroma, gc = (max - g) / chroma, bc = (max - b) / chroma;
    const sector = max === r ? bc - gc : max === g ? 2 + rc - bc : 4 + gc - rc;
    const h = ((((sector / 6 + 1) % 1) + shift) % 1 + 1) % 1;
    hsvToRgb(pixels, i, h, s, max);
  }
}

function hsvToRgb(out: Rgb, i: number, h: number, s: number, v: number): void {
  const sector = Math.floor(h * 6);
  const f = h * 6 - sector;
  const p = clamp01(v * (1 - s));
  const q = clamp01(v * (1 - s * f));
  const t = clamp01(v * (1 - s * (1 - f)));
  switch (sector % 6) {
    case 0: return setRgb(out, i, v, t, p);
    case 1: return setRgb(out, i, q, v, p);
    case 2: return setRgb(out, i, p, v, t);
    case 3: return setRgb(out, i, p, q, v);
    case 4: return setRgb(out, i, t, p, v);
    default: return setRgb(out, i, v, p, q);
  }
}

function setRgb(out: Rgb, i: number, r: number, g: number, b: number): void {
  out[i] = r;
  out[i + 1] = g;
  out[i + 2] = b;
}

const ADJUST = { brightness: adjustBrightness, contrast: adjustContrast, saturation: adjustSaturation, hue: adjustHue };

/** ColorJitter.forward with given parameters: the steps in their order. */
export function applyColour(pixels: Rgb, steps: readonly ColourStep[]): void {
  for (const step of steps) ADJUST[step.op](pixels, step.factor);
}
