import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { buildModel, getWeights, type Architecture } from "../lib/models";
import { importTorchvisionWeights, parseStateDict, readStateDict } from "../lib/torch";
import { loadMatchingWeights } from "../lib/train/export";
import { saveTorchCheckpoints, saveTorchViews, torchMissing, type TorchCheckpoint } from "./helpers/torch-reference";

const SIZE = 64;
const CLASSES = 10;
const ARCHS: Architecture[] = ["resnet18", "resnet50", "resnext50_32x4d", "mobilenet_v2"];
const slowTests = process.env.CHARID_SLOW_TESTS === "1";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-torch-import-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// One Python run for every checkpoint, started now; the tests wait for it.
const checkpoints = torchMissing ? undefined : saveTorchCheckpoints(dir, SIZE, CLASSES, ARCHS);
checkpoints?.catch(() => undefined);

let viewsRun: ReturnType<typeof saveTorchViews> | undefined;
/** views.pth (also as views-legacy.pth and views-deflated.pth) and module.pth in `dir`, saved once; the values of the views. */
function views(): ReturnType<typeof saveTorchViews> {
  viewsRun ??= saveTorchViews(dir);
  return viewsRun;
}

async function checkpoint(arch: Architecture): Promise<TorchCheckpoint> {
  const saved = (await checkpoints)?.get(arch);
  if (!saved) throw new Error(`no checkpoint of ${arch}`);
  return saved;
}

async function assertSameLogits(t: { diagnostic(message: string): void }, arch: Architecture, saved: TorchCheckpoint): Promise<void> {
  const model = buildModel(arch, { inputSize: SIZE, numClasses: CLASSES });
  try {
    const report = await importTorchvisionWeights(model, saved.file);
    assert.equal(report.loaded, model.weights.length);
    assert.deepEqual(report.skippedHead, []);
    const logits = tf.tidy(() => (model.predict(tf.tensor(saved.input, [2, SIZE, SIZE, 3])) as tf.Tensor).dataSync());
    const diff = maxAbsDiff(logits, saved.logits);
    const largest = maxAbsDiff(saved.logits, new Float32Array(saved.logits.length));
    t.diagnostic(`${arch}: max |logit difference| ${diff.toExponential(2)} (largest |logit| ${largest.toFixed(3)})`);
    assert.ok(diff < 1e-4 && diff < 1e-5 * largest, `max |logit difference| ${diff}, largest |logit| ${largest}`);
  } finally {
    model.dispose();
  }
}

for (const arch of ARCHS) {
  test(`${arch}: a torchvision .pth gives PyTorch's logits`, { skip: torchMissing }, async (t) => {
    await assertSameLogits(t, arch, await checkpoint(arch));
  });
}

test("resnext101_32x8d: a torchvision .pth gives PyTorch's logits (slow)", { skip: torchMissing ?? (slowTests ? undefined : "set CHARID_SLOW_TESTS=1") }, async (t) => {
  const saved = (await saveTorchCheckpoints(dir, SIZE, CLASSES, ["resnext101_32x8d"])).get("resnext101_32x8d") as TorchCheckpoint;
  await assertSameLogits(t, "resnext101_32x8d", saved);
});

test("a head for another number of classes stays fresh; loadMatchingWeights reads .pth", { skip: torchMissing }, async () => {
  const { file } = await checkpoint("resnet18");
  const imported = buildModel("resnet18", { inputSize: SIZE, numClasses: CLASSES });
  const other = buildModel("resnet18", { inputSize: SIZE, numClasses: 3 });
  try {
    await importTorchvisionWeights(imported, file);
    const report = await importTorchvisionWeights(other, file);
    assert.equal(report.loaded, other.weights.length - 2);
    assert.equal(report.skippedHead.length, 2);
    assert.match(report.skippedHead[0], /^fc\.weight: \[10,512\] in the file .* fc\/kernel is \[512,3\]/);

    const transfer = await loadMatchingWeights(other, file);
    assert.deepEqual(transfer.missing, ["fc/kernel", "fc/bias"]);
    assert.deepEqual(transfer.mismatched, []);
    const [expected, actual] = [getWeights(imported), getWeights(other)];
    for (const name of ["conv1/kernel", "layer4.1.bn2/moving_variance", "layer2.0.downsample.0/kernel"]) {
      assert.deepEqual(actual.get(name), expected.get(name), name);
    }
  } finally {
    imported.dispose();
    other.dispose();
  }
});

