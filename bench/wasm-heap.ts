// npm run bench:heap -- how much of wasm32's 4 GiB heap one training step and one inference batch
// take, for the backbones the notebooks use, at their native sizes. Each measurement runs in a
// fresh process (the heap grows and never shrinks, so its size after the step is the step's peak).
// Training: every layer trainable, one Adam, the Learner's step. From batches 8 and 16 (4 and 8 when
// 16 does not fit) the script fits heap = base + batch x per-image and states the largest batch that fits.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { selectBackend, WASM_HEAP_LIMIT_BYTES, wasmHeapBytes } from "../lib/backend";
import { foldedInference } from "../lib/backends/folded-inference";
import { buildBackbone, buildModel } from "../lib/models";
import { explainingHeapExhaustion, formatGiB, Learner, WasmHeapFullError, type BatchSource } from "../lib/train";
import { cpuModel } from "./common";

interface Case { key: string; label: string; size: number }

const CASES: Case[] = [
  { key: "mobilenet_v2_0.5", label: "MobileNetV2-0.5 (embedded backbone)", size: 96 },
  { key: "mobilenet_v2_1.0", label: "MobileNetV2-1.0", size: 96 },
  { key: "nsfwjs:mobilenet_v2", label: "MobileNetV2-1.0 (Keras, nsfwjs)", size: 224 },
  { key: "nsfwjs:inception_v3", label: "InceptionV3 (Keras, nsfwjs)", size: 299 },
  { key: "resnet50", label: "ResNet-50", size: 224 },
];
/** What notebooks 03-05 train with, and notebook 06 predicts with. */
const TRAIN_BATCH = 50;
const PREDICT_BATCH = 64;

type Mode = "train" | "predict";
interface Measurement { heap?: number; error?: string; seconds: number }

async function model(key: string, size: number): Promise<tf.LayersModel> {
  if (key.startsWith("mobilenet_v2_")) return buildModel("mobilenet_v2", { widthMultiplier: Number(key.slice(13)), inputSize: size, seed: 1 });
  if (key === "resnet50") return buildModel("resnet50", { inputSize: size, seed: 1 });
  // The trunk with a new head, as the notebooks train it (nsfwjs's own head is far heavier).
  return buildBackbone(key, 42, { inputSize: size, seed: 1 });
}

function oneBatch(batch: number, size: number): BatchSource {
  return {
    size: batch,
    async *batches() {
      yield { x: tf.randomUniform([batch, size, size, 3], 0, 1, "float32", 1), y: tf.zeros([batch], "int32") as tf.Tensor1D };
    },
  };
}

async function measure(key: string, size: number, batch: number, mode: Mode): Promise<Measurement> {
  await selectBackend("wasm", () => {});
  const net = await model(key, size);
  const classes = Array.from({ length: (net.outputs[0].shape as number[])[1] }, (_, i) => `c${i}`);
  const started = Date.now();
  try {
    if (mode === "train") {
      const learner = new Learner({ model: net, groups: [{ name: "all", variables: net.trainableWeights, lr: 1e-4 }], train: oneBatch(batch, size), classes });
      await learner.fit(1);
    } else {
      const folded = foldedInference(net);
      const x = tf.randomUniform([batch, size, size, 3]);
      explainingHeapExhaustion(() => (folded.predict(x) as tf.Tensor).dataSync(), `predicting a batch of ${batch}`);
    }
    return { heap: wasmHeapBytes(), seconds: (Date.now() - started) / 1000 };
  } catch (error) {
    if (error instanceof WasmHeapFullError) return { error: "does not fit", seconds: (Date.now() - started) / 1000 };
    throw error;
  }
}

function inChild(key: string, size: number, batch: number, mode: Mode): Measurement {
  const run = spawnSync(process.execPath, ["--import", "tsx", __filename, "--child", key, String(size), String(batch), mode], { encoding: "utf8" });
  const line = run.stdout.split("\n").find((l) => l.startsWith("{"));
  if (!line) throw new Error(`measuring ${key} @${size} batch ${batch} (${mode}) failed (exit ${run.status}):\n${run.stderr.slice(-3000)}`);
  return JSON.parse(line) as Measurement;
}

const gib = (m: Measurement) => (m.heap === undefined ? m.error! : formatGiB(m.heap));

function main(): void {
  console.log(`wasm heap per step (limit ${formatGiB(WASM_HEAP_LIMIT_BYTES)}) · ${cpuModel()}`);
  const rows = [];
  for (const c of CASES) {
    let [small, large] = [inChild(c.key, c.size, 8, "train"), inChild(c.key, c.size, 16, "train")];
    let step = 8;
    if (large.heap === undefined) [small, large, step] = [inChild(c.key, c.size, 4, "train"), small, 4];
    let largest: number | undefined;
    if (small.heap !== undefined && large.heap !== undefined) {
      const perImage = (large.heap - small.heap) / step;
      largest = Math.floor((WASM_HEAP_LIMIT_BYTES - (small.heap - step * perImage)) / perImage);
    }
    const train = inChild(c.key, c.size, TRAIN_BATCH, "train");
    const predict = inChild(c.key, c.size, PREDICT_BATCH, "predict");
    const row = {
      model: `${c.label} @${c.size}`, [`train batch ${step}`]: gib(small), [`train batch ${2 * step}`]: gib(large),
      [`train batch ${TRAIN_BATCH}`]: gib(train), "largest train batch (fit)": largest ?? "-", [`predict batch ${PREDICT_BATCH}`]: gib(predict),
    };
    console.log(JSON.stringify(row));
    rows.push({ ...row, seconds: { small: small.seconds, large: large.seconds, train: train.seconds, predict: predict.seconds } });
  }
  const file = path.join(__dirname, "results", `wasm-heap-${new Date().toISOString().slice(0, 10)}.json`);
  fs.writeFileSync(file, JSON.stringify({ machine: cpuModel(), limitBytes: WASM_HEAP_LIMIT_BYTES, rows }, null, 2) + "\n");
  console.log(`written to ${path.relative(process.cwd(), file)}`);
}

if (process.argv[2] === "--child") {
  const [key, size, batch, mode] = process.argv.slice(3);
  measure(key, Number(size), Number(batch), mode as Mode).then((m) => console.log(JSON.stringify(m)), (error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main();
}
