// npm start: the main job. Sets up what is missing, generates the embedded default dataset and
// executes every notebook in order, headless, each into runs/main/<notebook>/<time>/.
// With --data DIR: notebooks 01, 05 and 06 on the user's own contest folder instead (see main-own-data.ts);
// with --seeds: notebook 05 once per seed and notebook 06 averaging them (see main-seeds.ts).
import * as fs from "node:fs";
import * as path from "node:path";
import { generateDataset } from "../lib/generate";
import { installKernelSpec, projectRoot } from "../lib/jupyter/kernelspec";
import { formatSeconds, progress } from "../lib/progress";
import { NotebookRunError, runNotebook, type Params, type RunResult } from "../lib/runner";
import { parseValue } from "../lib/runner/cli-args";
import { readNotebook } from "../lib/runner/notebook";
import { declaredParameters, injectParameters } from "../lib/runner/parameters";
import { ensureSystem } from "../lib/setup/system";
import { MAIN_JOB_PARAMS } from "./main-job-params";
import {
  ANSWER_KEY_NAME,
  checkContestFolder,
  checkEarlierOutputs,
  type EarlierOutput,
  findAnswerKey,
  OWN_DATA_NOTEBOOKS,
  ownDataParams,
  ownDataPaths,
  splitNotebookParam,
  submissionSummary,
} from "./main-own-data";
import { parseSeeds, trainingOutputs, withSeeds, type Step } from "./main-seeds";

const USAGE = `usage: npm start [-- --only 01,02] [--images-per-class N] [--test-size N] [--seeds S,S,...] [-p NN:NAME=VALUE ...]
       npm start -- --data DIR [--answer-key FILE] [--only 05,06] [--seeds S,S,...] [-p NN:NAME=VALUE ...]

Generates data/embedded (skipped when it exists with the same settings) and runs every
notebooks/NN-*.ipynb in order but 00 and 07 (long: --only 00,07); executed copies with
outputs go to runs/main/.

  --data DIR          your own contest folder, DIR/train/<class>/<image> and DIR/test/<image>:
                      nothing is generated; notebooks 01, 05 and 06 run on DIR with the main job's
                      settings, writing data/splits/NAME.json, data/models/05-NAME and
                      data/submissions/NAME/submission.csv (NAME: DIR's base name), runs into
                      runs/main-NAME/; prints the submission's path and, with a key, its accuracy
  --answer-key FILE   "file,label" CSV of DIR/test's classes, to score the submission
                      (default: DIR/${ANSWER_KEY_NAME} when it exists)
  --seeds 42,1,2      an ensemble: notebook 05 once per seed (its default seed, 42, in the usual
                      folders, so a finished npm start is reused; others in FOLDER-seedN), then
                      notebook 06 averaging their predictions; each seed is one notebook 05 run
  --only 01,02        run only the notebooks with these numbers
  -p NN:NAME=VALUE    override a parameter of notebook NN, VALUE read as JSON (else taken as a
                      string), e.g. -p '05:phaseEpochs=[4,4,4]'; repeatable`;


/**
 * 00-pretrain takes tens of minutes (its result is committed); 07 adds about 8 minutes to the
 * 15 of the rest on 2 cores at 224 px: both run with `npm start -- --only 00` / `--only 07`.
 */
const SKIPPED_IN_MAIN_JOB = ["00", "07"];

interface MainOptions {
  only?: string[];
  imagesPerClass?: number;
  testSize?: number;
  /** Absolute path of the user's contest folder. */
  data?: string;
  answerKey?: string;
  /** Notebook 05 once per seed, notebook 06 averaging them. */
  seeds?: number[];
  /** -p overrides by notebook number. */
  params: Record<string, Params>;
}

/** What one invocation runs: the notebooks in order with their parameters, and where their run folders go. */
interface JobPlan {
  steps: Step[];
  runsRoot: string;
  generateEmbedded: boolean;
}

