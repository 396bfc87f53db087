// Notebook 02 end to end through the real kernel, as the main job runs it: the embedded search
// engine over a generated dataset's held-back photos, every check, the model-assisted review with
// a saved classifier, and the expanded manifest.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { buildManifest, readManifest, scanDataset, stratifiedSplit, writeManifest } from "../lib/data";
import { generateDataset } from "../lib/generate";
import { runNotebook, type RunResult } from "../lib/runner";
import { ScrapeStore } from "../lib/scrape";
import { saveClassifier } from "../lib/train/export";

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-nb02-"));
const [dataDir, manifestPath, outDir, expandedManifestPath, modelDir] = ["dataset", "split.json", "scraped", "expanded.json", "model"].map((name) => path.join(work, name));
let run: RunResult;

/** A classifier that answers "alien" for every image (probability about 0.78). */
async function saveAlienClassifier(classes: string[]): Promise<void> {
  const input = tf.input({ shape: [32, 32, 3] });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor;
  const head = tf.layers.dense({ units: classes.length, name: "fc" });
  const model = tf.model({ inputs: input, outputs: head.apply(pooled) as tf.SymbolicTensor });
  head.setWeights([tf.zeros([3, classes.length]), tf.tensor1d(classes.map((c) => (c === "alien" ? 5 : 0)))]);
  await saveClassifier(modelDir, model, { classes, input: { size: 32, convention: "torchvision" }, backbone: "test" });
}

test.before(async () => {
  await generateDataset({ outDir: dataDir, imagesPerClass: 3, testSize: 30, heldBackPerClass: 3, seed: 8, onProgress: () => {} });
  const scan = await scanDataset(dataDir);
  writeManifest(manifestPath, buildManifest(scan, stratifiedSplit(scan.images, { validFraction: 0.3, seed: 2 }), { seed: 2, validFraction: 0.3 }));
  await saveAlienClassifier(scan.classes);
  run = await runNotebook({
    notebook: "notebooks/02-scraping.ipynb",
    params: { manifestPath, outDir, expandedManifestPath, reviewModelDir: modelDir, rejectImplausible: true, galleryPerClass: 3 },
    runsRoot: path.join(work, "runs"),
    quiet: true,
  });
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

const text = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join("") : value ?? "");

function outputs(): Output[] {
  const nb = JSON.parse(fs.readFileSync(run.executedNotebook, "utf8"));
  return nb.cells.flatMap((cell: { outputs?: Output[] }) => cell.outputs ?? []);
}

test("notebook 02 scrapes every class from the embedded engine and rejects each hazard with its reason", () => {
  assert.equal(run.status, "ok");
  const records = new ScrapeStore(outDir).allDownloads();
  assert.equal(new Set(records.map((r) => r.label)).size, 42);
  const kinds = new Set(records.flatMap((r) => (r.rejection ? [r.rejection.kind] : [])));
  for (const kind of ["robots", "http-status", "too-small", "truncated", "not-an-image", "empty", "exact-duplicate", "near-duplicate-test"]) assert.ok(kinds.has(kind), kind);
  assert.ok(records.filter((r) => r.status === "saved").length >= 42 * 3, "the held-back photos are kept");
});

test("the expanded manifest adds the kept images the model did not flag; validation is unchanged", () => {
  const base = readManifest(manifestPath);
  const expanded = readManifest(expandedManifestPath) as ReturnType<typeof readManifest> & { scraped: { file: string; label: string }[] };
  const abs = (m: typeof base, list: typeof base.valid) => list.map((i) => path.join(m.root, i.file)).sort();
  assert.deepEqual(abs(expanded, expanded.valid), abs(base, base.valid));
  assert.equal(expanded.train.length, base.train.length + expanded.scraped.length);
  assert.ok(expanded.scraped.length >= 3, "the alien images stay");
  assert.ok(expanded.scraped.every((i) => i.label === "alien"), "rejectImplausible leaves out what the model finds implausible");
  for (const image of expanded.train) assert.ok(fs.existsSync(path.join(expanded.root, image.file)), image.file);
});

test("notebook 02 shows progress, the rejection tables, the galleries and the model's flags", () => {
  const all = outputs();
  const stdout = all.filter((o) => o.name === "stdout").map((o) => text(o.text)).join("");
  assert.match(stdout, /embedded search engine at http:\/\/127\.0\.0\.1:\d+/);
  assert.match(stdout, /User-Agent: charid-scraper/);
  assert.match(stdout, /\d+ results, \d+ fetched in this run, 0 recorded by an earlier run/);
  assert.match(stdout, /the model agrees with the query's class on \d+ of \d+ images; \d+ flagged, \d+ implausible/);
  const html = all.map((o) => text(o.data?.["text/html"])).join("\n");
  assert.match(html, /Rejections by kind[\s\S]*robots/);
  assert.match(html, /near duplicate of test image/);
  assert.ok(all.filter((o) => o.data?.["image/jpeg"]).length >= 2, "class gallery and flagged images");
  const progressLines = all.map((o) => text(o.data?.["text/plain"])).filter((t) => / images in /.test(t));
  assert.ok(progressLines.length >= 42, `a progress line per class (${progressLines.length})`);
});
