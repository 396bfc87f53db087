/**
 * Procedural SVG drawings of merchandise, in a local 100 x 100 unit box.
 * Each drawing says where a print may go: "main" areas (chest, mug body, ...)
 * and "small" ones (sleeve, corner, pocket) that make the character small and
 * off-centre, so that random crops can cut it away.
 */
import { type Rgb, hex, productColour, shade } from "./colour";
import type { Rng } from "../random";

export const PRODUCT_KINDS = ["tshirt", "mug", "tote_bag", "phone_case", "key_ring", "cushion", "cap", "notebook"] as const;
export type ProductKind = (typeof PRODUCT_KINDS)[number];

export interface PrintArea {
  x: number;
  y: number;
  w: number;
  h: number;
  small: boolean;
}

export interface ProductDrawing {
  kind: ProductKind;
  colour: Rgb;
  defs: string;
  /** Drawn below the print. */
  body: string;
  /** Shape the print is clipped to (SVG elements for a <clipPath>). */
  clip: string;
  /** Drawn above the print: shading, seams, straps. */
  overlay: string;
  areas: PrintArea[];
  /** Whether the product stands on a surface (floor shadow) or lies flat (drop shadow). */
  standing: boolean;
}

/** Light from the top left, darker to the bottom right. */
function flatShade(rng: Rng): string {
  const a = rng.float(0.1, 0.3).toFixed(2);
  const b = rng.float(0.1, 0.3).toFixed(2);
  return `<linearGradient id="pShade" x1="0" y1="0" x2="1" y2="1">
<stop offset="0" stop-color="#fff" stop-opacity="${a}"/><stop offset="0.5" stop-color="#fff" stop-opacity="0"/>
<stop offset="1" stop-color="#000" stop-opacity="${b}"/></linearGradient>`;
}

/** Shading of a cylinder seen from the side (mugs). */
function cylinderShade(): string {
  return `<linearGradient id="pShade" x1="0" y1="0" x2="1" y2="0">
<stop offset="0" stop-color="#000" stop-opacity="0.35"/><stop offset="0.3" stop-color="#fff" stop-opacity="0.3"/>
<stop offset="0.45" stop-color="#fff" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.4"/></linearGradient>`;
}

/** Puffy shading: lighter middle, darker rim (cushions, caps). */
function puffShade(): string {
  return `<radialGradient id="pShade" cx="0.45" cy="0.4" r="0.7">
<stop offset="0" stop-color="#fff" stop-opacity="0.2"/><stop offset="0.6" stop-color="#fff" stop-opacity="0"/>
<stop offset="1" stop-color="#000" stop-opacity="0.35"/></radialGradient>`;
}

function tshirt(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const c = hex(col);
  const dark = hex(shade(col, -0.25));
  const outline =
    "M35 10 Q50 21 65 10 L84 16 L98 36 L85 45 L79 37 L80 95 L20 95 L21 37 L15 45 L2 36 L16 16 Z";
  const folds = [0, 1, 2]
    .map(() => {
      const x = rng.float(25, 75);
      return `<path d="M${x.toFixed(1)} ${rng.float(55, 70).toFixed(1)} q${rng.float(-6, 6).toFixed(1)} 12 ${rng.float(-4, 4).toFixed(1)} 25" stroke="#000" stroke-opacity="0.12" stroke-width="1.2" fill="none"/>`;
    })
    .join("");
  return {
    defs: flatShade(rng),
    body: `<path d="${outline}" fill="${c}" stroke="${dark}" stroke-width="0.6"/>`,
    clip: `<path d="${outline}"/>`,
    overlay:
      `<path d="M35 10 Q50 21 65 10" stroke="${dark}" stroke-width="2.5" fill="none"/>` +
      `<path d="M21 37 L16 17 M79 37 L84 17" stroke="${dark}" stroke-width="0.5" stroke-opacity="0.6" fill="none"/>` +
      folds +
      `<path d="${outline}" fill="url(#pShade)"/>`,
    areas: [
      { x: 28, y: 24, w: 44, h: 54, small: false },
      { x: 84, y: 22, w: 10, h: 11, small: true },
      { x: 6, y: 22, w: 10, h: 11, small: true },
      { x: 58, y: 24, w: 13, h: 13, small: true },
    ],
    standing: false,
  };
}

