import * as fs from "node:fs";
import * as path from "node:path";
import { installKernelSpec, jupyterEnv, KERNEL_DISPLAY_NAME, KERNEL_NAME, projectRoot } from "./jupyter/kernelspec";
import { DriverEvent, executeWithNbclient } from "./runner/driver";
import { NotebookRunError, withImportedFileHint, withoutKernelFrames } from "./runner/errors";
import { cellSource, firstLine, Notebook, readNotebook, writeNotebook } from "./runner/notebook";
import { injectParameters, Params } from "./runner/parameters";
import { formatSeconds } from "./progress";
import { Progress, silentProgress, terminalProgress } from "./runner/progress";
import { createRunFolder } from "./runner/run-folder";
import type { CellRecord, RunFailure, RunOptions, RunResult } from "./runner/types";

export { NotebookRunError } from "./runner/errors";
export type { ParamValue, Params } from "./runner/parameters";
export type { CellRecord, RunFailure, RunOptions, RunResult } from "./runner/types";

// A kernel answers its first request within seconds on a quiet machine; on a loaded one (the clean
// room's chroot beside other jobs) one start-up once took over 60 s, and nothing had failed.
const KERNEL_STARTUP_SECONDS = 180;

/**
 * Runs a notebook papermill-style: overrides injected after its `parameters` cell, executed
 * through the `charid` kernel, saved with outputs (also on failure) into a run folder with
 * params.json and run.json. Rejects with NotebookRunError naming the failing cell and its error.
 */
export async function runNotebook(opts: RunOptions): Promise<RunResult> {
  const params = opts.params ?? {};
  const prepared = injectParameters(readNotebook(opts.notebook), params, opts.notebook);
  const result = await execute(prepared, opts, params);
  if (result.status === "failed") throw new NotebookRunError(result);
  return result;
}

export interface SweepResult {
  results: RunResult[];
  failed: RunResult[];
}

/**
 * Runs one notebook once per parameter set, each into its own run folder, continuing after
 * failed runs. Every set is checked against the parameters cell before the first run starts.
 */
export async function runSweep(
  notebook: string,
  paramSets: Params[],
  opts: Omit<RunOptions, "notebook" | "params" | "outDir"> = {},
): Promise<SweepResult> {
  const source = readNotebook(notebook);
  const prepared = paramSets.map((params) => injectParameters(source, params, notebook));
  const progress = opts.quiet ? silentProgress : terminalProgress();
  const results: RunResult[] = [];
  for (const [i, params] of paramSets.entries()) {
    progress.note(`== run ${i + 1}/${paramSets.length}: ${paramSummary(params) || "(defaults)"}`);
    const label = sweepRunLabel(opts.label, i, params);
    const result = await execute(prepared[i], { ...opts, notebook, label }, params);
    if (result.status === "failed") progress.note(new NotebookRunError(result).message);
    results.push(result);
  }
  const failed = results.filter((r) => r.status === "failed");
  progress.note(`== sweep done: ${results.length - failed.length} ok, ${failed.length} failed`);
  return { results, failed };
}

/** The label of a sweep's run i: `<label>-<i + 1>-<params>`. */
export function sweepRunLabel(label: string | undefined, i: number, params: Params): string {
  return [label, String(i + 1), paramSummary(params)].filter(Boolean).join("-");
}

