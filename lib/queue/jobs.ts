// What a queued notebook run is: the job's data (a notebook of the checkout by path, JSON parameters,
// the commit), its id (a hash of what determines the run, so submitting a sweep twice names the same
// jobs), and what a worker hands back.
import { createHash } from "node:crypto";
import type { Params, ParamValue } from "../runner/parameters";
import type { RunResult } from "../runner/types";

export const QUEUE_NAME = "charid-notebooks";
/** How long finished jobs, and the run folders they brought back, stay in Redis. */
export const KEEP_SECONDS = 7 * 24 * 3600;
export const DEFAULT_FETCH_MAX_BYTES = 8 * 2 ** 20;

export interface NotebookJob {
  /** The notebook's path in the checkout, with "/" ("notebooks/04-freeze-sweep.ipynb"). */
  notebook: string;
  params: Params;
  /** The run's label (run folder name): "<--label>-<index>-<params>". */
  label: string;
  /** The submitter's `git rev-parse HEAD`. */
  commit: string;
  /** Submitted from a tree with uncommitted changes (--allow-dirty). */
  dirty: boolean;
  timeoutPerCell?: number;
  /** Files of the run folder larger than this stay on the worker (listed in remote-files.json). */
  fetchMaxBytes: number;
  /** The submitting machine, for messages. */
  submittedFrom: string;
}

/** What a worker returns for a finished run; paths are the worker's. */
export interface JobOutcome {
  worker: string;
  commit: string;
  run: RunResult;
}

/** The run folder as it travels through Redis: small files gzipped, big ones named only. */
export interface PackedFolder {
  worker: string;
  /** The folder on the worker. */
  runDir: string;
  files: { path: string; size: number; gzip: string }[];
  left: { path: string; size: number }[];
}

/** The Redis key holding a job's packed run folder, written by the worker before the job ends. */
export function folderKey(jobId: string): string {
  return `charid:run-folder:${jobId}`;
}

/** Sorted keys at every level, so equal parameters hash equally whatever their order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, canonical((value as Record<string, unknown>)[key])]));
  }
  return value;
}

/** "nb-" and 24 hex digits of the SHA-256 of what determines the run (not who submitted it or what comes back). */
export function jobId(job: NotebookJob): string {
  const { notebook, params, label, commit, dirty, timeoutPerCell } = job;
  const key = JSON.stringify(canonical({ notebook, params, label, commit, dirty, timeoutPerCell: timeoutPerCell ?? null }));
  return "nb-" + createHash("sha256").update(key).digest("hex").slice(0, 24);
}

function isParamValue(value: unknown): value is ParamValue {
  if (value === null || ["string", "number", "boolean"].includes(typeof value)) return true;
  if (Array.isArray(value)) return value.every(isParamValue);
  if (typeof value === "object") return Object.values(value as object).every(isParamValue);
  return false;
}

/** Checks data read from Redis field by field; throws naming the first field that is wrong. */
export function parseJob(data: unknown): NotebookJob {
  const d = data as Partial<Record<keyof NotebookJob, unknown>> | null;
  const fail = (field: string, expected: string): never => {
    throw new Error(`malformed job: ${field} must be ${expected}`);
  };
  if (d === null || typeof d !== "object") return fail("the data", "an object");
  if (typeof d.notebook !== "string") fail("notebook", "a path");
  if (d.params === null || typeof d.params !== "object" || Array.isArray(d.params) || !isParamValue(d.params)) fail("params", "an object of JSON values");
  if (typeof d.label !== "string") fail("label", "a string");
  if (typeof d.commit !== "string" || !/^[0-9a-f]{40}$/.test(d.commit)) fail("commit", "40 hex digits");
  if (typeof d.dirty !== "boolean") fail("dirty", "true or false");
  if (d.timeoutPerCell !== undefined && !(typeof d.timeoutPerCell === "number" && d.timeoutPerCell > 0)) fail("timeoutPerCell", "a positive number");
  if (!(typeof d.fetchMaxBytes === "number" && d.fetchMaxBytes >= 0)) fail("fetchMaxBytes", "a number >= 0");
  if (typeof d.submittedFrom !== "string") fail("submittedFrom", "a string");
  return d as NotebookJob;
}
