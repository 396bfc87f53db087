// Grad-CAM maps drawn over the photo the network saw (the preprocessed centre crop), as PNGs for
// image grids: misclassified images with the maps of the true and the predicted class.
import type * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { ImageBatches } from "../data/batches";
import type { ModelInput } from "../data/input-convention";
import { decodeResized, preprocessSpec } from "../data/preprocess";
import type { SplitModel } from "../models/split";
import type { ImageGroup } from "../plot/image-grid";
import { gradCam, gradCamSplit } from "./grad-cam";

export interface CamRequest {
  file: string;
  /** Classes to map, one overlay each; empty: the predicted class. */
  classes: number[];
}

export interface CamImages {
  file: string;
  /** The centre crop the network saw, as PNG. */
  photo: Buffer;
  /** One PNG per requested class: the map in a jet colour scale blended over the photo. */
  overlays: Buffer[];
  /** The raw maps, [size * size] each, in [0, 1]. */
  maps: Float32Array[];
  probabilities: Float32Array;
}

const splits = new WeakMap<tf.LayersModel, SplitModel>();

/** Grad-CAM overlays for each request, in order; `alpha` is the map's opacity at its peak. */
export async function gradCamOverlays(model: tf.LayersModel, input: ModelInput, requests: readonly CamRequest[], options: { batchSize?: number; alpha?: number } = {}): Promise<CamImages[]> {
  const { batchSize = 16, alpha = 0.6 } = options;
  let split = splits.get(model);
  if (!split) splits.set(model, (split = gradCamSplit(model)));
  const spec = preprocessSpec(input.size, input.convention);
  const results: CamImages[] = [];
  const batches = new ImageBatches(requests.map((r) => ({ file: r.file })), { batchSize, size: input.size, convention: input.convention, onError: "flag", warn: () => undefined });
  for await (const batch of batches) {
    const wanted = batch.indices.map((i) => requests[i].classes);
    const passes = Math.max(1, ...wanted.map((c) => c.length));
    const predicted = gradCam(split, batch.x);
    const perPass = [];
    for (let p = 0; p < passes; p++) {
      const classes = wanted.map((c, row) => (c.length ? c[Math.min(p, c.length - 1)] : predicted.classes[row]));
      perPass.push(classes.every((c, row) => c === predicted.classes[row]) ? predicted : gradCam(split, batch.x, classes));
    }
    batch.x.dispose();
    batch.y.dispose();
    const area = input.size * input.size;
    const k = perPass[0].probabilities.length / batch.indices.length;
    for (const [row, index] of batch.indices.entries()) {
      const photo = await decodeResized(requests[index].file, spec);
      const count = Math.max(1, requests[index].classes.length);
      const maps = perPass.slice(0, count).map((r) => r.maps.slice(row * area, (row + 1) * area));
      results[index] = {
        file: requests[index].file,
        photo: await png(photo, input.size),
        overlays: await Promise.all(maps.map((map) => png(blend(photo, map, alpha), input.size))),
        maps,
        probabilities: perPass[0].probabilities.slice(row * k, (row + 1) * k),
      };
    }
  }
  return results;
}

/** Cards for showImageGrid: photo, then one overlay per class, titled "true → predicted (p)" or "class (p)". */
export function camGroups(images: readonly CamImages[], titles: readonly string[]): ImageGroup[] {
  return images.map((image, i) => ({ title: titles[i], files: [image.photo, ...image.overlays] }));
}

/** The jet colour scale (blue, cyan, yellow, red) at t in [0, 1], as 0..255 RGB. */
export function jet(t: number): [number, number, number] {
  const channel = (offset: number) => Math.round(255 * Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - offset))));
  return [channel(3), channel(2), channel(1)];
}

function blend(photo: Uint8Array, map: Float32Array, alpha: number): Uint8Array {
  const out = new Uint8Array(photo.length);
  for (let p = 0; p < map.length; p++) {
    const colour = jet(map[p]);
    const a = alpha * (0.3 + 0.7 * map[p]);
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round((1 - a) * photo[p * 3 + c] + a * colour[c]);
  }
  return out;
}

function png(pixels: Uint8Array, size: number): Promise<Buffer> {
  return sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}
