// Fine-tunes of a backbone's top on cached trunk features, one per unfreeze point, to see whether
// validation accuracy in inference mode tracks training: per epoch training accuracy (training mode)
// and validation accuracy, then the training images scored in inference mode. The README's
// BatchNorm-momentum, image-size, freeze-point and threads figures come from it. Each run's row is
// merged into bench/results/fine-tune-<date>.json.
//   npm run bench:fine-tune -- --size 128 --unfreeze 8 --epochs 4 --momentum 0.999
//   npm run bench:fine-tune -- --size 224 --unfreeze 0,2,4,8,12   (notebook 04's unfreeze points)
// Options: --backbone (nsfwjs:mobilenet_v2), --size (224), --unfreeze (8; a comma list runs each), --epochs (4),
// --momentum (loadBackbone's default), --frozen-bn (BatchNorm layers in inference mode throughout),
// --body / --head (Adam rates, 1e-3 / 3e-3), --batch (50, the notebooks'), --threads (defaultTrainingThreads()), --smoothing (label smoothing, 0),
// --manifest (data/splits/embedded.json: run npm start or notebook 01 first).
import * as fs from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { selectBackend } from "../lib/backend";
import { loadBackbone } from "../lib/backbone";
import { readManifest } from "../lib/data/manifest";
import { headAndBody } from "../lib/experiments/train-once";
import { unfreezeTop } from "../lib/models";
import { BatchNorm } from "../lib/models/layers/batch-norm";
import { defaultTrainingThreads, Learner } from "../lib/train/learner";
import { trainingSources } from "../lib/train/training-sources";
import { cpuModel } from "./common";

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      backbone: { type: "string", default: "nsfwjs:mobilenet_v2" },
      size: { type: "string", default: "224" },
      unfreeze: { type: "string", default: "8" },
      epochs: { type: "string", default: "4" },
      momentum: { type: "string" },
      "frozen-bn": { type: "boolean", default: false },
      body: { type: "string", default: "1e-3" },
      head: { type: "string", default: "3e-3" },
      batch: { type: "string", default: "50" },
      threads: { type: "string" },
      smoothing: { type: "string", default: "0" },
      manifest: { type: "string", default: "data/splits/embedded.json" },
    },
  });
  const backend = await selectBackend();
  const manifest = readManifest(values.manifest!);
  const points = values.unfreeze!.split(",").map(Number);
  if (points.some((n) => !Number.isInteger(n))) throw new Error(`--unfreeze takes whole numbers separated by commas, got "${values.unfreeze}"`);
  if (!(Number.isInteger(Number(values.batch)) && Number(values.batch) >= 1)) throw new Error(`--batch takes a whole number >= 1, got "${values.batch}"`);
  const rows: FineTuneRow[] = [];
  for (const unfreeze of points) {
    rows.push(await fineTune(values, manifest, unfreeze));
    saveRows(rows, `${cpuModel()} · tfjs ${backend.device}`); // after each point: a later one that fails keeps the earlier rows
  }
  console.table(rows.map((r) => ({
    unfreeze: r.unfreeze, from: r.freezePoint, "train (training mode)": pct(r.epochs.at(-1)!.train),
    "valid (inference)": pct(r.epochs.at(-1)!.valid), "best valid": pct(Math.max(...r.epochs.map((e) => e.valid))),
    "train (inference)": pct(r.trainInInferenceMode), seconds: Math.round(r.seconds), "wasm heap GiB": heapGiB(r),
  })));
}

interface FineTuneRow {
  backbone: string;
  size: number;
  unfreeze: number;
  freezePoint: string;
  momentum: number | null;
  frozenBatchNorm: boolean;
  rates: { head: number; body: number };
  batchSize: number;
  threads: number;
  labelSmoothing: number;
  data: string;
  epochs: { train: number; valid: number; seconds: number; wasmHeapBytes: number | null }[];
  trainInInferenceMode: number;
  seconds: number;
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
/** The main thread's wasm heap at the end of the last epoch (it never shrinks): the largest it got. */
const heapGiB = (r: FineTuneRow) => {
  const bytes = r.epochs.at(-1)?.wasmHeapBytes;
  return bytes ? (bytes / 2 ** 30).toFixed(2) : "-";
};

async function fineTune(values: Record<string, string | boolean | undefined>, manifest: ReturnType<typeof readManifest>, unfreeze: number): Promise<FineTuneRow> {
  const started = Date.now();
  const epochs = Number(values.epochs);
  const momentum = values.momentum === undefined ? undefined : Number(values.momentum);
  const { model, input } = await loadBackbone(String(values.backbone), {
    numClasses: manifest.classes.length, imageSize: Number(values.size), seed: 1, batchNormMomentum: momentum,
  });
  const freezePoint = unfreezeTop(model, unfreeze);
  if (values["frozen-bn"]) for (const layer of model.layers) if (layer instanceof BatchNorm) layer.trainable = false;
  const sources = await trainingSources({ model, input }, manifest, { batchSize: Number(values.batch), seed: 1, epochs, featureCache: "data/cache/features", label: "fine-tune" });
  const threads = values.threads ? Number(values.threads) : defaultTrainingThreads();
  const rates = { head: Number(values.head), body: Number(values.body) };
  const learner = new Learner({
    model, top: sources.top, classes: manifest.classes, train: sources.train, valid: sources.valid,
    groups: headAndBody(model, rates), parallel: { shares: threads }, labelSmoothing: Number(values.smoothing),
  });
  console.log(`${cpuModel()} · ${values.backbone} @${input.size} · from ${freezePoint || "the input"} · ${threads} thread(s) · label smoothing ${values.smoothing} · ${sources.description}`);
  const history: FineTuneRow["epochs"] = [];
  for (const r of await learner.fit(epochs)) {
    history.push({ train: r.trainAccuracy, valid: r.validAccuracy ?? NaN, seconds: r.seconds, wasmHeapBytes: r.wasmHeapBytes ?? null });
    console.log(`epoch ${r.epoch}: train ${pct(r.trainAccuracy)} (training mode), valid ${pct(r.validAccuracy ?? NaN)}, ${r.seconds.toFixed(1)} s`);
  }
  const trainInInferenceMode = (await learner.evaluate(sources.train)).accuracy;
  console.log(`training images in inference mode: ${pct(trainInInferenceMode)}`);
  await learner.dispose();
  model.dispose(); // the next unfreeze point loads its own
  return {
    backbone: String(values.backbone), size: input.size, unfreeze, freezePoint, momentum: momentum ?? null,
    frozenBatchNorm: values["frozen-bn"] === true, rates, batchSize: Number(values.batch), threads, labelSmoothing: Number(values.smoothing),
    data: sources.description, epochs: history, trainInInferenceMode, seconds: (Date.now() - started) / 1000,
  };
}

/** Merges the rows into today's results file, replacing rows of the same settings. */
function saveRows(rows: FineTuneRow[], machine: string): void {
  const file = path.join("bench", "results", `fine-tune-${new Date().toISOString().slice(0, 10)}.json`);
  const key = (r: FineTuneRow) => JSON.stringify([r.backbone, r.size, r.unfreeze, r.momentum, r.frozenBatchNorm, r.rates, r.batchSize, r.labelSmoothing, r.epochs.length]);
  const previous: FineTuneRow[] = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { rows: FineTuneRow[] }).rows : [];
  const fresh = new Set(rows.map(key));
  const merged = [...previous.filter((r) => !fresh.has(key(r))), ...rows];
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ machine, rows: merged }, null, 2)}\n`);
  fs.renameSync(tmp, file);
  console.log(`saved ${file}`);
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
