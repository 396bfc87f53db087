import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { EMBEDDED_CLASSES, GROUPS, type GenerateReport, generateDataset } from "../lib/generate";
import { ART_STYLES, checkArtworkAvailable, loadArtworks } from "../lib/generate/artwork";
import { sourceTaskClasses } from "../lib/generate/source-task";

const OPTIONS = { seed: 7, imagesPerClass: 4, testSize: 24, heldBackPerClass: 1 };
const quiet = () => {};

let root: string;
let dirA: string;
let dirB: string;
let dirC: string;
let reportA: GenerateReport;

function listFiles(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const rel = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...listFiles(path.join(dir, entry.name), rel));
    else out.push(rel);
  }
  return out;
}

function readDatasetJson(dir: string): {
  counts: { train: number; test: number; heldBack: number };
  brokenFiles: { file: string; kind: string }[];
  classes: { name: string; trainCount: number; styleCounts: Record<string, number> }[];
} {
  return JSON.parse(fs.readFileSync(path.join(dir, "dataset.json"), "utf8"));
}

before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "charid-generate-"));
  dirA = path.join(root, "a");
  dirB = path.join(root, "b");
  dirC = path.join(root, "c");
  reportA = await generateDataset({ outDir: dirA, ...OPTIONS, onProgress: quiet });
  await generateDataset({ outDir: dirB, ...OPTIONS, onProgress: quiet });
  await generateDataset({ outDir: dirC, ...OPTIONS, seed: 8, onProgress: quiet });
});

after(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
});

test("class list: 42 readable classes, colour groups, direction pairs and printed names", () => {
  const names = EMBEDDED_CLASSES.map((c) => c.name);
  assert.equal(names.length, 42);
  assert.equal(new Set(names).size, 42);
  for (const name of names) assert.match(name, /^[a-z]+(_[a-z]+)*$/);
  const colourGroups = GROUPS.filter((g) => g.toldApartBy === "colour");
  assert.ok(colourGroups.length >= 3);
  for (const g of colourGroups) assert.ok(EMBEDDED_CLASSES.filter((c) => c.group === g.name).length >= 2);
  assert.ok(names.includes("backhand_index_pointing_left") && names.includes("backhand_index_pointing_right"));
  assert.ok(names.includes("backhand_index_pointing_up") && names.includes("backhand_index_pointing_down"));
  assert.ok(EMBEDDED_CLASSES.filter((c) => c.printsName).length >= 6);
});

test("artwork: every class exists in all three styles, and missing artwork fails clearly", async () => {
  assert.doesNotThrow(() => checkArtworkAvailable(EMBEDDED_CLASSES));
  assert.throws(
    () => checkArtworkAvailable([{ name: "nothing", codepoint: "10fffd", group: "x", printsName: false }]),
    /artwork missing.*nothing/,
  );
  const artworks = await loadArtworks(EMBEDDED_CLASSES);
  for (const cls of EMBEDDED_CLASSES) {
    const arts = artworks.get(cls.name);
    assert.ok(arts, cls.name);
    assert.deepEqual(arts.map((a) => a.style), [...ART_STYLES]);
    assert.equal(new Set(arts.map((a) => a.href)).size, 3, `${cls.name}: styles must differ`);
  }
  // Every class is drawn in all three styles in the training set.
  for (const cls of readDatasetJson(dirA).classes) {
    for (const style of ART_STYLES) assert.ok(cls.styleCounts[style] >= 1, `${cls.name} lacks ${style}`);
  }
});

test("determinism: same seed gives identical bytes, another seed different ones", () => {
  const filesA = listFiles(dirA);
  assert.deepEqual(listFiles(dirB), filesA);
  for (const f of filesA) {
    assert.ok(fs.readFileSync(path.join(dirA, f)).equals(fs.readFileSync(path.join(dirB, f))), `${f} differs between runs`);
  }
  const jpegsA = filesA.filter((f) => f.endsWith(".jpg") && fs.existsSync(path.join(dirC, f)));
  const differing = jpegsA.filter((f) => !fs.readFileSync(path.join(dirA, f)).equals(fs.readFileSync(path.join(dirC, f))));
  assert.ok(jpegsA.length > 100);
  assert.ok(differing.length > jpegsA.length * 0.95, `only ${differing.length}/${jpegsA.length} files differ with another seed`);
});

