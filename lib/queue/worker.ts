// A BullMQ worker that takes queued notebook runs and executes them through the runner, in its own
// checkout, at its own commit: it refuses jobs of another commit and notebooks its checkout does not
// track, reports per-cell progress to the job, and leaves the run folder in Redis for the submitter.
import * as os from "node:os";
import * as path from "node:path";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { writeJsonAtomic } from "../io";
import { projectRoot } from "../jupyter/kernelspec";
import { NotebookRunError, runNotebook } from "../runner";
import { cellLine, type Progress } from "../runner/progress";
import { safeLabel, utcStamp } from "../runner/run-folder";
import type { QueuedRunInfo, RunResult } from "../runner/types";
import { formatSeconds } from "../progress";
import { type Checkout, notebookInCheckout, readCheckout, requireClean, shortCommit } from "./checkout";
import { checkConnection, redactUrl, redisOptions } from "./connection";
import { folderKey, type JobOutcome, KEEP_SECONDS, type NotebookJob, parseJob, QUEUE_NAME } from "./jobs";
import { packRunFolder } from "./transfer";

export interface NotebookWorkerOptions {
  /** redis://[user:password@]host:port[/db], rediss:// for TLS. */
  url: string;
  /** Notebook runs at a time (each a kernel). Default 1. */
  concurrency?: number;
  /** Where this worker's run folders go; default <checkout>/runs. */
  runsRoot?: string;
  /** Take jobs although this checkout (and theirs) has uncommitted changes. */
  allowDirty?: boolean;
  /** A job's lock; a worker silent this long (killed, cut off) has its job handed to another. Default 30. */
  lockSeconds?: number;
  /** Default <hostname>:<pid>. */
  name?: string;
  log?: (line: string) => void;
}

export interface NotebookWorker {
  name: string;
  checkout: Checkout;
  /** Stops taking jobs and waits for the running ones to finish. */
  close(): Promise<void>;
}

/** The progress a worker stores on its job: who runs it and which cell. */
export interface JobProgress {
  worker: string;
  cell?: number;
  cells?: number;
  firstLine?: string;
}

export async function startNotebookWorker(opts: NotebookWorkerOptions): Promise<NotebookWorker> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const root = projectRoot();
  const checkout = readCheckout(root);
  requireClean(checkout, opts.allowDirty === true, "the worker refuses to start");
  const name = opts.name ?? `${os.hostname()}:${process.pid}`;
  const runsRoot = path.resolve(opts.runsRoot ?? path.join(root, "runs"));
  await checkConnection(opts.url);
  const connection = redisOptions(opts.url);
  const store = new Redis(connection);
  const reportRedis = redisTrouble(opts.url, log);
  store.on("error", reportRedis);
  const lockDuration = (opts.lockSeconds ?? 30) * 1000;

  const processor = async (job: Job): Promise<JobOutcome> => {
    // Read again for each job: a checkout can move on (git pull) under a running worker.
    const current = readCheckout(root);
    const data = acceptJob(job, current, opts.allowDirty === true, name);
    const tag = `[${job.id} ${data.label}]`;
    const notebook = path.join(root, data.notebook);
    const stem = path.basename(notebook, ".ipynb");
    // The same folder for every attempt, so a retry finds what the killed attempt left in it.
    const outDir = path.join(runsRoot, stem, [utcStamp(new Date(job.timestamp)), safeLabel(data.label), job.id!.slice(3, 11)].filter(Boolean).join("-"));
    const attempt = job.attemptsStarted;
    log(`${tag} attempt ${attempt}: ${data.notebook} ${JSON.stringify(data.params)} -> ${outDir}`);
    await job.updateProgress({ worker: name } satisfies JobProgress);
    let run: RunResult;
    let failure: NotebookRunError | undefined;
    try {
      run = await runNotebook({
        notebook,
        params: data.params,
        outDir,
        label: data.label,
        ...(data.timeoutPerCell ? { timeoutPerCell: data.timeoutPerCell } : {}),
        progress: jobProgress(job, name, tag, log),
      });
    } catch (error) {
      if (!(error instanceof NotebookRunError)) {
        // Checked before anything ran (an unknown parameter, a wrong type): the same on every worker.
        if (error instanceof Error && /parameter/i.test(error.message)) throw new UnrecoverableError(error.message);
        throw error;
      }
      failure = error;
      run = error.result;
    }
    const queued: QueuedRunInfo = { jobId: job.id!, worker: name, commit: current.commit, attempt, submittedFrom: data.submittedFrom };
    writeJsonAtomic(path.join(outDir, "run.json"), { ...run, queued });
    const packed = packRunFolder(outDir, data.fetchMaxBytes, name);
    await store.set(folderKey(job.id!), JSON.stringify(packed), "EX", KEEP_SECONDS);
    if (failure) {
      const error = run.error;
      // A cell that throws or does not type-check fails the same way on any worker; a dead kernel
      // (out of memory, a crash) or one that never started may not.
      const retryable = !error || error.cellIndex === null || /^kernel died/.test(error.message);
      log(`${tag} FAILED (${retryable ? "may be retried" : "not retried"}): ${failure.message.split("\n")[0]}`);
      throw retryable ? new Error(failure.message) : new UnrecoverableError(failure.message);
    }
    log(`${tag} done in ${formatSeconds(run.seconds)}`);
    return { worker: name, commit: current.commit, run: { ...run, queued } };
  };

  const worker = new Worker(QUEUE_NAME, processor, {
    connection,
    name,
    concurrency: opts.concurrency ?? 1,
    lockDuration,
    stalledInterval: lockDuration,
    maxStalledCount: 2,
  });
  worker.on("error", reportRedis);
  worker.on("failed", (job, error) => {
    if (job && error instanceof UnrecoverableError && /^refused by/.test(error.message)) log(`[${job.id}] ${error.message}`);
  });
  await worker.waitUntilReady();
  log(
    `worker ${name} at commit ${shortCommit(checkout.commit)}${checkout.changed.length ? " (uncommitted changes allowed)" : ""}, ` +
      `concurrency ${opts.concurrency ?? 1}, runs in ${runsRoot}, queue ${QUEUE_NAME} at ${redactUrl(opts.url)}`,
  );
  return {
    name,
    checkout,
    async close() {
      await worker.close();
      await store.quit().catch(() => store.disconnect());
    },
  };
}

