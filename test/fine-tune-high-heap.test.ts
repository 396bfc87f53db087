// Fine-tuning a real trained model with the wasm heap past 2 GiB, where a pointer read as signed
// once broke BatchNorm: training accuracy rose while validation stayed at chance, one class
// predicted for every image. The model is the embedded backbone, whose BatchNorm statistics were
// learnt (a fixture's defaults of 0 and 1 hid the bug); every layer trains, moving statistics included.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { selectBackend } from "../lib/backend";
import { heapOffset, type WasmBackend } from "../lib/backends/wasm-training/wasm-backend";
import { buildManifest, scanDataset, stratifiedSplit, trainingImages, validationImages } from "../lib/data";
import { EMBEDDED_CLASSES, generateDataset } from "../lib/generate";
import { buildBackbone } from "../lib/models";
import { imageSource, Learner, loadMatchingWeights, nonFiniteWeights } from "../lib/train";
import { resolveWeights } from "../lib/weights";
import { TWO_GIB, useHighHeapWasm } from "./helpers/high-heap";

const CLASSES = 6;
let dir: string;

before(async () => {
  useHighHeapWasm();
  await selectBackend("wasm", () => {});
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-high-heap-"));
  await generateDataset({ outDir: dir, classes: EMBEDDED_CLASSES.slice(0, CLASSES), imagesPerClass: 20, testSize: 6, heldBackPerClass: 0, seed: 3, onProgress: () => {} });
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

test("the embedded backbone fine-tuned past 2 GiB of wasm heap: validation in inference mode tracks training", async () => {
  const scan = await scanDataset(dir);
  const manifest = buildManifest(scan, stratifiedSplit(scan.images, { validFraction: 0.25, seed: 1 }), { seed: 1, validFraction: 0.25 });
  const model = await buildBackbone("mobilenet_v2", CLASSES, { widthMultiplier: 0.5, inputSize: 96, seed: 1 });
  await loadMatchingWeights(model, resolveWeights("embedded"));
  const options = { batchSize: 16, size: 96, seed: 1 };
  const learner = new Learner({
    model,
    groups: [{ name: "all", variables: model.trainableWeights, lr: 1e-3 }],
    train: imageSource(manifest, trainingImages(manifest), { ...options, shuffle: true }),
    valid: imageSource(manifest, validationImages(manifest), options),
    classes: manifest.classes,
  });
  const probe = tf.zeros([4]);
  assert.ok(heapOffset(tf.backend() as unknown as WasmBackend, probe) >= TWO_GIB, "tensors are not above 2 GiB");
  probe.dispose();

  const records = await learner.fit(4);
  const last = records[records.length - 1];
  const trainInInference = await learner.evaluate(imageSource(manifest, trainingImages(manifest), options));
  const valid = await learner.evaluate(learner.valid!);
  const summary = `train ${records.map((r) => r.trainAccuracy.toFixed(2))}, valid ${records.map((r) => r.validAccuracy!.toFixed(2))}, ` +
    `train images in inference mode ${trainInInference.accuracy.toFixed(2)}, heap ${last.wasmHeapBytes}`;
  console.log(summary);
  assert.deepEqual(nonFiniteWeights(model), []);
  assert.ok(last.wasmHeapBytes! > TWO_GIB, summary);
  assert.ok(last.trainAccuracy >= 0.6, `training did not learn: ${summary}`);
  // The same images in inference mode (moving statistics) score about as in training mode (batch statistics).
  assert.ok(trainInInference.accuracy >= last.trainAccuracy - 0.2, summary);
  assert.ok(valid.accuracy >= 3 / CLASSES, `validation near chance: ${summary}`);
  assert.ok(new Set(valid.predictions).size >= CLASSES - 1, `validation predicts ${new Set(valid.predictions).size} classes: ${summary}`);
  await learner.dispose();
  model.dispose();
});
