// Notebook 01 end to end: generated data with broken files, executed through the real kernel,
// then opened in Jupyter Notebook under headless Chromium to see the chart drawn.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readManifest } from "../lib/data";
import { generateDataset } from "../lib/generate";
import { runNotebook, type RunResult } from "../lib/runner";
import { browserCheckUnavailable, checkNotebookRendersPlots } from "./helpers/browser";
import { writeAwkwardImages } from "./helpers/bad-images";

interface Output {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-nb01-"));
const dataDir = path.join(work, "dataset");
const manifestPath = path.join(work, "split.json");
let run: RunResult;

test.before(async () => {
  await generateDataset({ outDir: dataDir, imagesPerClass: 4, testSize: 20, seed: 5, onProgress: () => {} });
  await writeAwkwardImages(path.join(dataDir, "train", "red_heart"));
  run = await runNotebook({
    notebook: "notebooks/01-data-split.ipynb",
    params: { dataDir, manifestPath, seed: 3, samplesPerClass: 3 },
    runsRoot: path.join(work, "runs"),
    quiet: true,
  });
});
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

function outputs(): Output[] {
  const nb = JSON.parse(fs.readFileSync(run.executedNotebook, "utf8"));
  return nb.cells.flatMap((cell: { outputs?: Output[] }) => cell.outputs ?? []);
}

const text = (value: string | string[] | undefined) => (Array.isArray(value) ? value.join("") : value ?? "");

test("notebook 01 writes a stratified manifest without the broken files", () => {
  assert.equal(run.status, "ok");
  const manifest = readManifest(manifestPath);
  assert.equal(manifest.classes.length, 42);
  assert.equal(manifest.seed, 3);
  for (const label of manifest.classes) {
    assert.ok(manifest.train.some((i) => i.label === label), `${label} in train`);
    assert.ok(manifest.valid.some((i) => i.label === label), `${label} in valid`);
  }
  const broken = JSON.parse(fs.readFileSync(path.join(dataDir, "dataset.json"), "utf8")).brokenFiles.map((b: { file: string }) => b.file);
  assert.equal(broken.length, 3);
  assert.deepEqual(manifest.rejected.map((r) => r.file).sort(), [...broken].sort());
  assert.deepEqual(manifest.rejected.map((r) => r.reason.split(/[:(]/)[0].trim()).sort(), ["empty file", "not an image", "truncated JPEG"]);
  const listed = new Set([...manifest.train, ...manifest.valid].map((i) => i.file));
  assert.ok(listed.has("train/red_heart/cmyk.jpg") && listed.has("train/red_heart/rotated.jpg"), "awkward images are kept");
});

test("notebook 01 shows the rejected files, the class-count chart and the sample grid", () => {
  const all = outputs();
  const html = all.map((o) => text(o.data?.["text/html"])).join("\n");
  assert.match(html, /<table>[\s\S]*truncated JPEG[\s\S]*<\/table>/);
  assert.match(html, /Plotly\.newPlot|newPlot/);
  assert.ok(all.some((o) => o.data?.["image/png"]), "the sample grid is a PNG output");
  const stdout = all.filter((o) => o.name === "stdout").map((o) => text(o.text)).join("");
  assert.match(stdout, /42 classes/);
  assert.match(stdout, /train \d+ · valid \d+/);
});

test("the executed notebook 01 draws its chart in Jupyter Notebook (headless Chromium)", async (t) => {
  const why = browserCheckUnavailable();
  if (why) return t.skip(why);
  const drawn = await checkNotebookRendersPlots(run.executedNotebook);
  assert.equal(drawn.barCharts, 1, JSON.stringify(drawn));
  assert.ok(drawn.bars >= 42, `expected a bar per class, saw ${drawn.bars}`);
  assert.deepEqual(drawn.titles, ["Images per class"]);
});
