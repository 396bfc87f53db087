// Queries per class, and the review tools: the model-assisted filter with a real (tiny) model
// through the real prediction path, the reject list, the gallery groups.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { buildQueries, galleryGroups, isRejected, readableTerm, readRejectList, type ScrapedImage } from "../lib/scrape";
import { reviewWithModel } from "../lib/scrape/model-review";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-review-"));
test.after(() => fs.rmSync(work, { recursive: true, force: true }));

test("queries: readable terms from folder names, the template, a mapping, the exclusion list, the limit", () => {
  assert.equal(readableTerm("winnie_the_pooh"), "winnie the pooh");
  assert.equal(readableTerm("SpongeBob-SquarePants"), "spongebob squarepants");
  const plan = buildQueries(["winnie_the_pooh", "ben", "pikachu", "r2_d2"], { terms: { r2_d2: "R2-D2 droid" }, limit: 7 });
  assert.deepEqual(plan.queries.map((q) => q.query), ["winnie the pooh shirt doll", "pikachu shirt doll", "R2-D2 droid shirt doll"]);
  assert.deepEqual(plan.excluded.map((e) => e.label), ["ben"], 'the seed left out "ben" by default');
  assert.ok(plan.queries.every((q) => q.limit === 7));
  assert.deepEqual(buildQueries(["pikachu"], { template: "{class} plush" }).queries[0].query, "pikachu plush");
  assert.equal(buildQueries(["ben"], { exclude: [] }).queries.length, 1);
  assert.throws(() => buildQueries(["pikachu"], { template: "shirt doll" }), /no \{class\} placeholder/);
  assert.throws(() => buildQueries(["pikachu"], { terms: { pikachuu: "x" } }), /unknown classes: pikachuu/);
  assert.throws(() => buildQueries(["pikachu"], { limit: 0 }), /positive whole number/);
});

/** Predicts "red" from the red channel and "blue" from the blue channel of the mean colour. */
function colourModel(): tf.LayersModel {
  const input = tf.input({ shape: [16, 16, 3] });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(input) as tf.SymbolicTensor;
  const dense = tf.layers.dense({ units: 2, useBias: false });
  const output = dense.apply(pooled) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: output });
  dense.setWeights([tf.tensor2d([[2, 0], [0, 0], [0, 2]])]);
  return model;
}

async function solid(name: string, rgb: [number, number, number]): Promise<string> {
  const file = path.join(work, name);
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg().toFile(file);
  return file;
}

test("the model-assisted filter flags images predicted as another class or with low confidence, and the implausible", async () => {
  await tf.setBackend("cpu");
  const image = async (label: string, name: string, rgb: [number, number, number], unknown = false): Promise<ScrapedImage> => ({
    label: unknown ? "green" : label, file: await solid(name, rgb), relative: `images/${label}/${name}`, url: `http://example.org/${name}`, rank: 0,
  });
  const images = [await image("red", "red.jpg", [250, 10, 10]), await image("red", "blue.jpg", [10, 10, 250]), await image("blue", "grey.jpg", [128, 128, 128]), await image("x", "green.jpg", [0, 200, 0], true)];
  const verdicts = await reviewWithModel({ model: colourModel(), classes: ["red", "blue"], input: { size: 16, convention: "torchvision" } }, images, { minConfidence: 0.9 });
  assert.deepEqual(verdicts.map((v) => v.predicted), ["red", "blue", "blue", "blue"]);
  assert.deepEqual(verdicts[0].flags, [], "the model agrees with the query's class");
  assert.ok(verdicts[0].confidence > 0.99);
  assert.equal(verdicts[1].flags[0], "predicted blue");
  assert.match(verdicts[1].flags[1], /^implausible: P\(red\) = 0\.00\d < 0\.02$/);
  assert.ok(verdicts[1].labelProbability < 0.01);
  assert.equal(verdicts[2].flags.length, 1);
  assert.match(verdicts[2].flags[0], /^low confidence \(0\.\d\d < 0\.9\)$/);
  assert.deepEqual(verdicts[3].flags, ["the model does not know class green"]);
  assert.deepEqual(verdicts.map((v) => v.implausible), [false, true, false, true]);
});

test("reject list: created with instructions when missing, comments ignored, matched by path or URL", () => {
  const file = path.join(work, "scrape", "reject-list.txt");
  assert.equal(readRejectList(file).size, 0);
  assert.match(fs.readFileSync(file, "utf8"), /^# Scraped images to leave out/);
  fs.appendFileSync(file, "images/pikachu/aa.jpg   # a drawing\n\nhttp://example.org/b.jpg\n# images/pikachu/commented.jpg\n");
  const list = readRejectList(file);
  assert.deepEqual([...list].sort(), ["http://example.org/b.jpg", "images/pikachu/aa.jpg"]);
  const image = (relative: string, url: string): ScrapedImage => ({ label: "pikachu", file: path.join(work, relative), relative, url, rank: 0 });
  assert.equal(isRejected(list, image("images/pikachu/aa.jpg", "http://x/1.jpg")), true);
  assert.equal(isRejected(list, image("images/pikachu/bb.jpg", "http://example.org/b.jpg")), true);
  assert.equal(isRejected(list, image("images/pikachu/commented.jpg", "http://x/2.jpg")), false);
});

test("gallery: one card per class with its count and up to perClass images", () => {
  const images = ["a", "a", "a", "b"].map((label, i): ScrapedImage => ({ label, file: `/x/${label}${i}.jpg`, relative: `${label}${i}.jpg`, url: "", rank: i }));
  assert.deepEqual(galleryGroups(images, 2), [
    { title: "a (3)", files: ["/x/a0.jpg", "/x/a1.jpg"] },
    { title: "b (1)", files: ["/x/b3.jpg"] },
  ]);
});