/** `seed=1_lr=0.001` */
export function paramSummary(params: Params): string {
  return Object.entries(params)
    .map(([name, value]) => `${name}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("_");
}

async function execute(prepared: Notebook, opts: RunOptions, params: Params): Promise<RunResult> {
  const root = projectRoot();
  installKernelSpec();
  const runDir = opts.outDir
    ? mkdirp(path.resolve(opts.outDir))
    : createRunFolder(opts.runsRoot ?? path.join(root, "runs"), opts.notebook, opts.label);
  const executedNotebook = path.join(runDir, "notebook.ipynb");
  // The saved notebook reopens with the kernel it ran on.
  const kernelspec = { name: KERNEL_NAME, display_name: KERNEL_DISPLAY_NAME, language: "typescript" };
  writeNotebook(executedNotebook, { ...prepared, metadata: { ...prepared.metadata, kernelspec } });
  fs.writeFileSync(path.join(runDir, "params.json"), JSON.stringify(params, null, 2) + "\n");

  const progress = opts.progress ?? (opts.quiet ? silentProgress : terminalProgress());
  const started = Date.now();
  const tracker = new CellTracker(prepared, progress);
  let trusted = false;
  const exit = await executeWithNbclient({
    input: executedNotebook,
    output: executedNotebook,
    kernel: KERNEL_NAME,
    timeoutPerCell: opts.timeoutPerCell ?? null,
    startupTimeout: KERNEL_STARTUP_SECONDS,
    trust: true,
    env: jupyterEnv({ CHARID_RUN_DIR: runDir }),
    cwd: root,
    onEvent: (event) => {
      tracker.handle(event);
      if (event.event === "saved") {
        trusted = event.trusted === true;
        if (event.trustError) progress.note(`warning: could not mark the notebook trusted: ${event.trustError}`);
      }
    },
  });
  if (exit.code !== 0 && !tracker.error) {
    tracker.error = { cellIndex: null, message: exit.stderr.trim() || `notebook driver exited with status ${exit.code}` };
  }
  if (tracker.error && /^kernel died/.test(tracker.error.message)) {
    // The kernel's own last words (a crash, an abort) went to the driver's stderr.
    const last = exit.stderr.trim().split("\n").slice(-15).join("\n");
    if (last) tracker.error.message += `\nthe kernel's last output:\n${last}`;
  }

  const seconds = (Date.now() - started) / 1000;
  const result: RunResult = {
    status: tracker.error ? "failed" : "ok",
    notebook: opts.notebook,
    runDir,
    executedNotebook,
    params,
    ...(opts.label ? { label: opts.label } : {}),
    startedAt: new Date(started).toISOString(),
    seconds,
    cells: tracker.cells,
    trusted,
    ...(tracker.error ? { error: tracker.error } : {}),
    ...(tracker.kernelRetries.length ? { kernelRetries: tracker.kernelRetries } : {}),
  };
  fs.writeFileSync(path.join(runDir, "run.json"), JSON.stringify(result, null, 2) + "\n");
  if (result.status === "ok") {
    progress.note(`done in ${formatSeconds(seconds)}: ${path.relative(process.cwd(), executedNotebook)}`);
  }
  return result;
}

/** Turns driver events into progress lines, per-cell records and the run's failure. */
class CellTracker {
  readonly cells: CellRecord[] = [];
  error: RunFailure | undefined;
  readonly kernelRetries: string[] = [];
  private total = 0;
  private position = 0;
  private running: { index: number; since: number } | undefined;

  constructor(
    private readonly nb: Notebook,
    private readonly progress: Progress,
  ) {}

  handle(event: DriverEvent): void {
    switch (event.event) {
      case "start":
        this.total = event.codeCells;
        break;
      case "cell_start":
        this.position++;
        this.running = { index: event.index, since: Date.now() };
        this.progress.cellStarted(this.position, this.total, event.index, this.line(event.index));
        break;
      case "cell_done":
        this.finish(event.index, event.seconds, "ok");
        break;
      case "cell_error":
        this.finish(event.index, event.seconds, "error");
        this.error = {
          cellIndex: event.index,
          firstLine: this.line(event.index),
          message: withImportedFileHint(
            withoutKernelFrames(event.text) || "(the cell failed without error text)",
            cellSource(this.nb.cells[event.index]),
          ),
        };
        break;
      case "failed":
        if (this.running && this.running.index === event.index) {
          this.finish(event.index, (Date.now() - this.running.since) / 1000, "error");
        }
        this.error ??= {
          cellIndex: event.index,
          ...(event.index === null ? {} : { firstLine: this.line(event.index) }),
          message: event.message,
        };
        break;
      case "kernel_retry":
        this.kernelRetries.push(event.message);
        this.progress.note(`the kernel failed to start (${event.message}); starting a fresh one`);
        break;
      case "saved":
        break;
    }
  }

  private finish(index: number, seconds: number, status: CellRecord["status"]): void {
    this.running = undefined;
    const firstLine = this.line(index);
    this.cells.push({ index, firstLine, seconds, status });
    this.progress.cellFinished(this.position, this.total, index, firstLine, seconds, status === "error");
  }

  private line(index: number): string {
    const cell = this.nb.cells[index];
    return cell ? firstLine(cell) : "";
  }
}

function mkdirp(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}
