// Test-time augmentation on cached trunk features: each view (a brightness factor, the mirror image,
// a corner crop zoomed back to the input size) is a deterministic transform of the preprocessed
// image, so its trunk features are computed once per image list and cached like the others.
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { ImageBatches, type BatchImage } from "../data/batches";
import { readBytesInto, writeFileAtomic, writeJsonAtomic } from "../io";
import { defaultShares } from "../parallel/parallel-trunk";
import { progress } from "../progress";
import { featureKey, trunkRowsInto, type FeatureCacheOptions, type FeatureSet } from "../train/feature-cache";
import { withBrightness } from "../train/predict";

/**
 * "brightness:0.9", "hflip", "crop:0.875:tl" (a zoom into the crop: tl, tr, bl, br or c), or
 * "window:0" (the crop at that position along the photo's long side, see PreprocessSpec.window).
 */
export type TtaView = string;

/** Named settings, each a set of views averaged with the plain prediction (the centre crop). */
export const TTA_SETTINGS: Record<string, TtaView[]> = {
  windows: ["window:0", "window:1"],
  brightness: ["brightness:0.9", "brightness:1.1"],
  flip: ["hflip"],
  "multi-crop": ["crop:0.875:tl", "crop:0.875:tr", "crop:0.875:bl", "crop:0.875:br"],
};

/** The view applied to a batch of preprocessed images (NHWC, the model's input convention). */
export function applyView(x: tf.Tensor4D, view: TtaView, convention?: FeatureCacheOptions["convention"]): tf.Tensor4D {
  const [kind, a, b] = view.split(":");
  if (kind === "brightness") {
    const factor = Number(a);
    if (!(factor > 0)) throw new Error(`TTA view ${view}: the brightness factor must be > 0`);
    return withBrightness(x, factor, convention);
  }
  if (kind === "hflip") return tf.reverse(x, 2);
  if (kind === "window") throw new Error(`TTA view ${view} is a different crop of the photo: it is taken while decoding (viewFeatures), not from a batch`);
  if (kind === "crop") {
    const scale = Number(a);
    if (!(scale > 0 && scale <= 1)) throw new Error(`TTA view ${view}: the crop scale must be in (0, 1]`);
    const [y0, x0] = ({ tl: [0, 0], tr: [0, 1 - scale], bl: [1 - scale, 0], br: [1 - scale, 1 - scale], c: [(1 - scale) / 2, (1 - scale) / 2] } as Record<string, number[]>)[b] ?? [];
    if (y0 === undefined) throw new Error(`TTA view ${view}: the crop position must be tl, tr, bl, br or c`);
    const n = x.shape[0];
    // Normalised box [y1, x1, y2, x2]: the window covering `scale` of each side, bilinear back to full size.
    const boxes = tf.tensor2d(Array.from({ length: n }, () => [y0, x0, y0 + scale, x0 + scale]), [n, 4]);
    const boxIndices = tf.tensor1d(Array.from({ length: n }, (_, i) => i), "int32");
    const out = tf.image.cropAndResize(x, boxes, boxIndices, [x.shape[1], x.shape[2]], "bilinear");
    tf.dispose([boxes, boxIndices]);
    return out;
  }
  throw new Error(`unknown TTA view ${view} (brightness:<factor>, hflip, crop:<scale>:<tl|tr|bl|br|c>, window:<0 to 1>)`);
}

/** The trunk's features of `items` seen through `view`, cached under the plain key plus the view. */
export async function viewFeatures(trunk: tf.LayersModel, items: readonly BatchImage[], view: TtaView, options: FeatureCacheOptions & { digest: string }): Promise<FeatureSet> {
  const key = createHash("sha256").update(`${featureKey(options.digest, items, { ...options, augment: undefined }, 0)}|tta:${view}`).digest("hex").slice(0, 32);
  const base = path.join(options.dir, key);
  const shape = trunk.outputs[0].shape.slice(1) as number[];
  const rowSize = shape.reduce((a, b) => a * b, 1);
  try {
    const meta = JSON.parse(fs.readFileSync(`${base}.json`, "utf8")) as { count: number; failed: number[] };
    const data = meta.count === items.length ? new Float32Array(items.length * rowSize) : undefined;
    if (data && readBytesInto(`${base}.f32`, new Uint8Array(data.buffer))) {
      return { key, shape, count: items.length, data, failed: meta.failed, fromDisk: true, seconds: 0, threads: 0 };
    }
  } catch {
    // not cached yet
  }
  const started = Date.now();
  const data = new Float32Array(items.length * rowSize);
  const batchSize = options.batchSize ?? 32;
  const shares = options.shares ?? defaultShares(Math.ceil(items.length / batchSize));
  const bar = progress(`trunk features: ${options.label ?? "images"} seen as ${view}`, items.length, "images");
  const window = view.startsWith("window:") ? Number(view.slice("window:".length)) : undefined;
  const batches = new ImageBatches(items, { batchSize, size: options.size, convention: options.convention, window, cache: options.decodeCache, onError: "flag", warn: () => undefined });
  async function* viewed() {
    for await (const batch of batches) {
      if (window !== undefined) {
        yield batch;
        continue;
      }
      const x = applyView(batch.x, view, options.convention);
      batch.x.dispose();
      yield { ...batch, x };
    }
  }
  const failed = await trunkRowsInto(trunk, viewed(), shares, data, bar);
  bar.finish();
  const seconds = (Date.now() - started) / 1000;
  fs.mkdirSync(options.dir, { recursive: true });
  writeFileAtomic(`${base}.f32`, new Uint8Array(data.buffer));
  writeJsonAtomic(`${base}.json`, { key, view, count: items.length, failed, seconds, created: new Date().toISOString() });
  return { key, shape, count: items.length, data, failed, fromDisk: false, seconds, threads: shares };
}
