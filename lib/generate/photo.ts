/**
 * Turns a scene SVG into a "photo": render, mild blur, exposure (the main
 * photo-to-photo variation), slight white balance, sensor noise, JPEG.
 * Noise comes from a seeded tile, not sharp's own unseeded noise, so output
 * stays byte-identical for a seed.
 */
import sharp from "sharp";
import { Rng } from "../random";

export interface PhotoParams {
  /** Exposure in stops: the image is multiplied by 2^ev (clipping highlights). */
  ev: number;
  gamma: number;
  /** Haze / black level lift, 0..1. */
  lift: number;
  whiteBalance: [number, number, number];
  /** Gaussian blur sigma in pixels, 0 for none. */
  blur: number;
  /** Standard deviation of the noise, in 0..255 levels. */
  noise: number;
  noiseOffset: [number, number];
  quality: number;
}

const TILE = 256; // power of two, so wrapping is a mask
const TILE_STD = 40;

/** Seeded Gaussian noise, stored as int8 with standard deviation TILE_STD. */
export function makeNoiseTile(seed: number): Int8Array {
  const rng = new Rng(seed);
  const tile = new Int8Array(TILE * TILE);
  for (let i = 0; i < tile.length; i++) tile[i] = Math.max(-127, Math.min(127, Math.round(rng.normal() * TILE_STD)));
  return tile;
}

export function samplePhoto(rng: Rng): PhotoParams {
  // Mostly moderate exposure errors, often strong ones: dim rooms, blown-out flash.
  const ev = rng.chance(0.6) ? Math.max(-1.6, Math.min(0.7, rng.normal() * 0.45)) : rng.float(-1.6, 0.7);
  const wb = (): number => 1 + Math.max(-0.06, Math.min(0.06, rng.normal() * 0.025));
  const blur = rng.chance(0.3) ? 0 : rng.chance(0.1) ? rng.float(1.2, 1.8) : rng.float(0.3, 1.1);
  return {
    ev,
    gamma: rng.float(0.8, 1.25),
    lift: rng.chance(0.4) ? rng.float(0, 0.08) : 0,
    whiteBalance: [wb(), wb(), wb()],
    blur,
    noise: rng.float(1, 4) + (ev < -0.7 ? rng.float(0, 3) : 0),
    noiseOffset: [rng.int(0, TILE - 1), rng.int(0, TILE - 1)],
    quality: rng.int(55, 95),
  };
}

function exposureLut(p: PhotoParams, channel: number): Float32Array {
  const gain = Math.pow(2, p.ev) * p.whiteBalance[channel];
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) {
    const x = Math.min(1, gain * Math.pow(v / 255, p.gamma));
    lut[v] = 255 * (p.lift + (1 - p.lift) * x);
  }
  return lut;
}

/** Applies exposure, white balance and noise in place to interleaved RGB. */
function develop(rgb: Buffer, width: number, height: number, p: PhotoParams, tile: Int8Array): void {
  const luts = [exposureLut(p, 0), exposureLut(p, 1), exposureLut(p, 2)];
  const [r, g, b] = luts;
  const px = new Uint8ClampedArray(rgb.buffer, rgb.byteOffset, rgb.length);
  const k = p.noise / TILE_STD;
  const [ox, oy] = p.noiseOffset;
  let i = 0;
  for (let y = 0; y < height; y++) {
    const row = ((y + oy) & (TILE - 1)) * TILE;
    for (let x = 0; x < width; x++) {
      const t = tile[row + ((x + ox) & (TILE - 1))] * k;
      px[i] = r[px[i]] + t;
      px[i + 1] = g[px[i + 1]] + t;
      px[i + 2] = b[px[i + 2]] + t;
      i += 3;
    }
  }
}

/** Renders the SVG scene and returns the finished JPEG. */
export async function renderPhoto(svg: string, p: PhotoParams, tile: Int8Array): Promise<Buffer> {
  let pipeline = sharp(Buffer.from(svg)).removeAlpha();
  if (p.blur >= 0.3) pipeline = pipeline.blur(p.blur);
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`expected RGB from the scene render, got ${info.channels} channels`);
  develop(data, info.width, info.height, p, tile);
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .jpeg({ quality: p.quality, chromaSubsampling: p.quality >= 90 ? "4:4:4" : "4:2:0" })
    .toBuffer();
}
