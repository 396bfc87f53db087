import * as fs from "node:fs";
import type { Params, ParamValue } from "./parameters";

export const USAGE = `Run a notebook with parameters through the charid kernel (papermill-style).

Usage:
  npx tsx scripts/run-notebook.ts NOTEBOOK [-p NAME=VALUE ...] [--out DIR] [--label NAME]
                                  [--timeout SECONDS] [--quiet]
  npx tsx scripts/run-notebook.ts NOTEBOOK --sweep SETS.json [-p NAME=VALUE ...] [--out DIR] [--label NAME]
  npx tsx scripts/run-notebook.ts NOTEBOOK --grid NAME=V1,V2 [--grid NAME=V1,V2 ...] [-p NAME=VALUE ...]
  npx tsx scripts/run-notebook.ts NOTEBOOK [--grid ... | --sweep SETS.json] --queue redis://HOST:PORT [queue options]

Options:
  -p, --param NAME=VALUE  Override a variable of the cell tagged "parameters". VALUE is read as
                          JSON (0.3, true, "x", [1,2]) and otherwise taken as a string.
  --sweep FILE            JSON array of parameter objects; one run per object.
  --grid NAME=V1,V2,...   One run per combination of all --grid values (cartesian product).
                          -p values apply to every run of a sweep or grid.
  --out DIR               Run folder (single run), or the runs root for a sweep/grid.
                          Default: runs/<notebook stem>/<UTC time>[-<label>]/
  --label NAME            Appended to the run folder name.
  --timeout SECONDS       Fail a cell that runs longer than this (default: no limit).
  --quiet                 No per-cell progress lines.
  -h, --help              Show this help.

Queue options (run on workers: npm run worker -- --queue URL; see the README):
  --queue URL             Enqueue one job per run on Redis at URL (redis://[USER:PASSWORD@]HOST:PORT[/DB],
                          rediss:// for TLS), wait for them, showing each job's state, and put each
                          run folder under --out (default runs/). Ctrl-C stops waiting, not the jobs:
                          the same command again waits for the same jobs.
  --allow-dirty           Queue although the checkout has uncommitted changes (workers must have the same).
  --attempts N            Tries per job when a run fails outside its cells, e.g. the kernel died (default 3);
                          a failing cell is not retried.
  --fetch-max-mb N        Files of a run folder larger than this stay on the worker (default 8).
  --retry-failed          Put jobs that failed in an earlier submission of the same sweep back in the queue.

Each run folder holds notebook.ipynb (executed, with outputs, trusted), params.json and run.json
(status, seconds per cell, error). The exit status is non-zero when a run fails.`;

export interface RunArgs {
  notebook: string;
  params: Params;
  /** Present for --sweep / --grid: one parameter set per run (each merged over params). */
  paramSets?: Params[];
  out?: string;
  label?: string;
  timeoutPerCell?: number;
  quiet: boolean;
  queue?: QueueArgs;
}

export interface QueueArgs {
  url: string;
  allowDirty: boolean;
  attempts?: number;
  fetchMaxBytes?: number;
  retryFailed: boolean;
}

export class UsageError extends Error {}

/** JSON when it parses, the raw string otherwise: `0.3` -> 0.3, `abc` -> "abc". */
export function parseValue(text: string): ParamValue {
  try {
    return JSON.parse(text) as ParamValue;
  } catch {
    return text;
  }
}

/** `NAME=VALUE` split at the first `=`, or a usage error naming `flag`. */
export function splitAssignment(text: string, flag: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`${flag} expects NAME=VALUE, got "${text}"`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** Splits on commas outside brackets and quotes, so `[1,2],[3]` is two values. */
export function splitList(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' && text[i - 1] !== "\\") quoted = !quoted;
    else if (!quoted && (c === "[" || c === "{")) depth++;
    else if (!quoted && (c === "]" || c === "}")) depth--;
    else if (!quoted && depth === 0 && c === ",") {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Every combination of the axes' values, the first axis varying slowest. */
export function gridParamSets(axes: [string, ParamValue[]][]): Params[] {
  return axes.reduce<Params[]>(
    (sets, [name, values]) => sets.flatMap((set) => values.map((value) => ({ ...set, [name]: value }))),
    [{}],
  );
}

function readSweepFile(file: string): Params[] {
  const sets: unknown = JSON.parse(fs.readFileSync(file, "utf8"));
  if (!Array.isArray(sets) || sets.length === 0 || !sets.every((s) => s !== null && typeof s === "object" && !Array.isArray(s))) {
    throw new UsageError(`${file} must hold a non-empty JSON array of parameter objects`);
  }
  return sets as Params[];
}

export function parseRunArgs(argv: string[]): RunArgs | "help" {
  const params: Params = {};
  const axes: [string, ParamValue[]][] = [];
  let sweepFile: string | undefined;
  let notebook: string | undefined;
  const args: Omit<RunArgs, "notebook" | "params"> = { quiet: false };
  const queue: Partial<QueueArgs> = {};
  const queueOnly: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`${arg} needs a value`);
      return next;
    };
    switch (arg) {
      case "-h":
      case "--help":
        return "help";
      case "-p":
      case "--param": {
        const [name, text] = splitAssignment(value(), arg);
        params[name] = parseValue(text);
        break;
      }
      case "--grid": {
        const [name, text] = splitAssignment(value(), arg);
        axes.push([name, splitList(text).map(parseValue)]);
        break;
      }
      case "--sweep":
        sweepFile = value();
        break;
      case "--out":
        args.out = value();
        break;
      case "--label":
        args.label = value();
        break;
      case "--timeout": {
        const seconds = Number(value());
        if (!(seconds > 0)) throw new UsageError("--timeout expects a positive number of seconds");
        args.timeoutPerCell = seconds;
        break;
      }
      case "--quiet":
        args.quiet = true;
        break;
      case "--queue":
        queue.url = value();
        break;
      case "--allow-dirty":
        queue.allowDirty = true;
        queueOnly.push(arg);
        break;
      case "--retry-failed":
        queue.retryFailed = true;
        queueOnly.push(arg);
        break;
      case "--attempts": {
        const n = Number(value());
        if (!Number.isInteger(n) || n < 1) throw new UsageError("--attempts expects a whole number >= 1");
        queue.attempts = n;
        queueOnly.push(arg);
        break;
      }
      case "--fetch-max-mb": {
        const mb = Number(value());
        if (!(mb >= 0)) throw new UsageError("--fetch-max-mb expects a number of megabytes >= 0");
        queue.fetchMaxBytes = Math.round(mb * 2 ** 20);
        queueOnly.push(arg);
        break;
      }
      default:
        if (arg.startsWith("-")) throw new UsageError(`Unknown option ${arg}`);
        if (notebook) throw new UsageError(`Only one notebook per command (got ${notebook} and ${arg})`);
        notebook = arg;
    }
  }
  if (!notebook) throw new UsageError("Which notebook? Pass the path of an .ipynb file");
  if (sweepFile && axes.length) throw new UsageError("Use either --sweep or --grid, not both");
  if (!queue.url && queueOnly.length) throw new UsageError(`${queueOnly[0]} goes with --queue URL`);
  const sets = sweepFile ? readSweepFile(sweepFile) : axes.length ? gridParamSets(axes) : undefined;
  return {
    notebook,
    params,
    ...args,
    ...(queue.url ? { queue: { ...queue, url: queue.url, allowDirty: queue.allowDirty ?? false, retryFailed: queue.retryFailed ?? false } } : {}),
    ...(sets ? { paramSets: sets.map((set) => ({ ...params, ...set })) } : {}),
  };
}