function mug(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const c = hex(col);
  const rim = hex(shade(col, -0.35));
  const handleRight = rng.chance(0.5);
  const handle = handleRight
    ? `<path d="M72 34 C93 33 93 72 72 72" stroke="${c}" stroke-width="7" fill="none"/>`
    : `<path d="M18 34 C-3 33 -3 72 18 72" stroke="${c}" stroke-width="7" fill="none"/>`;
  const body = "M18 20 L72 20 L72 84 Q72 90 66 90 L24 90 Q18 90 18 84 Z";
  return {
    defs: cylinderShade(),
    body: handle + `<path d="${body}" fill="${c}"/>`,
    clip: `<path d="${body}"/>`,
    overlay:
      `<path d="${body}" fill="url(#pShade)"/>` +
      `<ellipse cx="45" cy="20" rx="27" ry="5" fill="${c}"/><ellipse cx="45" cy="20.5" rx="24.5" ry="3.8" fill="${rim}"/>`,
    areas: [
      { x: 24, y: 28, w: 42, h: 54, small: false },
      { x: handleRight ? 24 : 54, y: 70, w: 12, h: 12, small: true },
    ],
    standing: true,
  };
}

function toteBag(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const c = hex(col);
  const strap = hex(shade(col, rng.chance(0.5) ? -0.2 : 0.15));
  const body = "M16 36 L84 36 L86 96 L14 96 Z";
  return {
    defs: flatShade(rng),
    body:
      `<path d="M28 40 Q28 4 40 4 Q46 4 44 40" stroke="${strap}" stroke-width="4" fill="none"/>` +
      `<path d="M56 40 Q54 4 60 4 Q72 4 72 40" stroke="${strap}" stroke-width="4" fill="none"/>` +
      `<path d="${body}" fill="${c}"/>`,
    clip: `<path d="${body}"/>`,
    overlay:
      `<path d="M16 39 L84 39" stroke="#000" stroke-opacity="0.15" stroke-width="0.6" stroke-dasharray="1.5 1"/>` +
      `<path d="${body}" fill="url(#pShade)"/>`,
    areas: [
      { x: 22, y: 43, w: 56, h: 48, small: false },
      { x: 68, y: 80, w: 12, h: 12, small: true },
      { x: 20, y: 80, w: 12, h: 12, small: true },
    ],
    standing: false,
  };
}

function phoneCase(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const c = hex(col);
  const bump = hex(shade(col, -0.3));
  const lens = (x: number, y: number, r: number) =>
    `<circle cx="${x}" cy="${y}" r="${r}" fill="#1a1a1e" stroke="#666" stroke-width="0.8"/>`;
  return {
    defs: flatShade(rng),
    body: `<rect x="28" y="4" width="44" height="92" rx="8" fill="${c}" stroke="${hex(shade(col, -0.2))}" stroke-width="0.8"/>`,
    clip: `<rect x="28" y="4" width="44" height="92" rx="8"/>`,
    overlay:
      `<rect x="31" y="7" width="19" height="20" rx="5" fill="${bump}"/>` +
      lens(36.5, 12.5, 3.2) +
      lens(36.5, 21.5, 3.2) +
      lens(45, 17, 3.2) +
      `<circle cx="45.5" cy="10.5" r="1" fill="#ffe9a8"/>` +
      `<rect x="28" y="4" width="44" height="92" rx="8" fill="url(#pShade)"/>`,
    areas: [
      { x: 32, y: 31, w: 36, h: 58, small: false },
      { x: 56, y: 78, w: 12, h: 12, small: true },
      { x: 54, y: 9, w: 13, h: 13, small: true },
    ],
    standing: false,
  };
}

function keyRing(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const round = rng.chance(0.5);
  const charm = round
    ? `<circle cx="50" cy="60" r="27"/>`
    : `<rect x="24" y="34" width="52" height="52" rx="10"/>`;
  const edge = hex(shade(col, -0.3));
  return {
    defs: flatShade(rng),
    body:
      `<circle cx="50" cy="10" r="8" fill="none" stroke="#a8a8b0" stroke-width="2.4"/>` +
      `<path d="M50 18 L50 33" stroke="#9a9aa2" stroke-width="2"/>` +
      `<g fill="${hex(col)}" stroke="${edge}" stroke-width="1.2">${charm}</g>`,
    clip: charm,
    overlay: `<g fill="url(#pShade)">${charm}</g><path d="M32 44 Q40 38 52 38" stroke="#fff" stroke-opacity="0.5" stroke-width="1.5" fill="none"/>`,
    areas: [{ x: 31, y: 41, w: 38, h: 38, small: false }],
    standing: false,
  };
}