test("layout and counts: class folders, flat unlabelled test set, answer key, uneven classes", () => {
  const classNames = EMBEDDED_CLASSES.map((c) => c.name).sort();
  const trainDirs = fs.readdirSync(path.join(dirA, "train")).sort();
  assert.deepEqual(trainDirs, classNames);
  assert.deepEqual(fs.readdirSync(path.join(dirA, "held_back")).sort(), classNames);
  for (const name of classNames) assert.equal(fs.readdirSync(path.join(dirA, "held_back", name)).length, OPTIONS.heldBackPerClass);

  const testEntries = fs.readdirSync(path.join(dirA, "test"), { withFileTypes: true });
  assert.ok(testEntries.every((e) => e.isFile() && /^\d{6}\.jpg$/.test(e.name)));
  assert.equal(testEntries.length, OPTIONS.testSize);

  const lines = fs.readFileSync(path.join(dirA, "test_answers.csv"), "utf8").trim().split("\n");
  assert.equal(lines[0], "file,label");
  const answers = lines.slice(1).map((l) => l.split(","));
  assert.deepEqual(answers.map(([f]) => f).sort(), testEntries.map((e) => e.name).sort());
  for (const [, label] of answers) assert.ok(classNames.includes(label), `unknown label ${label}`);

  const info = readDatasetJson(dirA);
  const broken = new Set(info.brokenFiles.map((b) => b.file));
  const perClass = classNames.map(
    (name) => fs.readdirSync(path.join(dirA, "train", name)).filter((f) => !broken.has(`train/${name}/${f}`)).length,
  );
  assert.ok(new Set(perClass).size >= 3, `class sizes should be uneven, got ${perClass.join(",")}`);
  assert.equal(perClass.reduce((a, b) => a + b, 0), info.counts.train);
  assert.equal(reportA.trainCount, info.counts.train);
  assert.equal(reportA.testCount, OPTIONS.testSize);
  assert.equal(reportA.heldBackCount, 42 * OPTIONS.heldBackPerClass);
  assert.equal(reportA.skipped, false);
  assert.ok(!listFiles(dirA).some((f) => f.endsWith(".tmp")));
});

test("broken files are present and fail to decode; every other image is a JPEG of 180-600 px", async () => {
  const info = readDatasetJson(dirA);
  assert.deepEqual(info.brokenFiles.map((b) => b.kind).sort(), ["empty", "html", "truncated"]);
  assert.deepEqual([...reportA.brokenFiles].sort(), info.brokenFiles.map((b) => b.file).sort());
  for (const b of info.brokenFiles) {
    assert.ok(b.file.startsWith("train/") && b.file.endsWith(".jpg"));
    const file = path.join(dirA, b.file);
    const bytes = fs.readFileSync(file);
    if (b.kind === "empty") assert.equal(bytes.length, 0);
    if (b.kind === "html") assert.match(bytes.toString("utf8"), /^<!DOCTYPE html>/);
    if (b.kind === "truncated") assert.ok(bytes[0] === 0xff && bytes[1] === 0xd8 && bytes.length > 100);
    await assert.rejects(sharp(file).toBuffer(), `${b.file} should not decode`);
  }
  const broken = new Set(info.brokenFiles.map((b) => b.file));
  const images = listFiles(dirA).filter((f) => f.endsWith(".jpg") && !broken.has(f));
  assert.equal(images.length, info.counts.train + info.counts.test + info.counts.heldBack);
  for (const f of images) {
    const { info: decoded } = await sharp(path.join(dirA, f)).raw().toBuffer({ resolveWithObject: true });
    const meta = await sharp(path.join(dirA, f)).metadata();
    assert.equal(meta.format, "jpeg", f);
    for (const side of [decoded.width, decoded.height]) assert.ok(side >= 180 && side <= 600, `${f}: ${side} px`);
  }
});

test("an existing dataset with identical options is reused unless forced", async () => {
  const before = fs.statSync(path.join(dirA, "dataset.json")).mtimeMs;
  const report = await generateDataset({ outDir: dirA, ...OPTIONS, onProgress: quiet });
  assert.equal(report.skipped, true);
  assert.equal(report.trainCount, reportA.trainCount);
  assert.deepEqual(report.brokenFiles, reportA.brokenFiles);
  assert.equal(fs.statSync(path.join(dirA, "dataset.json")).mtimeMs, before);
});

test("refuses to clear folders it did not write", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-foreign-"));
  try {
    fs.mkdirSync(path.join(dir, "test"));
    fs.writeFileSync(path.join(dir, "test", "keep.ts"), "// not ours\n");
    await assert.rejects(generateDataset({ outDir: dir, ...OPTIONS, onProgress: quiet }), /not written by this generator/);
    assert.ok(fs.existsSync(path.join(dir, "test", "keep.ts")));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the pretraining source task draws other characters, none of the 42 targets", async () => {
  const classes = sourceTaskClasses(150, 3);
  assert.equal(classes.length, 150);
  assert.equal(new Set(classes.map((c) => c.name)).size, 150);
  const targets = new Set(EMBEDDED_CLASSES.map((c) => c.codepoint));
  assert.ok(classes.every((c) => !targets.has(c.codepoint) && c.name.startsWith("src_")));
  assert.deepEqual(sourceTaskClasses(150, 3), classes, "seeded");
  checkArtworkAvailable(classes);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-source-"));
  try {
    const report = await generateDataset({ outDir: dir, classes: classes.slice(0, 4), imagesPerClass: 3, testSize: 0, onProgress: quiet });
    assert.deepEqual(fs.readdirSync(path.join(dir, "train")).sort(), classes.slice(0, 4).map((c) => c.name).sort());
    assert.equal(report.testCount, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
