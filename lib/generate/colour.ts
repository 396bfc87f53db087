/** Small colour helpers for the SVG drawings. */
import type { Rng } from "../random";

export type Rgb = [number, number, number];

export function hex([r, g, b]: Rgb): string {
  const h = (v: number) => Math.max(0, Math.min(255, Math.round(v))).toString(16).padStart(2, "0");
  return `#${h(r)}${h(g)}${h(b)}`;
}

/** h in degrees, s and l in [0, 1]. */
export function hsl(h: number, s: number, l: number): Rgb {
  const hue = (((h % 360) + 360) % 360) / 60;
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs((hue % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    hue < 1 ? [c, x, 0] : hue < 2 ? [x, c, 0] : hue < 3 ? [0, c, x] : hue < 4 ? [0, x, c] : hue < 5 ? [x, 0, c] : [c, 0, x];
  return [(r + m) * 255, (g + m) * 255, (b + m) * 255];
}

/** Moves a colour towards white (amount > 0) or black (amount < 0). */
export function shade([r, g, b]: Rgb, amount: number): Rgb {
  const t = amount >= 0 ? 255 : 0;
  const a = Math.abs(amount);
  return [r + (t - r) * a, g + (t - g) * a, b + (t - b) * a];
}

export function luminance([r, g, b]: Rgb): number {
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

/** A colour to print on top of `background` that stays readable. */
export function inkFor(background: Rgb, rng: Rng): Rgb {
  if (luminance(background) > 0.55) return rng.pick<Rgb>([[25, 25, 30], [40, 40, 70], [70, 30, 30]]);
  return rng.pick<Rgb>([[250, 250, 250], [255, 240, 200], [235, 235, 235]]);
}

/** Typical colours of blank merchandise: mostly neutrals, some saturated or pastel. */
export function productColour(rng: Rng): Rgb {
  const kind = rng.weighted<string>([
    ["white", 3],
    ["black", 2],
    ["grey", 2],
    ["pastel", 2],
    ["deep", 2],
    ["natural", 1],
  ]);
  switch (kind) {
    case "white":
      return hsl(rng.float(0, 360), rng.float(0, 0.15), rng.float(0.9, 0.98));
    case "black":
      return hsl(rng.float(0, 360), rng.float(0, 0.2), rng.float(0.08, 0.18));
    case "grey":
      return hsl(rng.float(0, 360), rng.float(0, 0.1), rng.float(0.35, 0.75));
    case "pastel":
      return hsl(rng.float(0, 360), rng.float(0.35, 0.7), rng.float(0.75, 0.88));
    case "deep":
      return hsl(rng.float(0, 360), rng.float(0.4, 0.75), rng.float(0.25, 0.45));
    default:
      return hsl(rng.float(30, 50), rng.float(0.25, 0.45), rng.float(0.7, 0.82)); // canvas, kraft
  }
}