function cushion(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const outline = "M8 12 Q50 20 92 12 Q84 50 92 88 Q50 80 8 88 Q16 50 8 12 Z";
  return {
    defs: puffShade(),
    body: `<path d="${outline}" fill="${hex(col)}"/>`,
    clip: `<path d="${outline}"/>`,
    overlay:
      `<path d="${outline}" fill="url(#pShade)"/>` +
      `<path d="${outline}" fill="none" stroke="${hex(shade(col, -0.3))}" stroke-width="1"/>`,
    areas: [
      { x: 22, y: 22, w: 56, h: 56, small: false },
      { x: 70, y: 68, w: 12, h: 12, small: true },
      { x: 18, y: 20, w: 12, h: 12, small: true },
    ],
    standing: rng.chance(0.5),
  };
}

function cap(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const c = hex(col);
  const visor = rng.chance(0.3) ? hex(shade(col, -0.5)) : hex(shade(col, -0.12));
  const crown = "M10 70 C8 10 92 10 90 70 Q50 64 10 70 Z";
  return {
    defs: puffShade(),
    body: `<path d="${crown}" fill="${c}"/>`,
    clip: `<path d="${crown}"/>`,
    overlay:
      `<path d="M50 26 L50 66 M50 26 Q30 34 26 68 M50 26 Q70 34 74 68" stroke="#000" stroke-opacity="0.2" stroke-width="0.6" fill="none"/>` +
      `<path d="${crown}" fill="url(#pShade)"/>` +
      `<circle cx="50" cy="25.5" r="2.4" fill="${hex(shade(col, -0.2))}"/>` +
      // The visor, seen from the front: a curved band below the crown.
      `<path d="M14 68 Q50 60 86 68 Q90 82 50 88 Q10 82 14 68 Z" fill="${visor}"/>` +
      `<path d="M14 68 Q50 60 86 68" stroke="#000" stroke-opacity="0.35" stroke-width="1.2" fill="none"/>`,
    areas: [
      { x: 30, y: 30, w: 40, h: 32, small: false },
      { x: 16, y: 46, w: 10, h: 10, small: true },
    ],
    standing: true,
  };
}

function notebook(rng: Rng, col: Rgb): Omit<ProductDrawing, "kind" | "colour"> {
  const c = hex(col);
  const spiral = rng.chance(0.5);
  const binding = spiral
    ? Array.from({ length: 11 }, (_, i) => `<ellipse cx="20" cy="${12 + i * 7.6}" rx="3.2" ry="1.6" fill="none" stroke="#8a8a92" stroke-width="1.2"/>`).join("")
    : `<rect x="70" y="6" width="3.5" height="88" fill="${hex(shade(col, -0.45))}"/>`;
  return {
    defs: flatShade(rng),
    body:
      `<rect x="22" y="7" width="58" height="88" rx="2" fill="#f2efe6"/>` +
      `<rect x="20" y="6" width="58" height="88" rx="2.5" fill="${c}"/>`,
    clip: `<rect x="20" y="6" width="58" height="88" rx="2.5"/>`,
    overlay: binding + `<rect x="20" y="6" width="58" height="88" rx="2.5" fill="url(#pShade)"/>`,
    areas: [
      { x: 27, y: 16, w: 42, h: 54, small: false },
      { x: 56, y: 78, w: 12, h: 12, small: true },
    ],
    standing: false,
  };
}

const DRAWERS: Record<ProductKind, (rng: Rng, col: Rgb) => Omit<ProductDrawing, "kind" | "colour">> = {
  tshirt,
  mug,
  tote_bag: toteBag,
  phone_case: phoneCase,
  key_ring: keyRing,
  cushion,
  cap,
  notebook,
};

export function drawProduct(kind: ProductKind, rng: Rng): ProductDrawing {
  const colour = productColour(rng);
  return { kind, colour, ...DRAWERS[kind](rng, colour) };
}
