import { createHash } from "node:crypto";
import sharp from "sharp";

/** Hex SHA-256 of the exact bytes: equal only for byte-identical files. */
export function contentHash(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

const SAMPLE = 64;
const KEEP = 16;
/** cos((2x + 1) u π / 2N) for u < KEEP, x < SAMPLE: the DCT-II basis, computed once. */
const BASIS = Array.from({ length: KEEP }, (_, u) => Float64Array.from({ length: SAMPLE }, (_, x) => Math.cos(((2 * x + 1) * u * Math.PI) / (2 * SAMPLE))));

/** Bits of a 256-bit perceptual hash, as 64 hex digits. */
export const PERCEPTUAL_HASH_BITS = KEEP * KEEP;

/**
 * Perceptual hash (pHash) of an image: greyscale at 64x64, the 16x16 lowest frequencies of its
 * 2-D DCT, one bit per coefficient (above the median?), 256 bits as hex. Copies of one photo
 * (re-encoded, resized, brightened) stay within about 20 bits; different photos of the embedded
 * dataset, even of one class on similar backgrounds, are at least about 48 bits apart. A 64-bit
 * dHash or 8x8 pHash cannot tell those flat product photos apart, hence the larger hash.
 */
export async function perceptualHash(input: string | Buffer): Promise<string> {
  const pixels = await sharp(input, { failOn: "none" })
    .rotate()
    .flatten({ background: "#ffffff" })
    .greyscale()
    .resize(SAMPLE, SAMPLE, { fit: "fill" })
    .raw()
    .toBuffer();
  // Separable DCT: rows first (SAMPLE x KEEP), then columns (KEEP x KEEP).
  const rows = new Float64Array(SAMPLE * KEEP);
  for (let y = 0; y < SAMPLE; y++) {
    for (let u = 0; u < KEEP; u++) {
      let sum = 0;
      for (let x = 0; x < SAMPLE; x++) sum += pixels[y * SAMPLE + x] * BASIS[u][x];
      rows[y * KEEP + u] = sum;
    }
  }
  const coefficients = new Float64Array(KEEP * KEEP);
  for (let v = 0; v < KEEP; v++) {
    for (let u = 0; u < KEEP; u++) {
      let sum = 0;
      for (let y = 0; y < SAMPLE; y++) sum += rows[y * KEEP + u] * BASIS[v][y];
      coefficients[v * KEEP + u] = sum;
    }
  }
  const median = Float64Array.from(coefficients).sort()[coefficients.length >> 1];
  let hex = "";
  for (let i = 0; i < coefficients.length; i += 4) {
    let nibble = 0;
    for (let j = 0; j < 4; j++) nibble = (nibble << 1) | (coefficients[i + j] > median ? 1 : 0);
    hex += nibble.toString(16);
  }
  return hex;
}

/** Number of differing bits between two hex hashes of the same length. */
export function hammingDistance(a: string, b: string): number {
  if (a.length !== b.length) throw new Error(`hashes of different lengths: ${a} and ${b}`);
  return wordsDistance(hashWords(a), hashWords(b));
}

/** A hex hash as 32-bit words, for fast repeated comparisons. */
export function hashWords(hex: string): Uint32Array {
  const words = new Uint32Array(Math.ceil(hex.length / 8));
  for (let i = 0; i < words.length; i++) words[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16) >>> 0;
  return words;
}

export function wordsDistance(a: Uint32Array, b: Uint32Array): number {
  let distance = 0;
  for (let i = 0; i < a.length; i++) {
    let x = (a[i] ^ b[i]) >>> 0;
    x -= (x >>> 1) & 0x55555555;
    x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
    distance += (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
  }
  return distance;
}
