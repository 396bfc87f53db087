// The submitting side of a queued sweep: one BullMQ job per parameter set (idempotent ids), then
// waiting for them with a per-job display, and placing each run folder that comes back under the
// local runs root, where collectResults finds it beside local runs.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { projectRoot } from "../jupyter/kernelspec";
import { sweepRunLabel } from "../runner";
import { readNotebook } from "../runner/notebook";
import { injectParameters, type Params } from "../runner/parameters";
import type { RunResult } from "../runner/types";
import { notebookInCheckout, readCheckout, requireClean } from "./checkout";
import { checkConnection, redactUrl, redisOptions } from "./connection";
import { type JobState, type JobView, SweepDisplay } from "./display";
import { DEFAULT_FETCH_MAX_BYTES, folderKey, jobId, type JobOutcome, KEEP_SECONDS, type NotebookJob, type PackedFolder, QUEUE_NAME } from "./jobs";
import { unpackRunFolder } from "./transfer";
import type { JobProgress } from "./worker";

export interface SubmitOptions {
  url: string;
  notebook: string;
  /** One run per set. */
  paramSets: Params[];
  label?: string;
  /** Runs root on this machine for the folders that come back; default <checkout>/runs. */
  out?: string;
  timeoutPerCell?: number;
  allowDirty?: boolean;
  /** Tries per job when a run fails outside its cells (the kernel died); a failing cell is not retried. Default 3. */
  attempts?: number;
  fetchMaxBytes?: number;
  /** Put jobs that failed in an earlier submission of the same sweep back in the queue. */
  retryFailed?: boolean;
  pollMs?: number;
  stream?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface QueuedRun {
  id: string;
  label: string;
  params: Params;
  status: "ok" | "failed";
  /** Its run folder on this machine; absent when nothing came back (the job was refused). */
  runDir?: string;
  /** Its run.json (paths in it are the worker's). */
  result?: RunResult;
  worker?: string;
  /** Why it failed: the cell and its error, or the refusal. */
  error?: string;
}

/** The jobs of a sweep, after checking the checkout, the notebook and every parameter set here. */
export function prepareJobs(opts: SubmitOptions): NotebookJob[] {
  const root = projectRoot();
  const checkout = readCheckout(root);
  requireClean(checkout, opts.allowDirty === true, "cannot queue");
  const notebook = notebookInCheckout(root, path.resolve(opts.notebook));
  const source = readNotebook(path.join(root, notebook));
  for (const params of opts.paramSets) injectParameters(source, params, notebook);
  return opts.paramSets.map((params, i) => ({
    notebook,
    params,
    label: sweepRunLabel(opts.label, i, params),
    commit: checkout.commit,
    dirty: checkout.changed.length > 0,
    ...(opts.timeoutPerCell ? { timeoutPerCell: opts.timeoutPerCell } : {}),
    fetchMaxBytes: opts.fetchMaxBytes ?? DEFAULT_FETCH_MAX_BYTES,
    submittedFrom: os.hostname(),
  }));
}

/** Adds the jobs that are not in the queue yet; returns their ids and how many were new. */
export async function enqueueJobs(url: string, jobs: NotebookJob[], opts: { attempts?: number; retryFailed?: boolean } = {}): Promise<{ ids: string[]; added: number; retried: number }> {
  await checkConnection(url);
  const queue = new Queue(QUEUE_NAME, { connection: redisOptions(url) });
  queue.on("error", () => {});
  try {
    const ids = jobs.map(jobId);
    let added = 0;
    let retried = 0;
    for (const [i, job] of jobs.entries()) {
      const existing = await queue.getJob(ids[i]);
      if (existing) {
        if (opts.retryFailed && (await existing.getState()) === "failed") {
          await existing.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
          retried++;
        }
        continue;
      }
      // A job with this id added meanwhile (a second submitter) makes this a no-op.
      await queue.add("notebook", job, {
        jobId: ids[i],
        attempts: opts.attempts ?? 3,
        backoff: { type: "exponential", delay: 2000 },
        removeOnComplete: { age: KEEP_SECONDS },
        removeOnFail: { age: KEEP_SECONDS },
      });
      added++;
    }
    return { ids, added, retried };
  } finally {
    await queue.close();
  }
}

/** Enqueues the sweep and waits for every job, showing progress; run folders land under `out`. */
export async function submitSweep(opts: SubmitOptions): Promise<{ runs: QueuedRun[]; failed: QueuedRun[] }> {
  const stream = opts.stream ?? process.stderr;
  const jobs = prepareJobs(opts);
  const { ids, added, retried } = await enqueueJobs(opts.url, jobs, opts);
  const already = jobs.length - added;
  stream.write(
    `queued ${jobs.length} run(s) of ${jobs[0].notebook} at commit ${jobs[0].commit.slice(0, 10)} on ${redactUrl(opts.url)}` +
      (already ? ` (${already} already in the queue from an earlier submission${retried ? `, ${retried} failed one(s) retried` : ""})` : "") +
      "\n",
  );
  const runs = await waitForJobs(opts.url, jobs, ids, { out: opts.out, pollMs: opts.pollMs, stream });
  return { runs, failed: runs.filter((r) => r.status === "failed") };
}

export async function waitForJobs(
  url: string,
  jobs: NotebookJob[],
  ids: string[],
  opts: { out?: string; pollMs?: number; stream?: NodeJS.WritableStream & { isTTY?: boolean } } = {},
): Promise<QueuedRun[]> {
  const outRoot = path.resolve(opts.out ?? path.join(projectRoot(), "runs"));
  const stem = path.basename(jobs[0].notebook, ".ipynb");
  const display = new SweepDisplay(`sweep ${stem}`, jobs.map((job, i) => ({ id: ids[i], label: job.label })), opts.stream);
  const queue = new Queue(QUEUE_NAME, { connection: redisOptions(url) });
  const store = new Redis(redisOptions(url));
  let lastError = "";
  const onError = (error: Error) => {
    lastError = error.message;
  };
  queue.on("error", onError);
  store.on("error", onError);
  const done = new Map<string, QueuedRun>();
  try {
    while (done.size < ids.length) {
      // Commands wait while Redis is away; say so instead of looking stuck.
      const slow = setTimeout(() => {
        display.setNote(`waiting for Redis at ${redactUrl(url)}${lastError ? ` (${lastError})` : ""}; the workers carry on`);
        display.render();
      }, 2000);
      for (const [i, id] of ids.entries()) {
        if (done.has(id)) continue;
        const { view, run } = await pollJob(queue, store, id, jobs[i], outRoot, stem);
        display.update(id, view);
        if (run) done.set(id, run);
      }
      clearTimeout(slow);
      display.setNote("");
      display.render();
      if (done.size < ids.length) await new Promise((resolve) => setTimeout(resolve, opts.pollMs ?? 1000));
    }
  } finally {
    await queue.close();
    await store.quit().catch(() => store.disconnect());
  }
  return ids.map((id) => done.get(id)!);
}

const STATES: Record<string, JobState> = { completed: "completed", failed: "failed", active: "active", delayed: "delayed" };

async function pollJob(queue: Queue, store: Redis, id: string, job: NotebookJob, outRoot: string, stem: string): Promise<{ view: JobView; run?: QueuedRun }> {
  // The state first: a job seen in a terminal state was moved there atomically with its failedReason
  // and return value, so the job read next carries them (read the other way round, a job that fails
  // in between shows as failed with the reason it did not have yet).
  const stateName = await queue.getJobState(id);
  const found = await queue.getJob(id);
  if (!found) {
    const error = "the job is no longer in the queue (removed, or Redis lost its data: see the README on persistence)";
    return { view: { state: "missing", error }, run: { id, label: job.label, params: job.params, status: "failed", error } };
  }
  const state = STATES[stateName] ?? "waiting";
  const progress = (found.progress ?? {}) as Partial<JobProgress>;
  const view: JobView = {
    state,
    worker: progress.worker ?? found.processedBy,
    attempt: found.attemptsStarted,
    ...(progress.cell ? { cell: `cell ${progress.cell}/${progress.cells}` } : {}),
    ...(found.failedReason ? { error: found.failedReason.split("\n").slice(0, 2).join(" ").slice(0, 200) } : {}),
  };
  if (state !== "completed" && state !== "failed") return { view };
  const raw = await store.get(folderKey(id));
  const runDir = raw ? placeFolder(JSON.parse(raw) as PackedFolder, path.join(outRoot, stem)) : undefined;
  const result = runDir ? (JSON.parse(fs.readFileSync(path.join(runDir, "run.json"), "utf8")) as RunResult) : (found.returnvalue as JobOutcome | undefined)?.run;
  const run: QueuedRun = {
    id,
    label: job.label,
    params: job.params,
    status: state === "completed" ? "ok" : "failed",
    ...(runDir ? { runDir } : {}),
    ...(result ? { result } : {}),
    ...(view.worker ? { worker: view.worker } : {}),
    ...(state === "failed" ? { error: found.failedReason } : {}),
  };
  return { view, run };
}

/** Writes the packed folder under `parent` unless the same run is there already (a resubmission, or the worker's own folder on this machine). */
function placeFolder(packed: PackedFolder, parent: string): string {
  const dest = path.join(parent, path.basename(packed.runDir));
  const runJson = packed.files.find((f) => f.path === "run.json");
  const here = path.join(dest, "run.json");
  if (runJson && fs.existsSync(here) && fs.statSync(here).size === runJson.size && sameFile(here, runJson.gzip)) return dest;
  unpackRunFolder(packed, dest);
  return dest;
}

function sameFile(file: string, gzipBase64: string): boolean {
  return fs.readFileSync(file).equals(zlib.gunzipSync(Buffer.from(gzipBase64, "base64")));
}
