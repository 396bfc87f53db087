// Grad-CAM (lib/explain): the maps equal PyTorch's same computation on the same weights and
// images; the cut sits before the global pooling of every backbone the project loads; overlays.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import { loadBackbone } from "../lib/backbone";
import { gradCam, gradCamOverlays, gradCamSplit, jet } from "../lib/explain";
import { buildModel, setWeights } from "../lib/models";
import { torchMissing, torchToWeights } from "./helpers/torch-reference";

before(async () => {
  await selectBackend("wasm", () => undefined);
});

function torchGradCam(size: number, numClasses: number): Map<string, { shape: number[]; values: Float32Array }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-gradcam-"));
  try {
    execFileSync("/usr/bin/python3", [path.join(__dirname, "helpers", "grad_cam_reference.py"), dir, String(size), String(numClasses)]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, "tensors.json"), "utf8")) as { name: string; shape: number[]; offset: number }[];
    const bytes = fs.readFileSync(path.join(dir, "tensors.bin"));
    return new Map(index.map(({ name, shape, offset }) => {
      const count = shape.reduce((a, b) => a * b, 1);
      return [name, { shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4)) }];
    }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

test("Grad-CAM maps equal PyTorch's on the same mobilenet_v2 weights and images (within 1e-4)", { skip: torchMissing }, (t) => {
  const size = 96;
  const tensors = torchGradCam(size, 5);
  const model = buildModel("mobilenet_v2", { inputSize: size, numClasses: 5 });
  const state = new Map([...tensors].filter(([name]) => !["classes", "cam", "maps"].includes(name)));
  setWeights(model, torchToWeights(model, state));
  const split = gradCamSplit(model);
  assert.equal(split.cut, "features.18.2", "the last conv stage: features.18's ReLU6");
  const input = tensors.get("input")!;
  const classes = Array.from(tensors.get("classes")!.values);
  const x = tf.tensor4d(input.values, input.shape as [number, number, number, number]);
  const result = gradCam(split, x, classes);
  assert.deepEqual(result.featureSize, [3, 3]);
  const expected = tensors.get("maps")!.values;
  const diff = maxAbsDiff(result.maps, expected);
  t.diagnostic(`max |map difference| ${diff.toExponential(2)}; classes ${classes}`);
  assert.ok(diff < 1e-4, `max difference ${diff}`);
  assert.ok(expected.some((v) => v > 0.5) && expected.some((v) => v < 0.2), "the maps are not flat");
  const predicted = gradCam(split, x);
  assert.equal(predicted.classes[0], classes[0], "default: the predicted class");
  assert.throws(() => gradCam(split, x, [0]), /one class in \[0, 5\) per image/);
  x.dispose();
  model.dispose();
});

test("the cut is the global pooling's input for every backbone family the project loads", async () => {
  const cases: [string, Parameters<typeof loadBackbone>[1], string, number][] = [
    ["mobilenet_v2", { numClasses: 3, imageSize: 64, widthMultiplier: 0.35, weights: "" }, "features.18.2", 2],
    ["resnet18", { numClasses: 3, imageSize: 64, weights: "" }, "layer4.1.relu", 2],
    ["nsfwjs:mobilenet_v2", { numClasses: 3, imageSize: 96 }, "out_relu", 3],
  ];
  for (const [name, options, cut, side] of cases) {
    const net = await loadBackbone(name, options);
    const split = gradCamSplit(net.model);
    assert.equal(split.cut, cut, name);
    const x = tf.randomUniform([2, net.input.size, net.input.size, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const result = gradCam(split, x, [0, 2]);
    assert.deepEqual(result.featureSize, [side, side], name);
    assert.equal(result.maps.length, 2 * net.input.size ** 2);
    assert.ok(result.maps.every((v) => v >= 0 && v <= 1), name);
    // The top of the split is the model's own head: the same probabilities as the model.
    const probs = tf.tidy(() => tf.softmax(net.model.predict(x) as tf.Tensor2D).dataSync());
    assert.ok(maxAbsDiff(result.probabilities, probs) < 1e-5, name);
    x.dispose();
    net.model.dispose();
  }
});

test("overlays: the photo as the network saw it, one blended map per requested class", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-gradcam-"));
  try {
    const file = path.join(dir, "photo.jpg");
    await sharp({ create: { width: 80, height: 60, channels: 3, background: "#3080c0" } }).jpeg().toFile(file);
    const net = await loadBackbone("mobilenet_v2", { numClasses: 4, imageSize: 48, widthMultiplier: 0.35, weights: "" });
    const [two, predicted] = await gradCamOverlays(net.model, net.input, [{ file, classes: [1, 3] }, { file, classes: [] }]);
    assert.equal(two.overlays.length, 2);
    assert.equal(predicted.overlays.length, 1);
    const meta = await sharp(two.overlays[0]).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [48, 48, "png"]);
    assert.deepEqual(two.probabilities, predicted.probabilities);
    assert.deepEqual(jet(0), [0, 0, 128]);
    assert.deepEqual(jet(1), [128, 0, 0]);
    net.model.dispose();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
