// The input pipeline on real-size photos: decode + resize (short side 255) + centre crop 224 +
// normalise, ours (sharp, lib/data/preprocess) against PIL + torchvision transforms, over JPEGs
// of 1000x750 generated into a temp folder. Ours is timed one image at a time with libvips on one
// thread (PIL's condition), and as ImageBatches runs it: several images in flight, libvips' threads.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { decodeResized, preprocessSpec, toNormalizedFloat } from "../lib/data/preprocess";
import { mapWithConcurrency } from "../lib/pool";
import { Rng } from "../lib/random";
import { pairedRow, runTorch, timeAsync, torchVersion, type Row } from "./common";

const WIDTH = 1000;
const HEIGHT = 750;
const SIZE = 224;

/** Photo-like JPEGs: smooth colour fields with detail and noise, quality 90, some portrait. */
export async function makePhotos(dir: string, count: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Rng(1000 + i);
    const [w, h] = i % 4 === 3 ? [HEIGHT, WIDTH] : [WIDTH, HEIGHT];
    const raw = Buffer.alloc(w * h * 3);
    const fx = 0.002 + 0.01 * rng.next();
    const fy = 0.002 + 0.01 * rng.next();
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const o = (y * w + x) * 3;
        const base = 128 + 90 * Math.sin(x * fx + i) * Math.cos(y * fy);
        raw[o] = clamp(base + 40 * Math.sin(x * 0.05) + 20 * (rng.next() - 0.5));
        raw[o + 1] = clamp(255 - base + 20 * (rng.next() - 0.5));
        raw[o + 2] = clamp(base * 0.5 + 60 * Math.cos((x + y) * 0.03) + 20 * (rng.next() - 0.5));
      }
    }
    const file = path.join(dir, `photo-${String(i).padStart(3, "0")}.jpg`);
    writeFileSync(file, await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
    files.push(file);
  }
  return files;
}

function clamp(v: number): number {
  return Math.max(0, Math.min(255, Math.round(v)));
}

async function oursPass(files: string[], concurrency: number): Promise<number> {
  const spec = preprocessSpec(SIZE);
  const out = new Float32Array(SIZE * SIZE * 3);
  const { seconds } = await timeAsync(() => mapWithConcurrency(files, concurrency, async (file) => {
    toNormalizedFloat(await decodeResized(file, spec), spec, { out });
  }));
  return files.length / seconds;
}

export interface PipelineResult {
  rows: Row[];
  torch: string;
  images: number;
}

export async function benchPipeline(count: number, rounds: number, log: (line: string) => void): Promise<PipelineResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "charid-bench-photos-"));
  try {
    const files = await makePhotos(dir, count);
    const threads = sharp.concurrency();
    const one: number[] = [];
    const many: number[] = [];
    const pil: number[] = [];
    let torch = "";
    await oursPass(files.slice(0, 4), 1); // warm-up: sharp's first call loads libvips
    for (let i = 0; i < rounds; i++) {
      const t = runTorch("pipeline", { dir, size: SIZE, threads: 1 });
      torch = `${torchVersion(t)}, PIL, 1 thread`;
      pil.push(Number(t.images) / Number(t.seconds));
      sharp.concurrency(1);
      one.push(await oursPass(files, 1));
      sharp.concurrency(threads);
      many.push(await oursPass(files, 4));
      log(`  pipeline round ${i + 1}/${rounds}: sharp 1 thread ${one[i].toFixed(1)}, sharp 4 in flight ${many[i].toFixed(1)}, PIL ${pil[i].toFixed(1)} img/s`);
    }
    const note = `${count} JPEGs ${WIDTH}x${HEIGHT} -> 255 -> 224 crop -> float`;
    return {
      rows: [
        pairedRow("input pipeline, 1 thread", "img/s", one, pil, `${note}; sharp one at a time, libvips 1 thread vs PIL`),
        pairedRow(`input pipeline, ${os.cpus().length} cores`, "img/s", many, pil, `${note}; 4 images in flight (libuv pool), libvips ${threads} thread(s) each, vs PIL 1 thread`),
      ],
      torch,
      images: count,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
