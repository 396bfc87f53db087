// Windows along the long side (PreprocessSpec.window): the crop sits where asked, batches and the decode
// cache keep windows apart, a multi-view validation source averages its views' probabilities (on
// images and on cached trunk features alike), predictFiles averages the classifier's windows and
// scales (multi-scale TTA), evaluateAtScales adds scales to a cached evaluation, and predictEnsemble
// averages classifiers.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import { brightnessFactor, checkAugmentSpec, checkScales, decodeResized, decodeResizedImage, describeAugment, ImageBatches, preprocessSpec, roundHalfEven, scaledSize, toNormalizedFloat, UInt8Cache, writeManifest, type AugmentSpec, type ModelInput, type SplitManifest } from "../lib/data";
import { loadBackbone } from "../lib/backbone";
import { freezeBefore } from "../lib/models";
import { evaluateAtScales, Learner, groupsByPath, multiViewSource, predictEnsemble, predictFiles, saveClassifier, trainingSources, type BatchSource, type Evaluation } from "../lib/train";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-windows-"));
const CLASSES = ["red", "green", "blue"];
const SIZE = 64;
let manifest: SplitManifest;
let model: tf.LayersModel;
let input: ModelInput;

/** A class colour on the left third of a wide picture, noise elsewhere: the centre crop misses part of it. */
async function writeImage(file: string, label: number, i: number, width: number, height: number): Promise<void> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const p = (y * width + x) * 3 + c;
        pixels[p] = x < width / 3 && c === label ? 200 : 40 + ((p * 7919 + i * 104729) % 120);
      }
    }
  }
  await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 92 }).toFile(file);
}

