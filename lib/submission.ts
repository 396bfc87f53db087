// The contest file: one row per test image, in a fixed order, written atomically.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "./io";

export interface Prediction {
  /** Test image path relative to the test folder (e.g. "000123.jpg"). */
  file: string;
  /** Predicted class name. */
  label: string;
  /** Softmax probabilities, in class order. */
  probabilities: Float32Array | number[];
  /** Why this image could not be read; its label is then the fallback. */
  error?: string;
}

export interface SubmissionColumns {
  id?: string;
  label?: string;
}

/** "000123.jpg" -> "000123": the contest identifies images by file name without extension. */
export function imageId(file: string): string {
  const base = path.basename(file);
  const dot = base.lastIndexOf(".");
  return dot > 0 ? base.slice(0, dot) : base;
}

function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** `id,label` rows sorted by id; column names are configurable. */
export function submissionCsv(predictions: readonly Prediction[], columns: SubmissionColumns = {}): string {
  const rows = [...predictions].sort((a, b) => compare(imageId(a.file), imageId(b.file)));
  const header = `${csvField(columns.id ?? "id")},${csvField(columns.label ?? "label")}\n`;
  return header + rows.map((p) => `${csvField(imageId(p.file))},${csvField(p.label)}\n`).join("");
}

/** One column per class with its probability, plus whether the image could be read. */
export function probabilitiesCsv(predictions: readonly Prediction[], classes: readonly string[], columns: SubmissionColumns = {}): string {
  const rows = [...predictions].sort((a, b) => compare(imageId(a.file), imageId(b.file)));
  const header = [columns.id ?? "id", ...classes, "unreadable"].map(csvField).join(",") + "\n";
  return (
    header +
    rows
      .map((p) => [csvField(imageId(p.file)), ...Array.from(p.probabilities, (v) => v.toFixed(6)), p.error ? csvField(p.error) : ""].join(",") + "\n")
      .join("")
  );
}

export function writeSubmission(file: string, predictions: readonly Prediction[], columns: SubmissionColumns = {}): void {
  writeFileAtomic(file, submissionCsv(predictions, columns));
}

export function writeProbabilities(file: string, predictions: readonly Prediction[], classes: readonly string[], columns: SubmissionColumns = {}): void {
  writeFileAtomic(file, probabilitiesCsv(predictions, classes, columns));
}

/** Reads a `file,label` answer key (the embedded default's test_answers.csv). */
export function readAnswerKey(file: string): Map<string, string> {
  const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/);
  const answers = new Map<string, string>();
  for (const [i, line] of lines.slice(1).entries()) {
    const fields = parseCsvLine(line);
    if (fields.length !== 2) throw new Error(`${file} line ${i + 2}: expected "file,label", got ${JSON.stringify(line)}`);
    answers.set(imageId(fields[0]), fields[1]);
  }
  return answers;
}

/** One CSV record (RFC 4180 quoting; no embedded newlines). */
export function parseCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") fields.push(field), (field = "");
    else field += c;
  }
  fields.push(field);
  return fields;
}

/** Accuracy of the predictions against an answer key; every key entry must have a prediction. */
export function scoreSubmission(predictions: readonly Prediction[], answers: ReadonlyMap<string, string>): { accuracy: number; correct: number; total: number } {
  const predicted = new Map(predictions.map((p) => [imageId(p.file), p.label]));
  const missing = [...answers.keys()].filter((id) => !predicted.has(id));
  if (missing.length) throw new Error(`${missing.length} test images have no prediction (e.g. ${missing[0]})`);
  let correct = 0;
  for (const [id, label] of answers) if (predicted.get(id) === label) correct++;
  return { accuracy: answers.size ? correct / answers.size : NaN, correct, total: answers.size };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
