/**
 * Composes one product photo as a single SVG: background, optional clutter,
 * the product with the character printed on it (and maybe its name), shadow
 * and uneven lighting. Camera effects are added later by photo.ts.
 */
import type { Artwork } from "./artwork";
import { type BackgroundKind, drawBackground, drawClutter } from "./background";
import { hex, inkFor } from "./colour";
import { PRODUCT_KINDS, type PrintArea, type ProductKind, drawProduct } from "./products";
import type { Rng } from "../random";

export interface Scene {
  width: number;
  height: number;
  svg: string;
  product: ProductKind;
  background: BackgroundKind;
  /** Printed on a small area (sleeve, corner, pocket). */
  smallPrint: boolean;
  withText: boolean;
  /** Side of the printed character's box relative to the image's short side. */
  printSize: number;
}

const n = (v: number) => v.toFixed(2);

const FONTS = [
  { family: "DejaVu Sans", weight: "bold", em: 0.76 },
  { family: "DejaVu Serif", weight: "bold", em: 0.78 },
  { family: "DejaVu Sans Mono", weight: "bold", em: 0.62 },
  { family: "DejaVu Sans Condensed", weight: "bold", em: 0.68 },
];

/** Image size: about 180-600 px per side, aspect ratio from 1:1 to 16:9 either way. */
function imageSize(rng: Rng): [number, number] {
  const long = rng.int(220, 600);
  const short = Math.max(180, Math.round(long / rng.float(1, 1.78)));
  return rng.chance(0.55) ? [long, short] : [short, long];
}

/** Places the artwork (and the name under or over it) inside a print area, in product units. */
function printLayout(rng: Rng, area: PrintArea, art: Artwork, text: string | undefined, ink: string): [string, number] {
  const aspect = art.width / art.height;
  const textRatio = text ? rng.float(0.18, 0.28) : 0;
  const font = rng.pick(FONTS);
  let artSize = Math.min(area.w, area.h) * (area.small ? rng.float(0.85, 1) : rng.float(0.55, 1));
  if (text) artSize = Math.min(artSize, area.h / (1 + textRatio + 0.1));
  const artW = artSize * Math.min(1, aspect);
  const artH = artSize * Math.min(1, 1 / aspect);
  let fontSize = artSize * textRatio;
  let textW = 0;
  if (text) {
    fontSize = Math.min(fontSize, area.w / (font.em * text.length));
    textW = fontSize * font.em * text.length;
  }
  const gap = text ? fontSize * 0.3 : 0;
  const blockW = Math.max(artW, textW);
  const blockH = artH + (text ? gap + fontSize : 0);
  // Mostly centred in the area, sometimes anywhere in it (off-centre prints).
  const free = (size: number, span: number) => Math.max(0, span - size);
  const along = (span: number) => (rng.chance(0.6) ? 0.5 + rng.float(-0.12, 0.12) : rng.next()) * span;
  const bx = area.x + along(free(blockW, area.w));
  const by = area.y + along(free(blockH, area.h));
  const textAbove = rng.chance(0.2);
  const artY = text && textAbove ? by + fontSize + gap : by;
  const cx = bx + blockW / 2;
  const opacity = rng.float(0.88, 1).toFixed(2);
  let out = `<image x="${n(cx - artW / 2)}" y="${n(artY)}" width="${n(artW)}" height="${n(artH)}" preserveAspectRatio="none" opacity="${opacity}" xlink:href="${art.href}"/>`;
  if (text) {
    const baseline = textAbove ? by + fontSize * 0.85 : artY + artH + gap + fontSize * 0.85;
    out +=
      `<text x="${n(cx)}" y="${n(baseline)}" font-family="${font.family}" font-weight="${font.weight}" ` +
      `font-size="${n(fontSize)}" text-anchor="middle" fill="${ink}" opacity="${opacity}">${text}</text>`;
  }
  return [out, artSize];
}

