import type { Params } from "./parameters";
import type { Progress } from "./progress";

export interface RunOptions {
  /** Path of the .ipynb to run. */
  notebook: string;
  /** Overrides for variables of the cell tagged `parameters`. */
  params?: Params;
  /** Exact run folder; default `<runsRoot>/<notebook stem>/<UTC stamp>[-<label>]`. */
  outDir?: string;
  /** Default `<project root>/runs`. */
  runsRoot?: string;
  label?: string;
  /** Seconds a single cell may run; unlimited by default. */
  timeoutPerCell?: number;
  /** No progress lines on stderr. */
  quiet?: boolean;
  /** Where per-cell progress goes instead of stderr (a queue worker reports it to the job). */
  progress?: Progress;
}

export interface CellRecord {
  /** Index in the executed notebook's cells (which includes the injected parameters cell). */
  index: number;
  firstLine: string;
  seconds: number;
  status: "ok" | "error";
}

export interface RunFailure {
  /** The failing cell, or null when the kernel failed outside any cell (e.g. at start). */
  cellIndex: number | null;
  firstLine?: string;
  /** The kernel's error text: a type error with line:column, or a stack trace. */
  message: string;
}

/** What `run.json` holds. */
export interface RunResult {
  status: "ok" | "failed";
  notebook: string;
  runDir: string;
  executedNotebook: string;
  params: Params;
  label?: string;
  startedAt: string;
  seconds: number;
  cells: CellRecord[];
  trusted: boolean;
  error?: RunFailure;
  /** Why each kernel that failed to start before the first cell was replaced by a fresh one. */
  kernelRetries?: string[];
  /** Set when the run was a queued job (`npm run nb -- --queue`) executed by `npm run worker`. */
  queued?: QueuedRunInfo;
}

export interface QueuedRunInfo {
  jobId: string;
  /** The worker's name, <hostname>:<pid> unless given. */
  worker: string;
  commit: string;
  /** 1 for the first try; more after a retry or a worker that vanished. */
  attempt: number;
  submittedFrom: string;
}