before(async () => {
  await selectBackend("wasm", () => undefined);
  manifest = { version: 1, root: work, trainDir: "train", seed: 1, validFraction: 0.25, mergedValidation: false, classes: CLASSES, train: [], valid: [], rejected: [] };
  for (let i = 0; i < 18; i++) {
    const label = i % 3;
    const file = `train/${CLASSES[label]}/${i}.jpg`;
    fs.mkdirSync(path.join(work, path.dirname(file)), { recursive: true });
    // Landscape, portrait and square photos; two of each class for validation.
    const [width, height] = [[120, 60], [50, 90], [70, 70]][Math.floor(i / 3) % 3];
    await writeImage(path.join(work, file), label, i, width, height);
    (label === Math.floor(i / 6) ? manifest.valid : manifest.train).push({ file, label: CLASSES[label] });
  }
  const net = await loadBackbone("mobilenet_v2", { numClasses: 3, imageSize: SIZE, widthMultiplier: 0.5, weights: "embedded", seed: 2 });
  [model, input] = [net.model, net.input];
  freezeBefore(model, "features.16");
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

const file = (i: number) => path.join(work, `train/${CLASSES[i % 3]}/${i}.jpg`);

test("a window is the square at that position along the long side of the resized image; 0.5 is the centre crop", async () => {
  for (const [i, orientation] of [[0, "landscape"], [3, "portrait"], [6, "square"]] as const) {
    const whole = await decodeResizedImage(file(i), preprocessSpec(SIZE));
    const crop = preprocessSpec(SIZE).crop;
    for (const window of [0, 0.25, 0.5, 1]) {
      const spec = preprocessSpec(SIZE, undefined, window);
      const got = await decodeResized(file(i), spec);
      const longX = whole.width > whole.height;
      const longY = whole.height > whole.width;
      const left = roundHalfEven(longX ? (whole.width - crop) * window : (whole.width - crop) / 2);
      const top = roundHalfEven(longY ? (whole.height - crop) * window : (whole.height - crop) / 2);
      const expected = new Uint8Array(crop * crop * 3);
      for (let y = 0; y < crop; y++) expected.set(whole.data.subarray(((top + y) * whole.width + left) * 3, ((top + y) * whole.width + left + crop) * 3), y * crop * 3);
      assert.deepEqual(got, expected, `${orientation} photo, window ${window}`);
    }
    const [start, end] = [await decodeResized(file(i), preprocessSpec(SIZE, undefined, 0)), await decodeResized(file(i), preprocessSpec(SIZE, undefined, 1))];
    assert.equal(Buffer.compare(start, end) !== 0, orientation !== "square", `${orientation}: the start and end windows ${orientation === "square" ? "coincide" : "differ"}`);
  }
  assert.deepEqual(preprocessSpec(SIZE, undefined, 0.5), preprocessSpec(SIZE), "the centre window is the plain spec (same cache keys)");
  assert.deepEqual(await decodeResized(file(0), preprocessSpec(SIZE, undefined, 0.5)), await decodeResized(file(0), preprocessSpec(SIZE)));
  assert.throws(() => preprocessSpec(SIZE, undefined, 1.5), /window position must be a number from 0 .* to 1 .*got 1.5/);
});

test("batches take the window, and one decode cache keeps the windows apart", async () => {
  const cache = new UInt8Cache(1 << 24);
  const rows = async (window?: number) => {
    const out: Float32Array[] = [];
    for await (const batch of new ImageBatches([{ file: file(0) }], { batchSize: 1, size: SIZE, window, cache })) {
      out.push(batch.x.dataSync() as Float32Array);
      tf.dispose([batch.x, batch.y]);
    }
    return out[0];
  };
  for (const window of [0, 1, 0.5, 0]) {
    const spec = preprocessSpec(SIZE, undefined, window);
    assert.deepEqual(await rows(window), toNormalizedFloat(await decodeResized(file(0), spec), spec), `window ${window}`);
  }
  assert.equal(cache.size, 3);
  assert.equal(cache.hits, 1);
});

test("training windows (augment.windows): image i in epoch e is cropped at windows[(e + i) mod n], with brightness on top", async () => {
  const windows = [0, 0.5, 1];
  const images = [0, 3, 6, 1].map((i) => ({ file: file(i), label: i % 3 }));
  const rowsOf = async (augment: AugmentSpec, epoch: number, drawOffset = 0) => {
    const out: Float32Array[] = [];
    for await (const batch of new ImageBatches(images, { batchSize: 4, size: SIZE, augment, seed: 3, epoch, drawOffset })) {
      const x = batch.x.dataSync() as Float32Array;
      for (let r = 0; r < batch.y.shape[0]; r++) out.push(x.slice(r * x.length / batch.y.shape[0], (r + 1) * x.length / batch.y.shape[0]));
      tf.dispose([batch.x, batch.y]);
    }
    return out;
  };
  for (const [epoch, drawOffset] of [[0, 0], [1, 0], [2, 0], [4, 0], [0, 2]]) {
    const got = await rowsOf({ windows }, epoch, drawOffset);
    for (const [i, image] of images.entries()) {
      const spec = preprocessSpec(SIZE, undefined, windows[(epoch + drawOffset + i) % 3]);
      assert.deepEqual(got[i], toNormalizedFloat(await decodeResized(image.file, spec), spec), `epoch ${epoch}, offset ${drawOffset}, image ${i}`);
    }
  }
  // The landscape photo (image 0) sees three different squares over three epochs.
  const seen = await Promise.all([0, 1, 2].map(async (epoch) => (await rowsOf({ windows }, epoch))[0]));
  assert.ok(seen[0].some((v, k) => v !== seen[1][k]) && seen[1].some((v, k) => v !== seen[2][k]) && seen[0].some((v, k) => v !== seen[2][k]));
  // Brightness is drawn as without windows, on the window's pixels.
  const both = await rowsOf({ windows, brightness: 0.3 }, 1);
  const windowsOnly = await rowsOf({ windows }, 1);
  const spec = preprocessSpec(SIZE);
  for (const [i, image] of images.entries()) {
    const factor = brightnessFactor(0.3, 3, 1, i);
    const pixels = await decodeResized(image.file, preprocessSpec(SIZE, undefined, windows[(1 + i) % 3]));
    const expected = toNormalizedFloat(pixels, spec, { brightness: factor });
    const worst = Math.max(...both[i].map((v, k) => Math.abs(v - expected[k])));
    assert.ok(worst < 1e-5, `image ${i}: brightness on the window differs by ${worst}`);
    assert.ok(both[i].some((v, k) => Math.abs(v - windowsOnly[i][k]) > 1e-3), `image ${i}: brightness changed nothing`);
  }
  assert.equal(describeAugment({ brightness: 0.05, windows }), "brightness 0.05 + windows 0/0.5/1");
  assert.throws(() => checkAugmentSpec({ windows: [] }), /augment\.windows: windows must be a non-empty list/);
  assert.throws(() => checkAugmentSpec({ windows: [0, 2] }), /augment\.windows: a window position .* got 2/);
  assert.throws(() => checkAugmentSpec({ windows: [0, 1], randomCrop: true }), /windows and random crops exclude each other/);
});

/** Per-image probabilities of each view's own evaluation, averaged. */
function averaged(evaluations: Evaluation[]): Float32Array {
  const out = new Float32Array(evaluations[0].probabilities.length);
  for (const e of evaluations) e.probabilities.forEach((p, i) => (out[i] += p / evaluations.length));
  return out;
}

function expectedLoss(probabilities: Float32Array, labels: Int32Array): number {
  let sum = 0;
  labels.forEach((label, i) => (sum -= Math.log(probabilities[i * CLASSES.length + label])));
  return sum / labels.length;
}

test("validation through several windows averages their probabilities, on images and on cached features alike", async () => {
  const windows = [0, 0.5, 1];
  const options = { batchSize: 4, seed: 5, epochs: 1, windows };
  const onImages = await trainingSources({ model, input }, manifest, options);
  const onFeatures = await trainingSources({ model, input }, manifest, { ...options, featureCache: path.join(work, "features"), shares: 1 });
  assert.match(onFeatures.description, /valid 6 images x 3 windows, computed/);
  const learner = (top?: tf.LayersModel) => new Learner({ model, top, groups: groupsByPath(model, { "features.16:": 1e-3, classifier: 1e-3 }), train: onImages.train, classes: CLASSES });
  const single = await Promise.all(windows.map(async (window) => {
    const one = await trainingSources({ model, input }, manifest, { ...options, windows: [window] });
    return learner().evaluate(one.valid!);
  }));
  const expected = averaged(single);
  assert.ok(single.some((e, v) => v > 0 && e.probabilities.some((p, i) => Math.abs(p - single[0].probabilities[i]) > 1e-3)), "the windows see different pixels");
  for (const [name, sources] of [["images", onImages], ["features", onFeatures]] as const) {
    const evaluation = await learner(sources.top).evaluate(sources.valid!);
    assert.equal(evaluation.labels.length, 6, name);
    assert.deepEqual(evaluation.files, single[0].files, name);
    const worst = Math.max(...evaluation.probabilities.map((p, i) => Math.abs(p - expected[i])));
    assert.ok(worst < 1e-5, `${name}: the probabilities differ from the views' mean by ${worst}`);
    assert.ok(Math.abs(evaluation.loss - expectedLoss(expected, evaluation.labels)) < 1e-4, `${name}: the loss is the cross-entropy of the mean (${evaluation.loss})`);
    const predicted = evaluation.predictions.map((p, i) => (p === evaluation.labels[i] ? 1 : 0)).reduce((a: number, b) => a + b, 0);
    assert.equal(evaluation.accuracy, predicted / 6, name);
  }
  onFeatures.dispose();
});

test("a multi-view source refuses views of different lengths, and a learner refuses to train on one", async () => {
  const sources = await trainingSources({ model, input }, manifest, { batchSize: 4, seed: 5, epochs: 1, windows: [0, 1] });
  assert.throws(() => multiViewSource([sources.valid!, sources.train]), /the views hold different image counts: 6, 12/);
  const learner = new Learner({ model, groups: groupsByPath(model, { "features.16:": 1e-3, classifier: 1e-3 }), train: sources.valid! as BatchSource, classes: CLASSES });
  await assert.rejects(learner.fit(1), /several views of each image: views are for evaluation sources only/);
  await assert.rejects(trainingSources({ model, input }, manifest, { batchSize: 4, seed: 5, epochs: 1, windows: [] }), /windows must be a non-empty list/);
});

test("predictFiles averages the classifier's windows and returns each alone, on one thread and on two", async () => {
  const files = [0, 1, 2, 3, 4].map(file);
  const one = await Promise.all([0, 0.5, 1].map((window) => predictFiles(model, files, { ...input, windows: [window], shares: 1 })));
  const expected = new Float32Array(one[0].probabilities.length);
  for (const p of one) p.probabilities.forEach((v, i) => (expected[i] += v / 3));
  for (const shares of [1, 2]) {
    const got = await predictFiles(model, files, { ...input, windows: [0, 0.5, 1], shares, batchSize: 2 });
    const worst = Math.max(...got.probabilities.map((p, i) => Math.abs(p - expected[i])));
    assert.ok(worst < 1e-5, `${shares} thread(s): differs from the windows' mean by ${worst}`);
    got.byWindow.forEach((alone, w) => {
      const off = Math.max(...alone.map((p, i) => Math.abs(p - one[w].probabilities[i])));
      assert.ok(off < 1e-5, `${shares} thread(s): window ${w} alone differs from its own prediction by ${off}`);
    });
  }
});

test("predictFiles at several scales: each window seen at each scaled size, every view weighing one share, each scale and window alone", async () => {
  assert.equal(scaledSize(224, 1.2), 269);
  assert.equal(scaledSize(SIZE, 1.25), 80);
  assert.throws(() => checkScales([]), /scales must be a non-empty list of distinct positive multiples/);
  assert.throws(() => checkScales([1, 0]), /got \[1,0\]/);
  assert.throws(() => checkScales([1, 1, 1.2]), /distinct .*got \[1,1,1.2\]/);
  const files = [0, 1, 2, 3, 4].map(file);
  const windows = [0, 0.5, 1];
  const scales = [1, 1.25];
  const at = await Promise.all(scales.map((scale) => predictFiles(model, files, { ...input, size: scaledSize(SIZE, scale), windows, shares: 1 })));
  const off = (got: Float32Array, expected: Float32Array) => Math.max(...got.map((p, i) => Math.abs(p - expected[i])));
  assert.ok(off(at[0].probabilities, at[1].probabilities) > 1e-3, "80 px sees the photo other than 64 px");
  for (const shares of [1, 2]) {
    const got = await predictFiles(model, files, { ...input, windows, scales, shares, batchSize: 2 });
    const expected = at[0].probabilities.map((p, i) => (p + at[1].probabilities[i]) / 2);
    assert.ok(off(got.probabilities, expected) < 1e-5, `${shares} thread(s): not the scales' mean`);
    got.byScale.forEach((alone, s) => assert.ok(off(alone, at[s].probabilities) < 1e-5, `${shares} thread(s): scale ${scales[s]} alone`));
    got.byWindow.forEach((alone, w) => assert.ok(off(alone, at[0].byWindow[w].map((p, i) => (p + at[1].byWindow[w][i]) / 2)) < 1e-5, `${shares} thread(s): window ${windows[w]} over the scales`));
  }
  await assert.rejects(predictFiles(model, files, { ...input, scales: [-1] }), /scales must be a non-empty list/);
});

test("evaluateAtScales: a cached-feature evaluation with the other scales predicted and averaged in is the multi-scale prediction", async () => {
  const windows = [0, 1];
  const sources = await trainingSources({ model, input }, manifest, { batchSize: 4, seed: 5, epochs: 1, windows, featureCache: path.join(work, "features"), shares: 1 });
  const learner = new Learner({ model, top: sources.top, groups: groupsByPath(model, { "features.16:": 1e-3, classifier: 1e-3 }), train: sources.train, classes: CLASSES });
  const cached = await learner.evaluate(sources.valid!);
  const scales = [1, 1.25];
  const evaluation = await evaluateAtScales(cached, model, { ...input, windows, scales });
  const expected = (await predictFiles(model, cached.files, { ...input, windows, scales })).probabilities;
  const worst = Math.max(...evaluation.probabilities.map((p, i) => Math.abs(p - expected[i])));
  assert.ok(worst < 1e-5, `differs from predictFiles at both scales by ${worst}`);
  assert.ok(Math.max(...evaluation.probabilities.map((p, i) => Math.abs(p - cached.probabilities[i]))) > 1e-3, "the other scale changed nothing");
  assert.ok(Math.abs(evaluation.loss - expectedLoss(expected, evaluation.labels)) < 1e-4, `the loss is the cross-entropy of the mean (${evaluation.loss})`);
  assert.equal(evaluation.accuracy, evaluation.predictions.filter((p, i) => p === evaluation.labels[i]).length / 6);
  assert.deepEqual(evaluation.files, cached.files);
  assert.equal(await evaluateAtScales(cached, model, { ...input, windows }), cached, "scale 1 alone: the evaluation as it was");
  await assert.rejects(evaluateAtScales(cached, model, { ...input, windows, scales: [1.25] }), /must include 1, the size the evaluation was made at/);
  sources.dispose();
});

test("predictEnsemble averages its classifiers, each through its own windows; an image one cannot read fails", async () => {
  const other = (await loadBackbone("mobilenet_v2", { numClasses: 3, imageSize: SIZE, widthMultiplier: 0.5, weights: "embedded", seed: 5 })).model;
  const broken = path.join(work, "broken.jpg");
  fs.writeFileSync(broken, "<html>not an image</html>");
  const files = [0, 1, broken, 3].map((f) => (typeof f === "number" ? file(f) : f));
  const a = { model, input: { ...input, windows: [0, 0.5, 1] }, classes: CLASSES, name: "a" };
  const b = { model: other, input: { ...input, windows: [0, 0.5, 1] }, classes: CLASSES, name: "b" };
  const [pa, pb] = [await predictFiles(a.model, files, a.input), await predictFiles(b.model, files, b.input)];
  const both = await predictEnsemble([a, b], files, { batchSize: 2 });
  const off = (got: Float32Array, x: Float32Array, y: Float32Array) => Math.max(...got.map((v, i) => Math.abs(v - (x[i] + y[i]) / 2)));
  assert.ok(off(both.probabilities, pa.probabilities, pb.probabilities) < 1e-6);
  both.byWindow.forEach((w, i) => assert.ok(off(w, pa.byWindow[i], pb.byWindow[i]) < 1e-6, `window ${i}`));
  assert.ok(off(both.byScale[0], pa.byScale[0], pb.byScale[0]) < 1e-6, "the one scale");
  assert.ok(Math.abs(both.probabilities[0] + both.probabilities[1] + both.probabilities[2] - 1) < 1e-5);
  assert.deepEqual([...both.failed.keys()], [2]);
  assert.deepEqual([...both.probabilities.subarray(6, 9)], [0, 0, 0]);
  // Other windows: the average still holds, the per-window rows do not exist.
  const centre = { ...b, input: { ...input, windows: [0.5] } };
  const mixed = await predictEnsemble([a, centre], files);
  const pc = await predictFiles(other, files, centre.input);
  assert.ok(off(mixed.probabilities, pa.probabilities, pc.probabilities) < 1e-6);
  assert.deepEqual(mixed.byWindow, []);
  const scaled = await predictEnsemble([a, { ...b, input: { ...b.input, scales: [1, 1.25] } }], files);
  assert.equal(scaled.byWindow.length, 3, "the same windows: averaged per window");
  assert.deepEqual(scaled.byScale, [], "other scales: no rows per scale");
  await assert.rejects(predictEnsemble([a, { ...b, classes: ["red", "blue", "green"] }], files), /b has other classes than a/);
  other.dispose();
});

test("npm run score: a saved classifier's validation accuracy per windows setting and aspect group, several averaged", async () => {
  const { scoreValidation } = await import("../scripts/score");
  const manifestFile = path.join(work, "split.json");
  writeManifest(manifestFile, manifest);
  const dir = path.join(work, "classifier");
  await saveClassifier(dir, model, { classes: CLASSES, input: { ...input, windows: [0, 0.5, 1] }, backbone: "mobilenet_v2" });
  const scores = await scoreValidation([dir, dir], manifestFile, [[0.5], [0, 1]]);
  const files = manifest.valid.map((image) => path.join(work, image.file));
  for (const [s, windows] of [[0.5], [0, 1]].entries()) {
    const { probabilities } = await predictFiles(model, files, { ...input, windows });
    const right = manifest.valid.filter((image, i) => {
      const row = Array.from(probabilities.subarray(i * 3, i * 3 + 3));
      return row.indexOf(Math.max(...row)) === CLASSES.indexOf(image.label);
    }).length;
    assert.deepEqual(scores[s].windows, windows);
    assert.equal(scores[s].right, right, `windows ${windows}`);
    assert.equal(scores[s].total, 6);
    assert.deepEqual(scores[s].groups.map((g) => g.total), [2, 0, 4], "2 square photos, 4 with sides 2 : 1 or 1.8 : 1");
  }
  // Under scales settings: each setting's windows seen at its scales, all averaged, as predictFiles does.
  const scaled = await scoreValidation([dir], manifestFile, [[0, 1]], [[1], [1, 1.25]]);
  assert.deepEqual(scaled.map((score) => [score.windows, score.scales]), [[[0, 1], [1]], [[0, 1], [1, 1.25]]]);
  for (const [s, scales] of [[1], [1, 1.25]].entries()) {
    const { probabilities } = await predictFiles(model, files, { ...input, windows: [0, 1], scales });
    const right = manifest.valid.filter((image, i) => {
      const row = Array.from(probabilities.subarray(i * 3, i * 3 + 3));
      return row.indexOf(Math.max(...row)) === CLASSES.indexOf(image.label);
    }).length;
    assert.equal(scaled[s].right, right, `scales ${scales}`);
  }
  await assert.rejects(scoreValidation([dir], manifestFile, [[0.5]], [[1, 1]]), /distinct positive multiples/);
  await assert.rejects(scoreValidation([], manifestFile, [[0.5]]), /name at least one classifier folder/);
});
