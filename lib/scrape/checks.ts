// What a downloaded body must pass before it is kept: it decodes completely with sharp (no
// HTML error page, no truncated file, no decompression bomb), it is big enough, and it is
// normalised to an upright sRGB JPEG so the training pipeline sees one format.
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { inspectImage } from "../data/validate";
import { contentHash, perceptualHash } from "./hashes";

export interface CheckOptions {
  /** Images whose shorter side is below this are rejected. */
  minSide?: number;
  /** Images with more pixels are rejected before decoding (decompression bombs). */
  maxPixels?: number;
  /** Larger images are scaled down to this longer side when normalised (0: keep the size). */
  maxSide?: number;
  jpegQuality?: number;
}

export type CheckResult =
  | { ok: true; jpeg: Buffer; width: number; height: number; format: string; sha256: string; phash: string }
  | { ok: false; kind: "not-an-image" | "truncated" | "too-small" | "decompression-bomb" | "empty" | "undecodable"; reason: string };

function rejectionKind(reason: string): "not-an-image" | "truncated" | "too-small" | "decompression-bomb" | "empty" | "undecodable" {
  if (/^empty file/.test(reason)) return "empty";
  if (/^not an image/.test(reason)) return "not-an-image";
  if (/truncated/.test(reason)) return "truncated";
  if (/minimum side/.test(reason)) return "too-small";
  if (/decompression bomb/.test(reason)) return "decompression-bomb";
  return "undecodable";
}

/**
 * Checks a downloaded body (written to `scratchFile` for the decoder) and returns the normalised
 * JPEG with its hashes: SHA-256 of the bytes as served, perceptual hash of the picture.
 */
export async function checkImage(body: Buffer, scratchFile: string, contentType: string, options: CheckOptions = {}): Promise<CheckResult> {
  fs.mkdirSync(path.dirname(scratchFile), { recursive: true });
  fs.writeFileSync(scratchFile, body);
  try {
    const inspection = await inspectImage(scratchFile, { minSide: options.minSide ?? 64, maxPixels: options.maxPixels });
    if (inspection.ok === false) {
      const served = contentType && !contentType.startsWith("image/") ? ` (served as ${contentType.split(";")[0]})` : "";
      return { ok: false, kind: rejectionKind(inspection.reason), reason: inspection.reason + served };
    }
    const maxSide = options.maxSide ?? 1024;
    let pipeline = sharp(scratchFile, { limitInputPixels: options.maxPixels ?? 100_000_000 }).rotate();
    if (maxSide > 0) pipeline = pipeline.resize(maxSide, maxSide, { fit: "inside", withoutEnlargement: true });
    const { data, info } = await pipeline
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .jpeg({ quality: options.jpegQuality ?? 90 })
      .toBuffer({ resolveWithObject: true });
    return { ok: true, jpeg: data, width: info.width, height: info.height, format: inspection.info.format, sha256: contentHash(body), phash: await perceptualHash(data) };
  } finally {
    fs.rmSync(scratchFile, { force: true });
  }
}
