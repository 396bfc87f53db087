// Each input convention, applied by the pipeline (ImageBatches, predictFiles, brightness TTA), gives
// the logits of a reference that applies the convention's documented formula to the decoded pixels.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import * as tf from "@tensorflow/tfjs";
import { decodeResized, ImageBatches, INPUT_CONVENTIONS, preprocessSpec, type InputConventionName } from "../lib/data";
import { loadClassifier, predictFiles, saveClassifier, withBrightness } from "../lib/train";

const SIZE = 24;
/** The formulas as keras.applications' preprocess_input and torchvision's Normalize write them, on 0..255 RGB. */
const REFERENCE: Record<InputConventionName, (rgb: [number, number, number]) => [number, number, number]> = {
  "torchvision": ([r, g, b]) => [(r / 255 - 0.485) / 0.229, (g / 255 - 0.456) / 0.224, (b / 255 - 0.406) / 0.225],
  "keras-tf": ([r, g, b]) => [r / 127.5 - 1, g / 127.5 - 1, b / 127.5 - 1],
  "keras-caffe": ([r, g, b]) => [b - 103.939, g - 116.779, r - 123.68],
  "unit": ([r, g, b]) => [r / 255, g / 255, b / 255],
};
const CONVENTIONS = Object.keys(REFERENCE) as InputConventionName[];

let dir: string;
let image: string;
let model: tf.LayersModel;
/** The reference input of each convention, for the photo. */
const referenceInputs = new Map<InputConventionName, tf.Tensor4D>();

/** A conv net whose logits depend on each channel's offset and order. */
function fixedModel(): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, kernelInitializer: tf.initializers.randomNormal({ seed: 3 }), biasInitializer: "zeros" });
  const pooled = tf.layers.globalAveragePooling2d({}).apply(conv.apply(input)) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.randomNormal({ seed: 4 }) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits });
}

before(async () => {
  await tf.setBackend("cpu");
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-convention-"));
  image = path.join(dir, "photo.png");
  const pixels = Buffer.from(Array.from({ length: 40 * 30 * 3 }, (_, i) => (i * 37 + (i % 3) * 90) % 256));
  await sharp(pixels, { raw: { width: 40, height: 30, channels: 3 } }).png().toFile(image);
  model = fixedModel();
  for (const convention of CONVENTIONS) referenceInputs.set(convention, await referenceInput(convention));
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

async function referenceInput(convention: InputConventionName, brightness = 1): Promise<tf.Tensor4D> {
  const rgb = await decodeResized(image, preprocessSpec(SIZE));
  const values = new Float32Array(rgb.length);
  for (let i = 0; i < rgb.length; i += 3) {
    const bright = [rgb[i], rgb[i + 1], rgb[i + 2]].map((v) => Math.min(255, v * brightness)) as [number, number, number];
    values.set(REFERENCE[convention](bright), i);
  }
  return tf.tensor4d(values, [1, SIZE, SIZE, 3]);
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  return Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
}

for (const convention of CONVENTIONS) {
  test(`${convention}: the pipeline's batches give the reference logits within 1e-4`, async () => {
    const expected = tf.tidy(() => (model.predict(referenceInputs.get(convention)!) as tf.Tensor).dataSync());
    for await (const batch of new ImageBatches([{ file: image, label: 0 }], { batchSize: 1, size: SIZE, convention })) {
      const actual = tf.tidy(() => (model.predict(batch.x) as tf.Tensor).dataSync());
      assert.ok(maxDifference(actual, expected) < 1e-4, `${convention}: ${actual} vs ${expected}`);
      tf.dispose([batch.x, batch.y]);
    }
    const brightened = tf.tidy(() => (model.predict(withBrightness(referenceInputs.get(convention)!, 1.3, convention)) as tf.Tensor).dataSync());
    const reference = await referenceInput(convention, 1.3);
    const expectedBright = tf.tidy(() => (model.predict(reference) as tf.Tensor).dataSync());
    reference.dispose();
    assert.ok(maxDifference(brightened, expectedBright) < 1e-4, `${convention} brightness: ${brightened} vs ${expectedBright}`);
  });
}

test("the conventions differ from one another, so a wrong one cannot pass", () => {
  const inputs = CONVENTIONS.map((c) => referenceInputs.get(c)!.dataSync());
  for (let i = 0; i < inputs.length; i++) {
    for (let j = i + 1; j < inputs.length; j++) assert.ok(maxDifference(inputs[i], inputs[j]) > 0.1, `${CONVENTIONS[i]} vs ${CONVENTIONS[j]}`);
  }
  assert.equal(new Set(CONVENTIONS.map((c) => JSON.stringify(preprocessSpec(SIZE, c)))).size, CONVENTIONS.length, "the feature-cache key (the spec) tells them apart");
  assert.deepEqual(Object.keys(INPUT_CONVENTIONS).sort(), [...CONVENTIONS].sort());
});

test("a saved classifier carries its input; predictFiles applies it without being told again", async () => {
  const classifierDir = path.join(dir, "classifier");
  await saveClassifier(classifierDir, model, { classes: ["a", "b", "c", "d", "e"], input: { size: SIZE, convention: "keras-caffe" }, backbone: "fixture" });
  const classifier = await loadClassifier(classifierDir);
  assert.deepEqual(classifier.input, { size: SIZE, convention: "keras-caffe" });
  const { probabilities } = await predictFiles(classifier.model, [image], { ...classifier.input });
  const expected = tf.tidy(() => tf.softmax(model.predict(referenceInputs.get("keras-caffe")!) as tf.Tensor2D).dataSync());
  assert.ok(maxDifference(probabilities, expected) < 1e-5);
  // A classifier.json from before conventions travelled with the model: ImageNet normalisation.
  fs.writeFileSync(path.join(classifierDir, "classifier.json"), JSON.stringify({ classes: ["a", "b", "c", "d", "e"], imageSize: SIZE, backbone: "old" }));
  assert.deepEqual((await loadClassifier(classifierDir)).input, { size: SIZE, convention: "torchvision" });
});
