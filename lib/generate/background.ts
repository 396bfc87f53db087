/**
 * Photo backgrounds as SVG: flat and gradient backdrops, wood tables, a wall
 * meeting a table, tiles, fabric, plus some everyday clutter.
 */
import { type Rgb, hex, hsl, shade } from "./colour";
import type { Rng } from "../random";

export const BACKGROUND_KINDS = ["flat", "gradient", "wood", "wall_table", "tiles", "fabric"] as const;
export type BackgroundKind = (typeof BACKGROUND_KINDS)[number];

export interface Background {
  kind: BackgroundKind;
  defs: string;
  body: string;
  /** y (in pixels) of the surface a standing product rests on, if the scene has one. */
  horizon?: number;
}

const n = (v: number) => v.toFixed(1);

/** Mostly muted backdrop colours, as in product photography. */
function backdropColour(rng: Rng): Rgb {
  return rng.chance(0.7)
    ? hsl(rng.float(0, 360), rng.float(0, 0.15), rng.float(0.55, 0.95))
    : hsl(rng.float(0, 360), rng.float(0.15, 0.45), rng.float(0.35, 0.85));
}

function woodColour(rng: Rng): Rgb {
  return hsl(rng.float(20, 40), rng.float(0.3, 0.6), rng.float(0.25, 0.65));
}

function woodPlanks(rng: Rng, x: number, y: number, w: number, h: number): string {
  const base = woodColour(rng);
  const plankH = rng.float(40, 110);
  let out = "";
  for (let py = y; py < y + h; py += plankH) {
    out += `<rect x="${n(x)}" y="${n(py)}" width="${n(w)}" height="${n(plankH + 1)}" fill="${hex(shade(base, rng.float(-0.12, 0.12)))}"/>`;
    out += `<path d="M${n(x)} ${n(py)} h${n(w)}" stroke="#000" stroke-opacity="0.35" stroke-width="1.5"/>`;
    const lines = rng.int(3, 6);
    for (let i = 0; i < lines; i++) {
      const ly = py + rng.float(4, plankH - 4);
      const amp = rng.float(-4, 4);
      out += `<path d="M${n(x)} ${n(ly)} q${n(w / 4)} ${n(amp)} ${n(w / 2)} 0 t${n(w / 2)} 0" stroke="${hex(shade(base, -0.3))}" stroke-opacity="${rng.float(0.2, 0.45).toFixed(2)}" stroke-width="${rng.float(0.6, 2).toFixed(1)}" fill="none"/>`;
    }
  }
  return out;
}

function tiles(rng: Rng, w: number, h: number): string {
  const base = backdropColour(rng);
  const size = rng.float(40, 120);
  const grout = hex(shade(base, rng.chance(0.5) ? -0.25 : 0.3));
  let out = `<rect width="${w}" height="${h}" fill="${hex(base)}"/>`;
  for (let x = rng.float(0, size); x < w; x += size) out += `<path d="M${n(x)} 0 V${h}" stroke="${grout}" stroke-width="2"/>`;
  for (let y = rng.float(0, size); y < h; y += size) out += `<path d="M0 ${n(y)} H${w}" stroke="${grout}" stroke-width="2"/>`;
  return out;
}

function fabric(rng: Rng, w: number, h: number): string {
  const base = backdropColour(rng);
  const stripe = hex(shade(base, rng.float(-0.15, 0.15)));
  const step = rng.float(8, 30);
  let out = `<rect width="${w}" height="${h}" fill="${hex(base)}"/>`;
  const checked = rng.chance(0.5);
  for (let x = 0; x < w; x += step * 2) out += `<rect x="${n(x)}" y="0" width="${n(step)}" height="${h}" fill="${stripe}" opacity="0.5"/>`;
  if (checked) for (let y = 0; y < h; y += step * 2) out += `<rect x="0" y="${n(y)}" width="${w}" height="${n(step)}" fill="${stripe}" opacity="0.4"/>`;
  return out;
}

