import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import { buildManifest, classCounts, inspectImage, readManifest, scanDataset, stratifiedSplit, trainingImages, validationImages, writeManifest, type LabelledImage } from "../lib/data";
import { writeAwkwardImages, writeBrokenImages, writeJpeg } from "./helpers/bad-images";

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "charid-data-"));
}

test("scan accepts awkward images, rejects broken ones with reasons, and goes on", async (t) => {
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  const awkward = await writeAwkwardImages(path.join(root, "train", "awkward"));
  const broken = await writeBrokenImages(path.join(root, "train", "broken"));
  await writeJpeg(path.join(root, "train", "broken", "ok.jpg"));
  fs.mkdirSync(path.join(root, "train", "empty_class"));
  fs.mkdirSync(path.join(root, "train", "all_bad"));
  fs.writeFileSync(path.join(root, "train", "all_bad", "notes.jpg"), "not a picture");
  await writeJpeg(path.join(root, "train", "stray.jpg"));
  await writeJpeg(path.join(root, "test", "0001.jpg"));

  const scan = await scanDataset(root);
  assert.equal(scan.trainDir, "train");
  assert.equal(scan.testDir, "test");
  assert.deepEqual(scan.classes, ["awkward", "broken"]);
  assert.deepEqual(
    scan.images.filter((i) => i.label === "awkward").map((i) => path.basename(i.file)).sort(),
    [...awkward].sort(),
  );
  assert.deepEqual(scan.images.filter((i) => i.label === "broken").map((i) => i.file), ["train/broken/ok.jpg"]);
  for (const [name, reason] of Object.entries(broken)) {
    const rejection = scan.rejected.find((r) => r.file === `train/broken/${name}`);
    assert.ok(rejection, `${name} should be rejected`);
    assert.match(rejection.reason, reason);
  }
  assert.match(scan.rejected.find((r) => r.file === "train/stray.jpg")!.reason, /not inside a class folder/);
  assert.ok(scan.warnings.some((w) => /"empty_class" has no files/.test(w)));
  assert.ok(scan.warnings.some((w) => /"all_bad" has no usable image/.test(w)));
});

test("inspectImage reports the displayed size of EXIF-rotated images and the colour space", async (t) => {
  const dir = tempDir();
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  await writeAwkwardImages(dir);
  const rotated = await inspectImage(path.join(dir, "rotated.jpg"));
  assert.ok(rotated.ok);
  assert.deepEqual([rotated.info.width, rotated.info.height, rotated.info.orientation], [20, 60, 6]);
  const cmyk = await inspectImage(path.join(dir, "cmyk.jpg"));
  assert.ok(cmyk.ok && cmyk.info.space === "cmyk");
  const deep = await inspectImage(path.join(dir, "deep.png"));
  assert.ok(deep.ok && deep.info.depth === "ushort");
});

test("a folder without class subfolders is a clear error", async (t) => {
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  await writeJpeg(path.join(root, "a.jpg"));
  await assert.rejects(scanDataset(root), /has no class subfolders: expected one folder per class/);
  await assert.rejects(scanDataset(path.join(root, "missing")), /does not exist/);
});

function syntheticImages(sizes: Record<string, number>): LabelledImage[] {
  return Object.entries(sizes).flatMap(([label, n]) =>
    Array.from({ length: n }, (_, i) => ({ file: `train/${label}/${String(i).padStart(4, "0")}.jpg`, label })),
  );
}

test("stratified split: about the fraction per class, one each side, disjoint and complete", () => {
  const sizes = { a: 100, b: 37, c: 5, d: 2, e: 1 };
  const images = syntheticImages(sizes);
  const split = stratifiedSplit(images, { validFraction: 0.2, seed: 7 });
  const key = (i: LabelledImage) => i.file;
  const train = new Set(split.train.map(key));
  const valid = new Set(split.valid.map(key));
  assert.equal(train.size + valid.size, images.length);
  assert.ok([...valid].every((f) => !train.has(f)));
  const count = (list: LabelledImage[], label: string) => list.filter((i) => i.label === label).length;
  assert.equal(count(split.valid, "a"), 20);
  assert.equal(count(split.valid, "b"), 7);
  assert.equal(count(split.valid, "c"), 1);
  assert.deepEqual([count(split.train, "d"), count(split.valid, "d")], [1, 1]);
  assert.deepEqual([count(split.train, "e"), count(split.valid, "e")], [1, 0]);
  assert.ok(split.warnings.some((w) => /"e" has 1 image/.test(w)));
});

test("stratified split is seeded and independent of input order", () => {
  const images = syntheticImages({ a: 50, b: 30 });
  const one = stratifiedSplit(images, { seed: 1 });
  assert.deepEqual(stratifiedSplit([...images].reverse(), { seed: 1 }), one);
  assert.notDeepEqual(stratifiedSplit(images, { seed: 2 }).valid, one.valid);
  assert.throws(() => stratifiedSplit(images, { validFraction: 1 }), /between 0 and 1/);
});

test("manifest round-trips, counts per class, and merges validation back for the final run", async (t) => {
  const root = tempDir();
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const label of ["x", "y"]) for (let i = 0; i < 5; i++) await writeJpeg(path.join(root, label, `${i}.jpg`));
  const scan = await scanDataset(root);
  const split = stratifiedSplit(scan.images, { validFraction: 0.4, seed: 3 });
  const file = path.join(root, "out", "split.json");
  writeManifest(file, buildManifest(scan, split, { seed: 3, validFraction: 0.4 }));
  const manifest = readManifest(file);
  assert.deepEqual(classCounts(manifest), [
    { label: "x", train: 3, valid: 2 },
    { label: "y", train: 3, valid: 2 },
  ]);
  assert.equal(trainingImages(manifest, { mergeValidation: true }).length, 10);
  assert.equal(validationImages(manifest, { mergeValidation: true }).length, 0);
  assert.equal(trainingImages(manifest).length, 6);
  assert.deepEqual(fs.readdirSync(path.join(root, "out")), ["split.json"]);
  const meta = await sharp(path.join(root, "x", "0.jpg")).metadata();
  assert.equal(meta.format, "jpeg", "no image is moved or rewritten");
  assert.throws(() => readManifest(path.join(root, "nope.json")), /run notebooks\/01-data-split.ipynb first/);
});