/** A path as the user typed it: npm runs scripts in the project root, INIT_CWD is where npm was called. */
function userPath(p: string): string {
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

function parseArgs(argv: string[]): MainOptions {
  const options: MainOptions = { params: {} };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value\n${USAGE}`);
      return argv[++i];
    };
    const count = (flag: string) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} takes a positive whole number`);
      return n;
    };
    switch (argv[i]) {
      case "--only": options.only = value().split(","); break;
      case "--images-per-class": options.imagesPerClass = count("--images-per-class"); break;
      case "--test-size": options.testSize = count("--test-size"); break;
      case "--data": options.data = userPath(value()); break;
      case "--answer-key": options.answerKey = userPath(value()); break;
      case "--seeds": options.seeds = parseSeeds(value()); break;
      case "-p": case "--param": addOverride(options.params, value()); break;
      case "-h": case "--help": console.log(USAGE); process.exit(0);
      default: throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  if (options.data && (options.imagesPerClass || options.testSize)) {
    throw new Error("--images-per-class and --test-size size the generated dataset; with --data nothing is generated: leave them out");
  }
  if (options.answerKey && !options.data) throw new Error("--answer-key scores a submission on your own data: use it with --data DIR");
  return options;
}

function addOverride(params: Record<string, Params>, text: string): void {
  const { notebook, name, value } = splitNotebookParam(text);
  params[notebook] = { ...params[notebook], [name]: parseValue(value) };
}

function notebookNames(root: string, wanted: (name: string) => boolean): string[] {
  return fs
    .readdirSync(path.join(root, "notebooks"))
    .filter((name) => /^\d\d-.*\.ipynb$/.test(name) && wanted(name))
    .sort();
}

/** `--only 05,06-sub` wants notebooks whose file name starts with one of the prefixes. */
function onlyWants(only: string[], name: string): boolean {
  return only.some((prefix) => name.startsWith(prefix));
}

function embeddedPlan(options: MainOptions, root: string): JobPlan {
  const { only } = options;
  const notebooks = notebookNames(root, (name) => (only ? onlyWants(only, name) : !SKIPPED_IN_MAIN_JOB.includes(name.slice(0, 2))));
  const params = mergeParams(MAIN_JOB_PARAMS, options.params);
  checkEarlierOutputs(notebooks.map((name) => name.slice(0, 2)), params, root, EMBEDDED_EARLIER_OUTPUTS);
  return { steps: jobSteps(notebooks, params, options.seeds, root), runsRoot: path.join(root, "runs", "main"), generateEmbedded: true };
}

/** On the embedded default notebook 05 trains on the split notebook 02 expands (the main job's manifestPath). */
const EMBEDDED_EARLIER_OUTPUTS: readonly EarlierOutput[] = [{ reader: "05", writer: "02", param: "manifestPath", what: "the split expanded by the scraped images" }];

/** Checks DIR, the key and what --only leaves out before anything runs. */
function ownDataPlan(options: MainOptions & { data: string }, root: string): JobPlan {
  const { only } = options;
  const notebooks = notebookNames(root, (name) => OWN_DATA_NOTEBOOKS.includes(name.slice(0, 2)) && (!only || onlyWants(only, name)));
  if (notebooks.length === 0) throw new Error(`--data runs notebooks ${OWN_DATA_NOTEBOOKS.join(", ")}; --only ${only?.join(",")} selects none of them`);
  const selected = notebooks.map((name) => name.slice(0, 2));
  checkContestFolder(options.data, selected.includes("06"));
  const paths = ownDataPaths(options.data, root);
  const params = mergeParams(MAIN_JOB_PARAMS, ownDataParams(paths, findAnswerKey(options.data, options.answerKey)), options.params);
  checkEarlierOutputs(selected, params, root);
  return { steps: jobSteps(notebooks, params, options.seeds, root), runsRoot: paths.runsRoot, generateEmbedded: false };
}