for (const file of ["views.pth", "views-legacy.pth", "views-deflated.pth"]) {
  test(`${file}: non-contiguous views, shared storages and other dtypes read as PyTorch sees them`, { skip: torchMissing }, async () => {
    const expected = await views();
    const stateDict = readStateDict(path.join(dir, file));
    assert.deepEqual([...stateDict.keys()], Object.keys(expected));
    for (const [key, { shape, values }] of Object.entries(expected)) {
      const tensor = stateDict.get(key);
      assert.ok(tensor, key);
      assert.deepEqual(tensor.shape, shape, key);
      const actual = Array.from(tensor.data as ArrayLike<number | bigint>, Number);
      // float64 values arrive as float32.
      assert.ok(maxAbsDiff(actual, values) <= 1e-6 * Math.max(1, ...values.map(Math.abs)), `${key}: ${actual} vs ${values}`);
    }
    assert.equal(stateDict.get("long")?.dtype, "int64");
    assert.equal(stateDict.get("half")?.dtype, "float16");
  });
}

test("a whole pickled module is refused with a reason", { skip: torchMissing }, async () => {
  await views();
  assert.throws(() => readStateDict(path.join(dir, "module.pth")), /unsupported global torch\.nn\.modules\.linear\.Linear .*save model\.state_dict\(\)/);
});

test("a truncated or corrupt .pth gives a clear error", { skip: torchMissing }, async () => {
  const bytes = fs.readFileSync((await checkpoint("resnet18")).file);
  assert.throws(() => parseStateDict(bytes.subarray(0, bytes.length >> 1), "half.pth"), /half\.pth is not a zip archive or is truncated/);
  const flipped = Buffer.from(bytes);
  flipped[bytes.length >> 1] ^= 0xff;
  assert.throws(() => parseStateDict(flipped, "flipped.pth"), /flipped\.pth is corrupt: entry resnet18\/data\/\d+ fails its size or CRC-32 check/);
  assert.throws(() => parseStateDict(Buffer.from("not a checkpoint"), "text.pth"), /text\.pth is not a PyTorch checkpoint/);
  await views();
  const legacy = fs.readFileSync(path.join(dir, "views-legacy.pth"));
  assert.throws(() => parseStateDict(legacy.subarray(0, legacy.length - 10), "legacy.pth"), /legacy\.pth is truncated: storage \d+ ends past the end of the file/);
  assert.throws(() => parseStateDict(legacy.subarray(0, 100), "legacy.pth"), /legacy\.pth: the pickle ends unexpectedly/);
});

test("a state dict of another architecture is refused, naming the keys", { skip: torchMissing }, async () => {
  const resnet50 = buildModel("resnet50", { inputSize: SIZE, numClasses: CLASSES });
  try {
    const fromResnet18 = importTorchvisionWeights(resnet50, (await checkpoint("resnet18")).file);
    await assert.rejects(fromResnet18, /does not fit resnet50[^]*missing from the file: layer1\.0\.conv3\/kernel[^]*another shape: layer1\.0\.conv1\.weight: \[64,64,3,3\]/);
    const fromMobileNet = importTorchvisionWeights(resnet50, (await checkpoint("mobilenet_v2")).file);
    await assert.rejects(fromMobileNet, /missing from the file: conv1\/kernel[^]*unexpected keys in the file: features\.0\.0\.weight/);
  } finally {
    resnet50.dispose();
  }
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
