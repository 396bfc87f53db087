// The backbone table of the README: notebook 05 with the main job's recipe, then notebook 06, once
// per backbone, each from a cold feature cache of its own; validation accuracy of the kept
// checkpoint, accuracy of the submission against the embedded answer key, notebook 05's wall time
// and the trunk's feature-extraction rate as notebook 05 reported it.
//   npm run bench:backbones                      # every row (about 40 min on 2 cores)
//   npm run bench:backbones -- --only 224,299    # rows whose label contains one of these
//   npm run bench:backbones -- --only 299 -p draws=1 -p labelSmoothing=0   # another recipe for notebook 05
// Each row records the recipe it was measured with; rows measured earlier the same day stay until
// their label is measured again.
import * as fs from "node:fs";
import * as path from "node:path";
import { projectRoot } from "../lib/jupyter/kernelspec";
import { runNotebook, type Params, type RunResult } from "../lib/runner";
import { MAIN_JOB_PARAMS } from "../scripts/main-job-params";
import { scoreSubmissionFile } from "../scripts/main-own-data";
import { cpuModel, paramOverrides } from "./common";

const NSFWJS_MOBILENET = { backbone: "nsfwjs:mobilenet_v2", weightsFile: "", freezePoint: "block.10", groupRates: { "block.10:": 1e-3, predictions: 3e-3 } };

/** Notebook 05's parameters per row, on top of the main job's. */
const ROWS: { label: string; params: Params }[] = [
  { label: "random init (nsfwjs MobileNetV2 architecture) @224", params: { ...NSFWJS_MOBILENET, weightsFile: "random", imageSize: 224 } },
  {
    label: "synthetic embedded MobileNetV2-0.5 @96 (all layers)",
    params: { backbone: "mobilenet_v2", widthMultiplier: 0.5, weightsFile: "embedded", imageSize: 96, freezePoint: "", groupRates: { "features.0:18": 1e-3, "features.18": 1e-3, classifier: 3e-3 } },
  },
  { label: "nsfwjs MobileNetV2 @96", params: { ...NSFWJS_MOBILENET, imageSize: 96 } },
  { label: "nsfwjs MobileNetV2 @160", params: { ...NSFWJS_MOBILENET, imageSize: 160 } },
  { label: "nsfwjs MobileNetV2 @224", params: { ...NSFWJS_MOBILENET, imageSize: 224 } },
  { label: "nsfwjs InceptionV3 @299", params: { backbone: "nsfwjs:inception_v3", weightsFile: "", imageSize: 299, freezePoint: "mixed.9", groupRates: { "mixed.9:": 1e-3, predictions: 3e-3 } } },
];

interface RowResult {
  label: string;
  params: Params;
  /** Notebook 05's settings on top of its defaults, besides the row's own params. */
  recipe: Params;
  validAccuracy: number;
  bestEpoch: number;
  testAccuracy: number;
  notebook05Seconds: number;
  /** Trunk features per second while notebook 05 extracted them (absent when it trains on images). */
  extractionImagesPerSecond?: number;
  extractionThreads?: number;
}

const root = projectRoot();
const answerKey = "data/embedded/test_answers.csv";

async function measure(label: string, params: Params, recipe: Params): Promise<RowResult> {
  const slug = label.replace(/[^a-z0-9]+/gi, "-").toLowerCase();
  const work = path.join(root, "data", "bench", "backbones", slug);
  fs.rmSync(work, { recursive: true, force: true }); // a cold feature cache, no checkpoint to resume
  const dirs = { checkpointDir: path.join(work, "checkpoints"), modelDir: path.join(work, "model"), featureCache: path.join(work, "features") };
  const runsRoot = path.join(root, "runs", "bench-backbones");
  const training = await runNotebook({ notebook: "notebooks/05-lr-schedule-training.ipynb", params: { ...recipe, ...params, ...dirs }, runsRoot, label: slug });
  const outDir = path.join(work, "submission");
  await runNotebook({ notebook: "notebooks/06-submission.ipynb", params: { ...MAIN_JOB_PARAMS["06"], modelDir: dirs.modelDir, outDir, answerKey }, runsRoot, label: slug });
  const history = JSON.parse(fs.readFileSync(path.join(dirs.checkpointDir, "history.json"), "utf8")) as { epoch: number; validLoss: number; validAccuracy: number }[];
  const best = history.reduce((a, b) => (b.validLoss < a.validLoss ? b : a));
  const test = scoreSubmissionFile(path.join(outDir, "submission.csv"), path.join(root, answerKey));
  return { label, params, recipe, validAccuracy: best.validAccuracy, bestEpoch: best.epoch, testAccuracy: test.accuracy, notebook05Seconds: training.seconds, ...extractionRate(training) };
}