/** One step per notebook; with seeds, notebook 05 once per seed and notebook 06 averaging them. */
function jobSteps(notebooks: string[], params: Record<string, Params>, seeds: number[] | undefined, root: string): Step[] {
  const steps = notebooks.map((notebook) => ({ notebook, params: params[notebook.slice(0, 2)] ?? {} }));
  if (!seeds) return steps;
  const [training] = notebookNames(root, (name) => name.startsWith("05-"));
  const defaults = Object.fromEntries(declaredParameters(readNotebook(path.join(root, "notebooks", training))).map((d) => [d.name, d.defaultValue]));
  const base = trainingOutputs(params["05"] ?? {}, { checkpointDir: String(defaults.checkpointDir), modelDir: String(defaults.modelDir) });
  return withSeeds(steps, seeds, base, Number(defaults.seed));
}

function mergeParams(...layers: Record<string, Params>[]): Record<string, Params> {
  const merged: Record<string, Params> = {};
  for (const layer of layers) for (const [nn, params] of Object.entries(layer)) merged[nn] = { ...merged[nn], ...params };
  return merged;
}

/** Every -p names a notebook that runs and a variable of its parameters cell, checked before the first run. */
function checkOverrides(plan: JobPlan, overrides: Record<string, Params>, root: string): void {
  const running = [...new Set(plan.steps.map((step) => step.notebook.slice(0, 2)))];
  for (const nn of Object.keys(overrides)) {
    if (!running.includes(nn)) throw new Error(`-p ${nn}:… overrides notebook ${nn}, which this job does not run (it runs ${running.join(", ") || "none"})`);
  }
  for (const step of plan.steps) {
    const notebook = path.join("notebooks", step.notebook);
    injectParameters(readNotebook(path.join(root, notebook)), step.params, notebook);
  }
}

async function generateEmbedded(root: string, options: MainOptions): Promise<void> {
  const generating = progress("generating the embedded dataset", 0, "images");
  const dataset = await generateDataset({
    outDir: path.join(root, "data", "embedded"),
    imagesPerClass: options.imagesPerClass,
    testSize: options.testSize,
    // Notebook 02's embedded search engine serves these: same classes, new photos (train/test unchanged).
    heldBackPerClass: 10,
    onProgress: (done, total) => generating.update(done, total),
  });
  if (dataset.skipped) console.log(`data/embedded is up to date (${dataset.trainCount} train, ${dataset.testCount} test images)`);
  else generating.finish(`${dataset.trainCount} train, ${dataset.testCount} test`);
}

/** Runs the notebooks in order, stopping at the first that fails. */
async function runNotebooks(plan: JobPlan): Promise<RunResult[]> {
  const results: RunResult[] = [];
  for (const { notebook, params, label } of plan.steps) {
    console.log(`\n=== ${notebook}${label ? ` (${label})` : ""}`);
    try {
      results.push(await runNotebook({ notebook: path.join("notebooks", notebook), params, runsRoot: plan.runsRoot, label }));
    } catch (error) {
      if (!(error instanceof NotebookRunError)) throw error;
      results.push(error.result);
      break;
    }
  }
  return results;
}

function printRuns(results: RunResult[], root: string): void {
  console.log("\nnotebook                         status   time     executed copy");
  for (const r of results) {
    console.log(`${path.basename(r.notebook).padEnd(32)} ${r.status.padEnd(8)} ${formatSeconds(r.seconds).padEnd(8)} ${path.relative(root, r.executedNotebook)}`);
  }
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = projectRoot();
  const plan = options.data ? ownDataPlan({ ...options, data: options.data }, root) : embeddedPlan(options, root);
  checkOverrides(plan, options.params, root);
  process.chdir(root);
  ensureSystem();
  installKernelSpec({ user: true });
  if (plan.generateEmbedded) await generateEmbedded(root, options);

  const results = await runNotebooks(plan);
  printRuns(results, root);
  const failed = results.find((r) => r.status !== "ok");
  if (failed) {
    console.error(`\n${new NotebookRunError(failed).message}`);
    process.exit(1);
  }
  const submission = results.find((r) => path.basename(r.notebook).startsWith("06-"));
  if (options.data && submission) console.log("\n" + submissionSummary(submission.params, root).join("\n"));
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
