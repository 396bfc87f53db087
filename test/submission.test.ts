import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { imageId, readAnswerKey, scoreSubmission, writeProbabilities, writeSubmission, type Prediction } from "../lib/submission";

const classes = ["pikachu", "winnie, the pooh"];
const predictions: Prediction[] = [
  { file: "000002.jpg", label: "pikachu", probabilities: [0.9, 0.1] },
  { file: "000010.jpeg", label: "winnie, the pooh", probabilities: [0.2, 0.8] },
  { file: "000001.jpg", label: "pikachu", probabilities: [0.5, 0.5], error: "truncated JPEG" },
];

test("the contest file has one row per image, sorted ids without extension, configurable columns", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-sub-"));
  const file = path.join(dir, "submission.csv");
  writeSubmission(file, predictions, { id: "image", label: "character" });
  assert.equal(fs.readFileSync(file, "utf8"), 'image,character\n000001,pikachu\n000002,pikachu\n000010,"winnie, the pooh"\n');
  writeProbabilities(path.join(dir, "probabilities.csv"), predictions, classes);
  const lines = fs.readFileSync(path.join(dir, "probabilities.csv"), "utf8").trim().split("\n");
  assert.equal(lines.length, 4);
  assert.equal(lines[0], 'id,pikachu,"winnie, the pooh",unreadable');
  assert.equal(lines[1], "000001,0.500000,0.500000,truncated JPEG");
  assert.deepEqual(fs.readdirSync(dir).sort(), ["probabilities.csv", "submission.csv"], "no temporary files left");
  fs.rmSync(dir, { recursive: true, force: true });
});

test("scoring against an answer key counts exact matches and refuses missing rows", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-sub-"));
  const key = path.join(dir, "answers.csv");
  fs.writeFileSync(key, 'file,label\n000001.jpg,pikachu\n000002.jpg,"winnie, the pooh"\n000010.jpeg,"winnie, the pooh"\n');
  const answers = readAnswerKey(key);
  assert.equal(answers.get("000002"), "winnie, the pooh");
  assert.deepEqual(scoreSubmission(predictions, answers), { accuracy: 2 / 3, correct: 2, total: 3 });
  assert.throws(() => scoreSubmission(predictions.slice(1), answers), /1 test images have no prediction \(e.g. 000002\)/);
  assert.equal(imageId("sub/dir/a.b.jpg"), "a.b");
  fs.rmSync(dir, { recursive: true, force: true });
});
