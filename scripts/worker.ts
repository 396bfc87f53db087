// npm run worker -- --queue redis://HOST:PORT: takes queued notebook runs (npm run nb -- ... --queue)
// and executes them through the runner in this checkout.
import { CheckoutError, QueueConnectionError, startNotebookWorker, type NotebookWorkerOptions } from "../lib/queue";

const USAGE = `Take queued notebook runs from Redis and execute them in this checkout.

Usage:
  npm run worker -- --queue redis://[USER:PASSWORD@]HOST:PORT[/DB] [--concurrency N] [--runs DIR]
                    [--allow-dirty] [--lock-seconds S] [--name NAME]

Options:
  --queue URL          The Redis the sweeps are queued on; rediss:// for TLS (a private CA: set
                       NODE_EXTRA_CA_CERTS=/path/to/ca.pem).
  --concurrency N      Notebook runs at a time, each its own kernel (default 1).
  --runs DIR           Where this worker keeps its run folders (default runs/ of the checkout); small
                       files go back to the submitter, bigger ones stay here.
  --allow-dirty        Start although the checkout has uncommitted changes, and take jobs queued with
                       --allow-dirty (the user vouches that the changes are the same everywhere).
  --lock-seconds S     A job whose worker has been silent this long (killed, cut off) goes to another
                       worker (default 30).
  --name NAME          How jobs and the submitter name this worker (default HOST:PID).

The worker runs jobs of its own commit only (git rev-parse HEAD) and refuses others with the reason.
Ctrl-C (SIGINT) or SIGTERM: take no new jobs and finish the running ones; a second one stops at once
(the running jobs then go to another worker after --lock-seconds).`;

function parseArgs(argv: string[]): NotebookWorkerOptions | "help" {
  const opts: Partial<NotebookWorkerOptions> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    const positive = (what: string): number => {
      const n = Number(value());
      if (!(n > 0)) throw new Error(`${arg} expects ${what} > 0`);
      return n;
    };
    switch (arg) {
      case "-h":
      case "--help":
        return "help";
      case "--queue":
        opts.url = value();
        break;
      case "--concurrency":
        opts.concurrency = Math.floor(positive("a whole number"));
        break;
      case "--runs":
        opts.runsRoot = value();
        break;
      case "--allow-dirty":
        opts.allowDirty = true;
        break;
      case "--lock-seconds":
        opts.lockSeconds = positive("seconds");
        break;
      case "--name":
        opts.name = value();
        break;
      default:
        throw new Error(`Unknown argument ${arg}`);
    }
  }
  if (!opts.url) throw new Error("Which queue? Pass --queue redis://HOST:PORT");
  return opts as NotebookWorkerOptions;
}

async function main(): Promise<void> {
  let opts: NotebookWorkerOptions | "help";
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts === "help") {
    console.log(USAGE);
    return;
  }
  const worker = await startNotebookWorker(opts);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: stopping now`);
      process.exit(130);
    }
    stopping = true;
    console.log(`${signal}: taking no new jobs, finishing the running ones (${signal} again stops at once)`);
    worker.close().then(() => process.exit(0));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

main().catch((error: unknown) => {
  const known = error instanceof CheckoutError || error instanceof QueueConnectionError;
  console.error(known ? (error as Error).message : error);
  process.exit(1);
});
