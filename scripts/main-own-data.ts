// `npm start -- --data DIR`: the main job's notebooks 01, 05 and 06 on a contest folder of the user's
// own: where each notebook reads and writes, the checks made before any notebook runs, and the summary.
import * as fs from "node:fs";
import * as path from "node:path";
import type { Params } from "../lib/runner";
import { parseCsvLine, readAnswerKey } from "../lib/submission";

/** Split, training and submission: the notebooks that take a contest folder to a submission. */
export const OWN_DATA_NOTEBOOKS = ["01", "05", "06"];

/** Looked up in DIR when no --answer-key is given: the embedded default's name for its key. */
export const ANSWER_KEY_NAME = "test_answers.csv";

const CONTEST_LAYOUT = "DIR/train/<class>/<image> (one folder per class) and DIR/test/<image>";

/** Where a run on DIR reads and writes, named after DIR so that the embedded default's files stay. */
export interface OwnDataPaths {
  /** Absolute path of DIR. */
  dataDir: string;
  /** DIR's base name, made safe for a file name. */
  name: string;
  /** These are relative to the project root, where the notebooks run. */
  manifestPath: string;
  checkpointDir: string;
  modelDir: string;
  submissionDir: string;
  /** Absolute: the run folders of notebooks 01, 05 and 06. */
  runsRoot: string;
}

export function ownDataPaths(dataDir: string, root: string): OwnDataPaths {
  const absolute = path.resolve(dataDir);
  const name = path.basename(absolute).replace(/[^A-Za-z0-9._-]/g, "_") || "data";
  return {
    dataDir: absolute,
    name,
    manifestPath: `data/splits/${name}.json`,
    checkpointDir: `data/checkpoints/05-${name}`,
    modelDir: `data/models/05-${name}`,
    submissionDir: `data/submissions/${name}`,
    runsRoot: path.join(root, "runs", `main-${name}`),
  };
}

/** Throws, naming DIR and the expected layout, unless DIR has class folders under train/ (and a test/ when 06 runs). */
export function checkContestFolder(dataDir: string, needsTest: boolean): void {
  const expected = `--data expects a contest folder: ${CONTEST_LAYOUT}`;
  if (!isDirectory(dataDir)) throw new Error(`${dataDir} does not exist or is not a folder; ${expected}`);
  const train = path.join(dataDir, "train");
  if (!isDirectory(train)) throw new Error(`${dataDir} has no train/ folder; ${expected}`);
  const classes = fs.readdirSync(train, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith("."));
  if (classes.length === 0) throw new Error(`${train} has no class folders; ${expected}`);
  if (needsTest && !isDirectory(path.join(dataDir, "test"))) {
    throw new Error(`${dataDir} has no test/ folder for notebook 06 to predict; ${expected} (or --only 01,05 to train without a submission)`);
  }
}

/** `--answer-key FILE` when given (it must exist), else DIR/test_answers.csv when there, else "" (none). */
export function findAnswerKey(dataDir: string, given: string | undefined): string {
  if (given !== undefined) {
    if (!fs.existsSync(given)) throw new Error(`--answer-key ${given} does not exist; pass a CSV with a header and "file,label" rows`);
    return given;
  }
  const inData = path.join(dataDir, ANSWER_KEY_NAME);
  return fs.existsSync(inData) ? inData : "";
}

/** What each notebook gets on top of the main job's settings: DIR, the paths named after it, the key. */
export function ownDataParams(paths: OwnDataPaths, answerKey: string): Record<string, Params> {
  const { manifestPath, checkpointDir, modelDir } = paths;
  return {
    "01": { dataDir: paths.dataDir, manifestPath },
    "05": { manifestPath, checkpointDir, modelDir },
    "06": { modelDir, manifestPath, outDir: paths.submissionDir, answerKey },
  };
}

export interface EarlierOutput {
  reader: string;
  writer: string;
  param: string;
  what: string;
}

/** What a notebook reads that an earlier one writes: needed when --only leaves the writer out. */
export const OWN_DATA_EARLIER_OUTPUTS: readonly EarlierOutput[] = [
  { reader: "05", writer: "01", param: "manifestPath", what: "the split" },
  { reader: "06", writer: "05", param: "modelDir", what: "the trained classifier" },
];

/** Throws when a notebook left out by --only had to write what a selected one reads. */
export function checkEarlierOutputs(selected: readonly string[], params: Record<string, Params>, root: string, outputs: readonly EarlierOutput[] = OWN_DATA_EARLIER_OUTPUTS): void {
  for (const { reader, writer, param, what } of outputs) {
    if (!selected.includes(reader) || selected.includes(writer)) continue;
    const file = String(params[reader]?.[param]);
    if (!fs.existsSync(path.resolve(root, file))) {
      throw new Error(`notebook ${reader} reads ${what} from ${file}, which notebook ${writer} writes: run it too (--only ${writer},${reader}) or drop --only`);
    }
  }
}

export interface SubmissionScore {
  accuracy: number;
  correct: number;
  total: number;
}

/** The rows of a submission CSV, id -> label (the first two columns, whatever their names). */
export function readSubmission(file: string): Map<string, string> {
  const lines = fs.readFileSync(file, "utf8").trim().split(/\r?\n/).slice(1);
  return new Map(lines.map((line) => parseCsvLine(line)).map(([id, label]) => [id, label]));
}

/** Accuracy of a submission against an answer key; every image of the key must have a row. */
export function scoreSubmissionFile(submissionFile: string, answerKey: string): SubmissionScore {
  const predicted = readSubmission(submissionFile);
  const answers = readAnswerKey(answerKey);
  const missing = [...answers.keys()].filter((id) => !predicted.has(id));
  if (missing.length) {
    throw new Error(`${answerKey} lists ${missing.length} image(s) with no row in ${submissionFile} (e.g. ${missing[0]}): is it the key of DIR/test?`);
  }
  const correct = [...answers].filter(([id, label]) => predicted.get(id) === label).length;
  return { accuracy: answers.size ? correct / answers.size : NaN, correct, total: answers.size };
}

/** The summary's lines: where the submission is, and its accuracy when there is a key. */
export function submissionSummary(submissionParams: Params, root: string): string[] {
  const csv = path.join(String(submissionParams.outDir), "submission.csv");
  const rows = readSubmission(path.resolve(root, csv)).size;
  const lines = [`submission: ${csv} (${rows} rows)`];
  const answerKey = String(submissionParams.answerKey ?? "");
  if (!answerKey) {
    lines.push(`accuracy: no answer key (none given with --answer-key, no ${ANSWER_KEY_NAME} in the data folder): submit the file to the leaderboard`);
    return lines;
  }
  const score = scoreSubmissionFile(path.resolve(root, csv), answerKey);
  lines.push(`accuracy: ${(100 * score.accuracy).toFixed(2)}% (${score.correct}/${score.total}) against ${answerKey}`);
  return lines;
}

/** `-p 05:phaseEpochs=[1]` -> notebook "05", name "phaseEpochs", the text "[1]". */
export function splitNotebookParam(text: string): { notebook: string; name: string; value: string } {
  const match = /^(\d\d):([A-Za-z_$][\w$]*)=(.*)$/s.exec(text);
  if (!match) throw new Error(`-p expects NN:NAME=VALUE (e.g. -p 05:phaseEpochs=[1,0,0]), got "${text}"`);
  return { notebook: match[1], name: match[2], value: match[3] };
}

function isDirectory(p: string): boolean {
  return fs.existsSync(p) && fs.statSync(p).isDirectory();
}
