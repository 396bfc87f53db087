// Stratified k folds (lib/data/folds.ts): a partition, balanced per class and overall, seeded.
import { test } from "node:test";
import assert from "node:assert/strict";
import { foldParts, stratifiedFolds, stratifiedSample } from "../lib/data/folds";

// Uneven classes: 17, 5, 2, 9 images, interleaved.
const labels = [...Array(17).fill("a"), ...Array(5).fill("b"), ...Array(2).fill("c"), ...Array(9).fill("d")].map((l, i, all) => all[(i * 7) % all.length]);

test("every image is in exactly one fold's validation part, and in the training part of every other fold", () => {
  const k = 4;
  const folds = stratifiedFolds(labels, k, 3);
  assert.ok(folds.every((f) => Number.isInteger(f) && f >= 0 && f < k));
  const seen = new Array(labels.length).fill(0);
  for (let fold = 0; fold < k; fold++) {
    const { train, valid } = foldParts(folds, fold);
    assert.equal(train.length + valid.length, labels.length);
    assert.deepEqual(new Set([...train, ...valid]).size, labels.length, "train and valid are disjoint and cover everything");
    for (const i of valid) seen[i]++;
  }
  assert.ok(seen.every((n) => n === 1), "each image validated once");
});

test("each class is spread evenly (counts per fold differ by at most one), so are fold sizes", () => {
  for (const k of [2, 3, 5]) {
    const folds = stratifiedFolds(labels, k, 11);
    for (const cls of new Set(labels)) {
      const counts = Array.from({ length: k }, (_, f) => folds.filter((x, i) => x === f && labels[i] === cls).length);
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `class ${cls}, k ${k}: ${counts}`);
    }
    const sizes = Array.from({ length: k }, (_, f) => folds.filter((x) => x === f).length);
    assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `fold sizes ${sizes}`);
  }
});

test("the same seed gives the same folds, another seed others; bad k is refused", () => {
  assert.deepEqual(stratifiedFolds(labels, 3, 5), stratifiedFolds(labels, 3, 5));
  assert.notDeepEqual(stratifiedFolds(labels, 3, 5), stratifiedFolds(labels, 3, 6));
  assert.throws(() => stratifiedFolds(labels, 1, 0), /k must be/);
  assert.throws(() => stratifiedFolds(["a"], 2, 0), /cannot make 2 folds/);
});

test("a stratified sample keeps about the asked share of every class", () => {
  const sample = stratifiedSample(labels, 11, 1);
  assert.ok(sample.length >= 10 && sample.length <= 12, `${sample.length}`);
  assert.equal(sample.filter((i) => labels[i] === "a").length, 6);
  assert.deepEqual(stratifiedSample(labels, 0, 1).length, labels.length);
});