/** The job's data, when this worker may run it; UnrecoverableError (no retry) with the reason otherwise. */
function acceptJob(job: Job, checkout: Checkout, allowDirty: boolean, name: string): NotebookJob {
  const refuse = (reason: string): never => {
    throw new UnrecoverableError(`refused by worker ${name}: ${reason}`);
  };
  let data: NotebookJob;
  try {
    data = parseJob(job.data);
  } catch (error) {
    return refuse((error as Error).message);
  }
  if (data.commit !== checkout.commit) {
    refuse(
      `its checkout is at commit ${shortCommit(checkout.commit)} and the job was submitted at ${shortCommit(data.commit)}; ` +
        `check out ${data.commit} on that machine (git fetch && git checkout ${shortCommit(data.commit)}) and restart the worker`,
    );
  }
  if (data.dirty && !allowDirty) {
    refuse(`the job was submitted from a tree with uncommitted changes (--allow-dirty) and this worker was started without --allow-dirty`);
  }
  if (checkout.changed.length > 0 && !allowDirty) {
    refuse(`its checkout has uncommitted changes now (${checkout.changed.slice(0, 5).join(", ")}); commit or drop them, or restart the worker with --allow-dirty`);
  }
  try {
    notebookInCheckout(checkout.root, data.notebook);
  } catch (error) {
    refuse((error as Error).message);
  }
  return data;
}

/** Per-cell lines on the worker's log and the running cell on the job, for the submitter's display. */
function jobProgress(job: Job, worker: string, tag: string, log: (line: string) => void): Progress {
  const report = (progress: JobProgress) => void job.updateProgress(progress).catch(() => {});
  return {
    cellStarted(position, total, _index, firstLine) {
      report({ worker, cell: position, cells: total, firstLine });
    },
    cellFinished(position, total, index, firstLine, seconds, failed) {
      log(`${tag} ${cellLine(position, total, index, firstLine, formatSeconds(seconds) + (failed ? " FAILED" : ""))}`);
    },
    note(message) {
      log(`${tag} ${message}`);
    },
  };
}

/** Logs a lost Redis connection once every 10 s, not at every reconnection attempt, and other worker errors as they come. */
function redisTrouble(url: string, log: (line: string) => void): (error: Error) => void {
  let last = 0;
  return (error: Error) => {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    if (!/ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Connection is closed/.test(code + error.message)) {
      log(`worker error: ${error.message}`);
      return;
    }
    if (Date.now() - last < 10_000) return;
    last = Date.now();
    log(`redis at ${redactUrl(url)} unreachable: ${error.message} (reconnecting; running notebooks go on)`);
  };
}
