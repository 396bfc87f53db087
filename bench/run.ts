// `npm run bench`: our figures against PyTorch CPU (Debian python3-torch, same shapes, same thread
// count) in one run, with ratios (ours / PyTorch, higher is better), written to
// bench/results/bench-<date>.json and compared with the previous bench-*.json.
//
//   npm run bench                              # everything, about 6-9 minutes on 2 cores
//   npm run bench -- --only mobilenet,pipeline # parts: kernels, steps, mobilenet, resnet50, pipeline, epoch, extract
//   npm run bench -- --rounds 5                # more alternating rounds (default: 3; resnet50, epoch and extract 1, long ones)
//   npm run bench -- --threads 1               # ours on one thread only (default: 2, also times
//                                              # data-parallel training on 2 threads vs PyTorch on 2)
//   npm run bench -- --no-save                 # print only
//   npm run bench -- --profile                 # where one training step's time goes, per kernel, ours
//                                              # and PyTorch's (alone, or with the parts --only names)
//
// The machine is noisy: the two sides take turns over rounds; each figure is the median over
// rounds, each ratio the median of the ratios of rounds run side by side.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { selectBackend } from "../lib/backend";
import { cpuModel, torchConfig, vectorIsa, type Row } from "./common";
import { benchEpoch, epochDataReady } from "./epoch";
import { benchExtract } from "./extract";
import { benchKernels } from "./kernels";
import { benchSteps, type StepRow } from "./steps";
import { benchModels, MODEL_CASES } from "./models";
import { benchPipeline } from "./pipeline";
import { benchProfile } from "./profile";

const PARTS = ["kernels", "steps", "mobilenet", "resnet50", "pipeline", "epoch", "extract"] as const;
type Part = (typeof PARTS)[number];

interface Options {
  parts: Part[];
  rounds?: number;
  threads: number;
  save: boolean;
  images: number;
  profile: boolean;
}

function parseArgs(argv: string[]): Options {
  const options: Options = { parts: [...PARTS], threads: Math.min(2, os.cpus().length), save: true, images: 48, profile: false };
  let only = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === "--only") {
      const parts = value().split(",").map((p) => p.trim()).filter(Boolean);
      const unknown = parts.filter((p) => !(PARTS as readonly string[]).includes(p));
      if (unknown.length) throw new Error(`unknown part ${unknown.join(", ")}; parts are ${PARTS.join(", ")}`);
      options.parts = parts as Part[];
      only = true;
    } else if (arg === "--profile") options.profile = true; else if (arg === "--rounds") options.rounds = positive(arg, value());
    else if (arg === "--threads") options.threads = positive(arg, value());
    else if (arg === "--images") options.images = positive(arg, value());
    else if (arg === "--no-save") options.save = false;
    else if (arg === "--help" || arg === "-h") {
      console.log(readFileSync(__filename, "utf8").split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n"));
      process.exit(0);
    } else throw new Error(`unknown option ${arg} (see --help)`);
  }
  if (options.profile && !only) options.parts = [];
  return options;
}