export function drawBackground(rng: Rng, w: number, h: number): Background {
  const kind = rng.weighted<BackgroundKind>([
    ["flat", 2],
    ["gradient", 2],
    ["wood", 2],
    ["wall_table", 2],
    ["tiles", 1],
    ["fabric", 1],
  ]);
  switch (kind) {
    case "flat":
      return { kind, defs: "", body: `<rect width="${w}" height="${h}" fill="${hex(backdropColour(rng))}"/>` };
    case "gradient": {
      const a = backdropColour(rng);
      const b = shade(a, rng.float(-0.45, 0.3));
      const defs = rng.chance(0.5)
        ? `<radialGradient id="bg" cx="${rng.float(0.3, 0.7).toFixed(2)}" cy="${rng.float(0.2, 0.6).toFixed(2)}" r="0.8"><stop offset="0" stop-color="${hex(a)}"/><stop offset="1" stop-color="${hex(b)}"/></radialGradient>`
        : `<linearGradient id="bg" x1="0" y1="0" x2="${rng.float(0, 0.5).toFixed(2)}" y2="1"><stop offset="0" stop-color="${hex(a)}"/><stop offset="1" stop-color="${hex(b)}"/></linearGradient>`;
      return { kind, defs, body: `<rect width="${w}" height="${h}" fill="url(#bg)"/>` };
    }
    case "wood":
      return { kind, defs: "", body: woodPlanks(rng, 0, 0, w, h) };
    case "wall_table": {
      const horizon = h * rng.float(0.45, 0.75);
      const wall = backdropColour(rng);
      const defs = `<linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(shade(wall, -0.15))}"/><stop offset="1" stop-color="${hex(wall)}"/></linearGradient>`;
      const table = rng.chance(0.6)
        ? woodPlanks(rng, 0, horizon, w, h - horizon)
        : `<rect y="${n(horizon)}" width="${w}" height="${n(h - horizon)}" fill="${hex(backdropColour(rng))}"/>`;
      const edge = `<path d="M0 ${n(horizon)} H${w}" stroke="#000" stroke-opacity="0.25" stroke-width="2"/>`;
      return { kind, defs, body: `<rect width="${w}" height="${h}" fill="url(#bg)"/>` + table + edge, horizon };
    }
    case "tiles":
      return { kind, defs: "", body: tiles(rng, w, h) };
    case "fabric":
      return { kind, defs: "", body: fabric(rng, w, h) };
  }
}

/** A few everyday objects around the product: cups seen from above, papers, pens, coins, leaves. */
export function drawClutter(rng: Rng, w: number, h: number): string {
  let out = "";
  const count = rng.int(1, 4);
  for (let i = 0; i < count; i++) {
    // Keep clutter near the borders so it rarely covers the product.
    const x = rng.chance(0.5) ? rng.float(-0.05, 0.22) * w : rng.float(0.78, 1.05) * w;
    const y = rng.float(-0.05, 1.05) * h;
    const s = Math.min(w, h) * rng.float(0.1, 0.25);
    const rot = rng.float(0, 360).toFixed(0);
    const col = hsl(rng.float(0, 360), rng.float(0, 0.5), rng.float(0.2, 0.9));
    const item = rng.pick(["cup", "paper", "pen", "coin", "leaf"] as const);
    let shape: string;
    switch (item) {
      case "cup":
        shape = `<circle r="${n(s / 2)}" fill="${hex(col)}"/><circle r="${n(s * 0.4)}" fill="#3b2416"/>`;
        break;
      case "paper":
        shape = `<rect x="${n(-s * 0.7)}" y="${n(-s)}" width="${n(s * 1.4)}" height="${n(s * 2)}" fill="#f4f2ec"/><path d="M${n(-s * 0.5)} ${n(-s * 0.6)} h${n(s)} M${n(-s * 0.5)} ${n(-s * 0.3)} h${n(s * 0.8)} M${n(-s * 0.5)} 0 h${n(s)}" stroke="#99a" stroke-width="1"/>`;
        break;
      case "pen":
        shape = `<rect x="${n(-s)}" y="-3" width="${n(s * 2)}" height="6" rx="3" fill="${hex(col)}"/><path d="M${n(s)} -3 l8 3 l-8 3 Z" fill="#ddd"/>`;
        break;
      case "coin":
        shape = `<circle r="${n(s * 0.18)}" fill="#c9a94a" stroke="#8a7330" stroke-width="1"/>`;
        break;
      case "leaf":
        shape = `<ellipse rx="${n(s * 0.6)}" ry="${n(s * 0.25)}" fill="${hex(hsl(rng.float(80, 140), 0.45, 0.3))}"/><path d="M${n(-s * 0.6)} 0 H${n(s * 0.6)}" stroke="#2a4a1a" stroke-width="1"/>`;
        break;
    }
    out += `<g transform="translate(${n(x)} ${n(y)}) rotate(${rot})">${shape}</g>`;
  }
  return out;
}
