// Results of experiment runs: saved next to the executed notebook in its run folder, and collected
// back from every run folder of a notebook (interactive runs, `npm run nb` sweeps, queued runs whose
// folders came back from workers, the main job) into one table, so a headless sweep reads like one
// experiment.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../io";
import type { ExperimentResult } from "./train-once";

export const RESULTS_FILE = "results.json";

/** Writes results.json into the run folder the runner gave this kernel (CHARID_RUN_DIR); returns the file, if any. */
export function saveResults(results: readonly ExperimentResult[], runDir = process.env.CHARID_RUN_DIR ?? ""): string | undefined {
  if (!runDir) return undefined;
  const file = path.join(runDir, RESULTS_FILE);
  writeJsonAtomic(file, results);
  return file;
}

export interface CollectedResult extends ExperimentResult {
  /** The run folder, relative to the runs root, e.g. "04-freeze-sweep/2026-11-28T10-00-00Z-seed=2". */
  run: string;
  /** The parameters the run overrode (params.json), as "k=v" pairs. */
  params: string;
  /** The queue worker that ran it (`npm run nb -- --queue`); absent for runs on this machine. */
  worker?: string;
}

/**
 * Every result of every run of `notebook` (its file stem, e.g. "04-freeze-sweep") under `runsRoot`:
 * runs/<notebook>/<run>/ and the main job's runs/main/<notebook>/<run>/, oldest first.
 */
export function collectResults(notebook: string, runsRoot = defaultRunsRoot()): CollectedResult[] {
  const folders = [path.join(runsRoot, notebook), path.join(runsRoot, "main", notebook)]
    .filter((dir) => fs.existsSync(dir))
    .flatMap((dir) => fs.readdirSync(dir).map((name) => path.join(dir, name)))
    .filter((dir) => fs.existsSync(path.join(dir, RESULTS_FILE)))
    .sort((a, b) => path.basename(a).localeCompare(path.basename(b)));
  return folders.flatMap((dir) => {
    const results = JSON.parse(fs.readFileSync(path.join(dir, RESULTS_FILE), "utf8")) as ExperimentResult[];
    const params = readParams(dir);
    const worker = readWorker(dir);
    return results.map((result) => ({ ...result, run: path.relative(runsRoot, dir), params, ...(worker ? { worker } : {}) }));
  });
}

/** The runs root of the run this kernel belongs to (CHARID_RUN_DIR = <root>[/main]/<notebook>/<run>), else "runs". */
function defaultRunsRoot(): string {
  const runDir = process.env.CHARID_RUN_DIR;
  if (!runDir) return "runs";
  const root = path.dirname(path.dirname(runDir));
  return path.basename(root) === "main" ? path.dirname(root) : root;
}

function readParams(dir: string): string {
  try {
    const params = JSON.parse(fs.readFileSync(path.join(dir, "params.json"), "utf8")) as Record<string, unknown>;
    return Object.entries(params).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(" ");
  } catch {
    return "";
  }
}

function readWorker(dir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8")) as { queued?: { worker?: string } }).queued?.worker;
  } catch {
    return undefined;
  }
}

export interface SettingSummary {
  label: string;
  runs: number;
  mean: number;
  min: number;
  max: number;
  /** Sample standard deviation (0 for one run). */
  std: number;
  meanSeconds: number;
}

/** Best validation accuracy per setting (by label) over its runs (seeds), in first-seen order. */
export function summarizeByLabel(results: readonly ExperimentResult[]): SettingSummary[] {
  const groups = new Map<string, ExperimentResult[]>();
  for (const r of results) groups.set(r.label, [...(groups.get(r.label) ?? []), r]);
  return [...groups].map(([label, runs]) => {
    const accuracies = runs.map((r) => r.bestValidAccuracy);
    const mean = accuracies.reduce((a, b) => a + b, 0) / runs.length;
    const variance = runs.length > 1 ? accuracies.reduce((s, a) => s + (a - mean) ** 2, 0) / (runs.length - 1) : 0;
    return {
      label,
      runs: runs.length,
      mean,
      min: Math.min(...accuracies),
      max: Math.max(...accuracies),
      std: Math.sqrt(variance),
      meanSeconds: runs.reduce((s, r) => s + r.seconds, 0) / runs.length,
    };
  });
}

/** For tables: percentages and seconds rounded, one row per run. */
export function resultRows(results: readonly (ExperimentResult & { run?: string; worker?: string })[]): Record<string, string | number>[] {
  const queued = results.some((r) => r.worker);
  return results.map((r) => ({
    ...(r.run ? { run: r.run } : {}),
    ...(queued ? { "ran on": r.worker ?? "this machine" } : {}),
    setting: r.label,
    seed: r.seed,
    "best valid acc": `${(100 * r.bestValidAccuracy).toFixed(2)}%`,
    "at epoch": r.bestEpoch,
    "last valid acc": `${(100 * r.finalValidAccuracy).toFixed(2)}%`,
    "trainable params": r.trainableParams,
    "wall time (s)": Number(r.seconds.toFixed(1)),
    "feature extraction (s)": Number(r.extractSeconds.toFixed(1)),
    cached: r.cached ? "yes" : "no",
  }));
}
