import * as path from "node:path";
import { parseRunArgs, type QueueArgs, type RunArgs, USAGE, UsageError } from "../lib/runner/cli-args";
import { CheckoutError, QueueConnectionError, submitSweep } from "../lib/queue";
import { formatSeconds } from "../lib/progress";
import { NotebookRunError, paramSummary, runNotebook, runSweep } from "../lib/runner";

async function main(): Promise<number> {
  const args = parseRunArgs(process.argv.slice(2));
  if (args === "help") {
    console.log(USAGE);
    return 0;
  }
  const common = { label: args.label, timeoutPerCell: args.timeoutPerCell, quiet: args.quiet };
  if (args.queue) return queued(args, args.queue);
  if (args.paramSets) {
    const { results, failed } = await runSweep(args.notebook, args.paramSets, { ...common, runsRoot: args.out });
    for (const r of results) {
      const status = r.status === "ok" ? "ok    " : "FAILED";
      console.log(`${status} ${formatSeconds(r.seconds).padStart(7)}  ${paramSummary(r.params) || "(defaults)"}  ${relative(r.runDir)}`);
    }
    return failed.length ? 1 : 0;
  }
  const result = await runNotebook({ notebook: args.notebook, params: args.params, outDir: args.out, ...common });
  console.log(relative(result.executedNotebook));
  return 0;
}

async function queued(args: RunArgs, queue: QueueArgs): Promise<number> {
  process.once("SIGINT", () => {
    console.error("\nstopped waiting; the jobs stay queued and run: the same command again waits for them and fetches their folders");
    process.exit(130);
  });
  const { runs, failed } = await submitSweep({
    ...queue,
    notebook: args.notebook,
    paramSets: args.paramSets ?? [args.params],
    label: args.label,
    out: args.out,
    timeoutPerCell: args.timeoutPerCell,
  });
  for (const r of runs) {
    const status = r.status === "ok" ? "ok    " : "FAILED";
    const seconds = r.result ? formatSeconds(r.result.seconds) : "-";
    console.log(`${status} ${seconds.padStart(7)}  ${paramSummary(r.params) || "(defaults)"}  ${r.runDir ? relative(r.runDir) : "(no run folder)"}  ${r.id} on ${r.worker ?? "no worker"}`);
  }
  for (const r of failed) console.error(`\n${r.id} ${r.label}: ${r.error ?? "failed"}`);
  return failed.length ? 1 : 0;
}

function relative(p: string): string {
  return path.relative(process.cwd(), p) || ".";
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof UsageError) console.error(`${err.message}\n\n${USAGE}`);
    else if (err instanceof NotebookRunError || err instanceof CheckoutError || err instanceof QueueConnectionError) console.error(err.message);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(err instanceof UsageError ? 2 : 1);
  },
);