function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${text}`);
  return n;
}

interface BenchFile {
  date: string;
  rows: Row[];
  machine?: { cpu?: string; vectorIsa?: string; cpus?: number };
}

/** A row kept from an earlier file that predates per-row machines: the machine its file names. */
function stamped(row: Row, file: BenchFile): Row {
  const m = file.machine;
  if (row.machine || !m?.cpu || !m.vectorIsa) return row;
  return { ...row, machine: m.cpu.includes(m.vectorIsa) ? m.cpu : `${m.cpu}, ${m.vectorIsa}, ${m.cpus} cores` };
}

/** The newest earlier results file (by its date in the name, then mtime order of the listing). */
function previousResults(dir: string): { file: string; data: BenchFile } | undefined {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /^bench-\d{4}-\d{2}-\d{2}\.json$/.test(n)).sort();
  } catch {
    return undefined;
  }
  const last = names.pop();
  if (!last) return undefined;
  const file = path.join(dir, last);
  return { file, data: JSON.parse(readFileSync(file, "utf8")) as BenchFile };
}

function printTable(rows: Row[], previous?: BenchFile): void {
  const before = new Map(previous?.rows.map((r) => [r.name, r]) ?? []);
  const width = Math.max(...rows.map((r) => r.name.length), 10);
  console.log(`\n${"".padEnd(width)}        ours     PyTorch   ratio${previous ? `   change vs ${previous.date.slice(0, 10)} (ours, ratio)` : ""}`);
  for (const r of rows) {
    const prev = before.get(r.name);
    const change = prev ? `   ${signed(r.ours / prev.ours)}, ${prev.ratio.toFixed(2)} -> ${r.ratio.toFixed(2)}` : "";
    console.log(`${r.name.padEnd(width)}  ${r.ours.toFixed(1).padStart(10)}  ${r.torch.toFixed(1).padStart(10)}  ${r.ratio.toFixed(2).padStart(6)}${change}   ${r.unit}`);
  }
}

function printSteps(steps: StepRow[]): void {
  const width = Math.max(...steps.map((s) => s.name.length));
  console.log(`\n${"what each step gained (MobileNetV2-1.0 @96, batch 16)".padEnd(width)}     img/s   gain`);
  for (const s of steps) console.log(`${s.name.padEnd(width)}  ${s.rate.toFixed(1).padStart(8)}  ${s.name.startsWith("  ") ? `x${s.gain.toFixed(2)}` : ""}`);
}

function signed(factor: number): string {
  const pct = (factor - 1) * 100;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(0)}%`;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.log(line);
  const loadBefore = os.loadavg()[0];
  const started = Date.now();
  const backend = await selectBackend("wasm");
  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const torch: Record<string, string> = {};
  if (options.parts.includes("kernels")) {
    log("the ceiling: single convolutions, multiply-adds per second");
    const r = await benchKernels(options.rounds ?? 3, log);
    rows.push(...r.rows);
    torch.kernels = r.torch;
  }
  let steps: StepRow[] = [];
  if (options.parts.includes("steps")) {
    log("what each step gained: MobileNetV2-1.0 @96, batch 16, 1 thread");
    steps = await benchSteps(options.rounds ?? 3, log);
    details.steps = steps;
  }
  const profile = options.profile ? await benchProfile(log) : undefined;
  const cases = MODEL_CASES.filter((c) => options.parts.includes(c.key as Part));
  if (cases.length) {
    for (const c of cases) {
      log(`${c.label}: training step and inference, batch 16`);
      const r = await benchModels([c], options.rounds ?? 3, options.threads, log);
      rows.push(...r.rows);
      details[c.key] = r.rounds;
      torch.models = r.torch;
    }
  }
  if (options.parts.includes("pipeline")) {
    log("input pipeline: decode + resize + crop + normalise");
    const r = await benchPipeline(options.images, options.rounds ?? 3, log);
    rows.push(...r.rows);
    torch.pipeline = r.torch;
  }
  if (options.parts.includes("epoch")) {
    if (!epochDataReady()) log("epoch: skipped, no data/splits/embedded.json (run npm run generate and notebook 01, or npm start)");
    else {
      log("end to end: one epoch of notebook 05's default setting");
      const r = await benchEpoch(options.rounds ?? 1, options.threads, log);
      rows.push(...r.rows);
      details.epoch = { images: r.images, seconds: r.seconds };
      torch.epoch = r.torch;
    }
  }
  if (options.parts.includes("extract")) {
    log("trunk feature extraction: MobileNetV2-1.0 @224 and InceptionV3 @299, batch 32, inference mode");
    const r = await benchExtract(options.rounds ?? 1, options.threads, log);
    rows.push(...r.rows);
    details.extract = r.details;
    torch.extract = r.torch;
  }
  const dir = path.join(__dirname, "results");
  const previous = previousResults(dir);
  // Each row names its CPU and both setups: a partial run merges rows into a file that may hold
  // rows from another run, and the ratio moves 3x between AVX2 and AVX-512 machines.
  const machine = cpuModel();
  for (const row of rows) {
    row.machine = machine;
    row.oursSetup = `tfjs ${backend.device}`;
    row.torchSetup = `${torchConfig()}, ${row.torchThreads} thread${row.torchThreads > 1 ? "s" : ""}`;
  }
  const result = {
    date: new Date().toISOString(),
    command: ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2)] : [])].join(" "),
    seconds: (Date.now() - started) / 1000,
    machine: { cpus: os.cpus().length, cpu: machine, vectorIsa: vectorIsa(), node: process.version, loadAverage1m: [loadBefore, os.loadavg()[0]] },
    torchConfig: torchConfig(),
    ours: backend.device,
    torch,
    rows,
    details,
  };
  // Changes are only meaningful against the same kind of CPU (files before 2026-12-01 name none: AVX2).
  const comparable = previous && (previous.data.machine?.vectorIsa ?? "AVX2") === vectorIsa() ? previous.data : undefined;
  if (rows.length) printTable(rows, comparable);
  if (steps.length) printSteps(steps);
  console.log(`\nours: tfjs ${backend.device}; PyTorch: ${Object.values(torch)[0] ?? "-"}; ${torchConfig()}; ` +
    `load average ${loadBefore.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)}; ${machine}; ${result.seconds.toFixed(0)} s`);
  if (options.save && profile) {
    const out = path.join(dir, `profile-${result.date.slice(0, 10)}.json`);
    mkdirSync(dir, { recursive: true });
    const { rows: _, details: __, ...header } = result;
    writeFileSync(out, `${JSON.stringify({ ...header, oursSetup: `tfjs ${backend.device}`, torchSetup: `${torchConfig()}, 1 thread`, ...profile }, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  }
  if (options.save && rows.length) {
    const out = path.join(dir, `bench-${result.date.slice(0, 10)}.json`);
    mkdirSync(dir, { recursive: true });
    // A partial run (--only) keeps the other rows of today's file; a whole run replaces it.
    const partial = options.parts.length < PARTS.length;
    const sameDay = partial && previous && path.basename(previous.file) === path.basename(out) ? previous.data.rows.map((r) => stamped(r, previous.data)) : [];
    const merged = [...sameDay.filter((r) => !rows.some((n) => n.name === r.name)), ...rows];
    writeFileSync(out, `${JSON.stringify({ ...result, rows: merged }, null, 2)}\n`);
    console.log(`wrote ${path.relative(process.cwd(), out)}`);
  }
}

main().then(() => process.exit(process.exitCode ?? 0), (error) => {
  console.error(error);
  process.exit(1);
});