export function composeScene(rng: Rng, art: Artwork, text: string | undefined): Scene {
  const [width, height] = imageSize(rng);
  const short = Math.min(width, height);
  const bg = drawBackground(rng, width, height);
  const clutter = rng.chance(0.4) ? drawClutter(rng, width, height) : "";

  const product = drawProduct(rng.pick(PRODUCT_KINDS), rng);
  const smallAreas = product.areas.filter((a) => a.small);
  const smallPrint = smallAreas.length > 0 && rng.chance(0.25);
  const area = rng.pick(smallAreas.length > 0 && smallPrint ? smallAreas : product.areas.filter((a) => !a.small));
  const withText = text !== undefined && !area.small;
  const [print, artSize] = printLayout(rng, area, art, withText ? text : undefined, hex(inkFor(product.colour, rng)));

  // Product size and position: scale in pixels per product unit.
  // Caps and key rings have small print areas, so they are photographed closer.
  const closeUp = product.kind === "cap" || product.kind === "key_ring" ? 1.15 : 1;
  const scale = (short * rng.float(0.62, 0.98) * closeUp) / 100;
  const spanX = Math.max(0, width - 100 * scale);
  const spanY = Math.max(0, height - 100 * scale);
  const cx = width / 2 + rng.float(-0.45, 0.45) * spanX;
  let cy = height / 2 + rng.float(-0.45, 0.45) * spanY;
  if (product.standing && bg.horizon !== undefined) {
    // Stand it on the table: its base a little below the wall/table edge.
    cy = bg.horizon + rng.float(0, 0.12) * height - 40 * scale;
    cy = Math.max(48 * scale, Math.min(height - 44 * scale, cy));
  }
  const tilt = Math.max(-4, Math.min(4, rng.normal() * 1.6));

  const shadow = product.standing
    ? `<ellipse cx="50" cy="${product.kind === "cap" ? 87 : 90}" rx="46" ry="6" fill="url(#shadow)"/>`
    : `<g transform="translate(${n(rng.float(1, 3))} ${n(rng.float(1.5, 4))})" fill="#000" opacity="${rng.float(0.15, 0.35).toFixed(2)}">${product.clip}</g>`;

  const lights: string[] = [];
  let lightDefs = `<radialGradient id="shadow"><stop offset="0" stop-color="#000" stop-opacity="0.45"/><stop offset="1" stop-color="#000" stop-opacity="0"/></radialGradient>`;
  if (rng.chance(0.5)) {
    lightDefs += `<radialGradient id="vignette" r="0.75"><stop offset="0.5" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${rng.float(0.15, 0.5).toFixed(2)}"/></radialGradient>`;
    lights.push(`<rect width="${width}" height="${height}" fill="url(#vignette)"/>`);
  }
  if (rng.chance(0.5)) {
    const a = rng.float(0, 2 * Math.PI);
    lightDefs += `<linearGradient id="light" x1="${n(0.5 - Math.cos(a) / 2)}" y1="${n(0.5 - Math.sin(a) / 2)}" x2="${n(0.5 + Math.cos(a) / 2)}" y2="${n(0.5 + Math.sin(a) / 2)}"><stop offset="0" stop-color="#fff" stop-opacity="${rng.float(0.05, 0.25).toFixed(2)}"/><stop offset="1" stop-color="#000" stop-opacity="${rng.float(0.05, 0.3).toFixed(2)}"/></linearGradient>`;
    lights.push(`<rect width="${width}" height="${height}" fill="url(#light)"/>`);
  }

  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    `<defs>${bg.defs}${product.defs}${lightDefs}<clipPath id="pc">${product.clip}</clipPath></defs>` +
    bg.body +
    clutter +
    `<g transform="translate(${n(cx)} ${n(cy)}) rotate(${n(tilt)}) scale(${n(scale)}) translate(-50 -50)">` +
    shadow +
    product.body +
    `<g clip-path="url(#pc)">${print}</g>` +
    product.overlay +
    `</g>` +
    lights.join("") +
    `</svg>`;
  const printSize = (artSize * scale) / short;
  return { width, height, svg, product: product.kind, background: bg.kind, smallPrint, withText, printSize };
}
