// The training loss's label smoothing against PyTorch's CrossEntropyLoss(label_smoothing=ε), the
// test-time oracle, on the same logits and labels.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { selectBackend } from "../lib/backend";
import { trainingLoss } from "../lib/parallel/protocol";
import { Learner } from "../lib/train";

test.before(async () => {
  await selectBackend("wasm", () => undefined);
});

const TORCH = `
import json, sys, torch
d = json.load(sys.stdin)
logits = torch.tensor(d["logits"]).reshape(d["rows"], d["classes"])
labels = torch.tensor(d["labels"])
print(json.dumps([torch.nn.functional.cross_entropy(logits, labels, label_smoothing=e).item() for e in d["eps"]]))
`;

test("trainingLoss matches PyTorch's cross_entropy with label_smoothing 0, 0.1 and 0.3 within 1e-5", () => {
  const [rows, classes] = [7, 5];
  const logits = Array.from({ length: rows * classes }, (_, i) => Math.sin(i * 1.7) * 4);
  const labels = Array.from({ length: rows }, (_, i) => (i * 3) % classes);
  const eps = [0, 0.1, 0.3];
  const reference: number[] = JSON.parse(execFileSync("/usr/bin/python3", ["-c", TORCH], { input: JSON.stringify({ logits, labels, rows, classes, eps }) }).toString());
  const ours = eps.map((e) => tf.tidy(() => trainingLoss(tf.tensor2d(logits, [rows, classes]), tf.tensor1d(labels, "int32"), classes, e).dataSync()[0]));
  ours.forEach((loss, i) => assert.ok(Math.abs(loss - reference[i]) < 1e-5, `ε ${eps[i]}: ${loss} vs PyTorch ${reference[i]}`));
  assert.ok(ours[1] !== ours[0] && ours[2] !== ours[1], "ε changes the loss");
});

test("a smoothing outside [0, 1) is refused by the learner", () => {
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2 })] });
  const options = { model, groups: [{ name: "all", variables: model.trainableWeights, lr: 0.1 }], train: { size: 0, batches: async function* () {} }, classes: ["a", "b"] };
  assert.throws(() => new Learner({ ...options, labelSmoothing: 1 }), /labelSmoothing must be in \[0, 1\)/);
  assert.throws(() => new Learner({ ...options, labelSmoothing: -0.1 }), /labelSmoothing/);
  model.dispose();
});
