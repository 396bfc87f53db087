// Shared by the parts of `npm run bench`: medians, step timing, the PyTorch side (bench/torch_bench.py),
// `-p` parameter overrides.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { parseValue, splitAssignment } from "../lib/runner/cli-args";
import type { Params } from "../lib/runner/parameters";

export const PYTHON = process.env.CHARID_TORCH_PYTHON ?? "/usr/bin/python3";

/** The widest x86 vector extension the CPU has: what PyTorch's kernels use (wasm has 128-bit SIMD whatever the CPU). */
export function vectorIsa(): string {
  const flags = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  return /\bavx512f\b/.test(flags) ? "AVX-512" : /\bavx2\b/.test(flags) ? "AVX2" : "no AVX2";
}

/** e.g. "AMD EPYC (family 25, model 17), AVX-512, 2 cores": the family tells CPU generations of one model name apart. */
export function cpuModel(): string {
  const info = fs.existsSync("/proc/cpuinfo") ? fs.readFileSync("/proc/cpuinfo", "utf8") : "";
  const [family, model] = [/^cpu family\s*:\s*(\d+)/m, /^model\s*:\s*(\d+)/m].map((re) => re.exec(info)?.[1]);
  const generation = family && model ? ` (family ${family}, model ${model})` : "";
  return `${os.cpus()[0]?.model ?? "unknown CPU"}${generation}, ${vectorIsa()}, ${os.cpus().length} cores`;
}

let torchSetup: string | undefined;

/** How PyTorch computes here, e.g. "torch 1.13.0a0, oneDNN 2.6.3 (Intel AVX-512 ...), ATen CPU capability AVX2, BLAS generic, no MKL". */
export function torchConfig(): string {
  if (torchSetup === undefined) {
    const r = runTorch("config", {});
    torchSetup = `torch ${r.torch}, ${r.config}`;
  }
  return torchSetup;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Median seconds per step, by the wall clock and by this process's CPU time. */
export interface StepTimes {
  wall: number;
  cpu: number;
}

export function timeSteps(step: () => void, warmup: number, steps: number): StepTimes {
  for (let i = 0; i < warmup; i++) step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    step();
    const used = process.cpuUsage(startCpu);
    wall.push((performance.now() - start) / 1000);
    cpu.push((used.user + used.system) / 1e6);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

/**
 * Runs `compute` and reads its output back, as an inference step must. The read is outside the
 * tidy on purpose: tf.tidy walks whatever it returns element by element looking for tensors, so
 * returning a Float32Array of 16 x 1000 logits from it costs about 20 ms, a third of MobileNetV2's
 * inference time.
 */
export function computeAndRead(compute: () => tf.Tensor): void {
  const out = tf.tidy(compute);
  out.dataSync();
  out.dispose();
}

export async function timeStepsAsync(step: () => Promise<void>, warmup: number, steps: number): Promise<StepTimes> {
  for (let i = 0; i < warmup; i++) await step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < steps; i++) {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    await step();
    const used = process.cpuUsage(startCpu);
    wall.push((performance.now() - start) / 1000);
    cpu.push((used.user + used.system) / 1e6);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

export async function timeAsync<T>(work: () => Promise<T>): Promise<{ seconds: number; cpuSeconds: number; value: T }> {
  const start = performance.now();
  const startCpu = process.cpuUsage();
  const value = await work();
  const used = process.cpuUsage(startCpu);
  return { seconds: (performance.now() - start) / 1000, cpuSeconds: (used.user + used.system) / 1e6, value };
}

export interface TorchResult {
  torch: string;
  torchvision: string;
  threads: number;
  [key: string]: number | string;
}

/** Runs bench/torch_bench.py in its own process and returns its JSON line. */
export function runTorch(mode: "model" | "pipeline" | "kernel" | "epoch" | "trunk" | "config" | "profile", options: Record<string, string | number>): TorchResult {
  const script = path.join(__dirname, "torch_bench.py");
  const args = [script, mode, ...Object.entries(options).flatMap(([k, v]) => [`--${k}`, String(v)])];
  const run = spawnSync(PYTHON, args, { encoding: "utf8", maxBuffer: 16 * 2 ** 20 });
  if (run.status !== 0) throw new Error(`${PYTHON} ${args.join(" ")} failed:\n${run.stderr}`);
  return JSON.parse(run.stdout.trim().split("\n").pop() ?? "") as TorchResult;
}

export const torchVersion = (r: TorchResult) => `torch ${r.torch}, torchvision ${r.torchvision}`;

/** One comparison row: our figure, PyTorch's, higher is better for both, ratio ours / theirs (median over paired rounds). */
export interface Row {
  name: string;
  unit: string;
  ours: number;
  torch: number;
  ratio: number;
  /** Thread counts or other conditions of the comparison. */
  note?: string;
  /** PyTorch's intra-op threads. */
  torchThreads: number;
  /** Stamped when saved: the CPU (cpuModel), our backend and kernel build, PyTorch's configuration. */
  machine?: string;
  oursSetup?: string;
  torchSetup?: string;
}

/** A row from paired rounds of rates (higher is better): medians of each side, median of the paired ratios. */
export function pairedRow(name: string, unit: string, ours: number[], torch: number[], note?: string, torchThreads = 1): Row {
  return { name, unit, ours: median(ours), torch: median(torch), ratio: median(ours.map((o, i) => o / torch[i])), note, torchThreads };
}

/** The `-p name=value` pairs of the command line (value read as JSON), as notebook parameters. */
export function paramOverrides(argv: readonly string[] = process.argv): Params {
  const params: Params = {};
  argv.forEach((arg, i) => {
    if (arg !== "-p") return;
    const [name, text] = splitAssignment(argv[i + 1] ?? "", arg);
    params[name] = parseValue(text);
  });
  return params;
}
