// Trunk feature extraction, the largest cost of training on cached features (notebooks 03-05 with a
// freeze point): a frozen trunk in inference mode over batches of 32 images, MobileNetV2-1.0 @224
// (this project's mobilenet_v2, the same network as Keras') and InceptionV3 @299 (the Keras one
// nsfwjs bundles), up to global average pooling. Ours: trunkOutput, the call extraction makes, on
// one thread, then ParallelTrunk (whole batches on each of `threads` threads); PyTorch: torchvision's
// model in eval mode under no_grad with as many intra-op threads.
import * as tf from "@tensorflow/tfjs";
import { activeBlasLabel, withoutBlas } from "../lib/backends/wasm-training/blas-products";
import { buildModel, freezeBefore, loadNsfwjsBackbone, splitAtFreezePoint } from "../lib/models";
import { ParallelTrunk } from "../lib/parallel/parallel-trunk";
import { trunkOutput } from "../lib/parallel/trunk-protocol";
import { pairedRow, runTorch, timeAsync, timeSteps, torchVersion, type Row } from "./common";

interface ExtractCase {
  arch: "mobilenet_v2" | "inception_v3";
  label: string;
  size: number;
  /** Timed batches per thread and round (after one warm-up batch per thread). */
  steps: number;
}

const CASES: ExtractCase[] = [
  { arch: "mobilenet_v2", label: "MobileNetV2-1.0 @224", size: 224, steps: 3 },
  { arch: "inception_v3", label: "InceptionV3 @299", size: 299, steps: 1 },
];
const BATCH = 32;

/** The trunk as a notebook caches it: every layer before the new head (pooling included), frozen. */
async function trunkOf(c: ExtractCase): Promise<{ trunk: tf.LayersModel; model: tf.LayersModel }> {
  const model = c.arch === "mobilenet_v2"
    ? buildModel("mobilenet_v2", { inputSize: c.size, numClasses: 1000, seed: 0 })
    : (await loadNsfwjsBackbone("inception_v3", { numClasses: 1000, inputSize: c.size, seed: 0 })).model;
  freezeBefore(model, c.arch === "mobilenet_v2" ? "classifier" : "predictions");
  return { trunk: splitAtFreezePoint(model)!.trunk, model };
}

/** `count` batches of the same images, as the extraction loop receives them. */
function batchesOf(x: tf.Tensor, count: number): AsyncIterable<{ x: tf.Tensor }> {
  return {
    async *[Symbol.asyncIterator]() {
      for (let i = 0; i < count; i++) yield { x: x.clone() };
    },
  };
}

interface ExtractRound {
  /** Images per second. */
  one: number;
  many?: number;
  /** Ours on one thread with our wasm kernels computing the matrix products, when BLAS computes them otherwise. */
  noBlas?: number;
}

export interface ExtractResult {
  rows: Row[];
  torch: string;
  details: { case: string; ours: ExtractRound; torch: ExtractRound; workerStartSeconds?: number }[];
}

export async function benchExtract(rounds: number, threads: number, log: (line: string) => void): Promise<ExtractResult> {
  const result: ExtractResult = { rows: [], torch: "", details: [] };
  for (const c of CASES) {
    const { trunk, model } = await trunkOf(c);
    const x = tf.randomUniform([BATCH, c.size, c.size, 3], 0, 1, "float32", 1);
    const started = await timeAsync(() => ParallelTrunk.start(trunk, threads));
    const pool = started.value;
    const ours: ExtractRound[] = [];
    const torch: ExtractRound[] = [];
    try {
      for (let i = 0; i < rounds; i++) {
        const options = { arch: c.arch, size: c.size, batch: BATCH, warmup: 1, steps: c.steps };
        const t1 = runTorch("trunk", { ...options, threads: 1 });
        result.torch = `${torchVersion(t1)}, eval mode, no_grad`;
        const t2 = threads > 1 ? runTorch("trunk", { ...options, threads }) : undefined;
        torch.push({ one: BATCH / Number(t1.step_s), many: t2 && BATCH / Number(t2.step_s) });
        const one = BATCH / timeSteps(() => void trunkOutput(trunk, x), 1, c.steps).wall;
        const noBlas = activeBlasLabel() ? await withoutBlas(async () => BATCH / timeSteps(() => void trunkOutput(trunk, x), 1, c.steps).wall) : undefined;
        let many: number | undefined;
        if (threads > 1) {
          await pool.run(batchesOf(x, threads), () => undefined); // warms every thread up
          const timed = await timeAsync(() => pool.run(batchesOf(x, threads * c.steps), () => undefined));
          many = (threads * c.steps * BATCH) / timed.seconds;
        }
        ours.push({ one, many, noBlas });
        result.details.push({ case: c.label, ours: ours[i], torch: torch[i], workerStartSeconds: threads > 1 ? started.seconds : undefined });
        log(`  ${c.label} round ${i + 1}/${rounds}: 1 thread ${one.toFixed(1)} vs ${torch[i].one.toFixed(1)} img/s` +
          (many ? `; ${threads} threads ${many.toFixed(1)} vs ${torch[i].many!.toFixed(1)} img/s (ours vs PyTorch)` : "") +
          (noBlas ? `; ours without BLAS, 1 thread: ${noBlas.toFixed(1)} img/s` : ""));
      }
    } finally {
      await pool.close();
      x.dispose();
      model.dispose();
    }
    const rates = (rs: ExtractRound[], pick: (r: ExtractRound) => number | undefined) => rs.map((r) => pick(r)!);
    result.rows.push(pairedRow(`${c.label} trunk features, 1 thread each`, "img/s", rates(ours, (r) => r.one), rates(torch, (r) => r.one), `batch ${BATCH}, inference mode; ours: trunkOutput (what extractFeatures runs)`));
    if (ours[0].noBlas) {
      result.rows.push(pairedRow(`${c.label} trunk features, 1 thread each, our kernels' matrix products (no BLAS)`, "img/s", rates(ours, (r) => r.noBlas), rates(torch, (r) => r.one),
        `batch ${BATCH}; ours: trunkOutput with our wasm kernels computing the products, in turns with ${activeBlasLabel()}`));
    }
    if (threads > 1) {
      result.rows.push(pairedRow(`${c.label} trunk features, ${threads} threads each`, "img/s", rates(ours, (r) => r.many), rates(torch, (r) => r.many),
        `batch ${BATCH}; ours: ParallelTrunk, whole batches per thread (worker start ${started.seconds.toFixed(1)} s not counted); PyTorch intra-op threads ${threads}`, threads));
    }
  }
  return result;
}