/** From notebook 05's description of its batches: "train 1867 images x 3 draws, computed in 41.0 s on 2 threads; valid 467 images x 3 windows, ...". */
function extractionRate(run: RunResult): { extractionImagesPerSecond?: number; extractionThreads?: number } {
  const text = fs.readFileSync(run.executedNotebook, "utf8");
  let images = 0;
  let seconds = 0;
  let threads = 0;
  for (const m of text.matchAll(/(?:train|valid) (\d+) images(?: x (\d+) draws)?(?: x (\d+) windows)?, computed in ([\d.]+) s on (\d+) thread/g)) {
    images += Number(m[1]) * Number(m[2] ?? 1) * Number(m[3] ?? 1);
    seconds += Number(m[4]);
    threads = Math.max(threads, Number(m[5]));
  }
  return seconds > 0 ? { extractionImagesPerSecond: images / seconds, extractionThreads: threads } : {};
}

function table(rows: RowResult[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const lines = [
    "| backbone | validation (best epoch) | test (answer key) | notebook 05 | trunk img/s (extraction) | notebook 05 recipe |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows.map((r) => `| ${r.label} | ${pct(r.validAccuracy)} (${r.bestEpoch}) | ${pct(r.testAccuracy)} | ${Math.round(r.notebook05Seconds)} s | ${r.extractionImagesPerSecond ? `${r.extractionImagesPerSecond.toFixed(1)} on ${r.extractionThreads} thread(s)` : "— (trains on images)"} | ${JSON.stringify(r.recipe)} |`),
  ];
  return lines.join("\n");
}

async function main(): Promise<void> {
  const onlyAt = process.argv.indexOf("--only");
  const only = onlyAt >= 0 ? process.argv[onlyAt + 1].split(",") : undefined;
  const rows = ROWS.filter((row) => !only || only.some((o) => row.label.includes(o)));
  const recipe: Params = { ...MAIN_JOB_PARAMS["05"], ...paramOverrides() };
  if (!fs.existsSync(path.join(root, answerKey))) throw new Error(`${answerKey} is missing: run npm start (or npm run generate and notebook 01) first`);
  console.log(`backbone table on ${cpuModel()}: notebook 05 with ${JSON.stringify(recipe)}, then notebook 06`);
  const results: RowResult[] = [];
  for (const row of rows) {
    console.log(`\n=== ${row.label}`);
    results.push(await measure(row.label, row.params, recipe));
    console.log(table(results.slice(-1)));
  }
  // Rows measured earlier the same day stay (an --only run adds or replaces its rows).
  const out = path.join(root, "bench", "results", `backbones-${new Date().toISOString().slice(0, 10)}.json`);
  const earlier = fs.existsSync(out) ? (JSON.parse(fs.readFileSync(out, "utf8")) as { rows: RowResult[] }) : undefined;
  const kept = (earlier?.rows ?? []).filter((r) => !results.some((n) => n.label === r.label));
  const all = ROWS.map((row) => [...kept, ...results].find((r) => r.label === row.label)).filter((r): r is RowResult => r !== undefined);
  const tmp = `${out}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ cpu: cpuModel(), rows: all }, null, 2));
  fs.renameSync(tmp, out);
  console.log(`\n${table(all)}\n\nwritten to ${path.relative(root, out)}`);
}

main().catch((error: Error) => {
  console.error(error.stack ?? error.message);
  process.exit(1);
});
