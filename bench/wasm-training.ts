// MobileNetV2-1.0 at 96x96, batch 16, 1000 classes: training and inference images per second
// on the tfjs wasm backend (with lib/backends/wasm-training) and on PyTorch CPU, one thread
// each, and their ratios. Writes bench/results/wasm-training-<date>.json.
// This machine's speed drifts by up to 2x within minutes, so the two sides take turns over
// a few rounds; each ratio compares the rounds run side by side, and the medians are reported.
// Run: npm run bench:wasm   (PyTorch from Debian: /usr/bin/python3 with python3-torch[vision])
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { selectBackend } from "../lib/backend";
import { mobilenetV2 } from "../lib/models/mobilenet-v2";

const BATCH = 16;
const SIZE = 96;
const CLASSES = 1000;
const ROUNDS = 3;
const WARMUP = 2;
const STEPS = 6;
const PYTHON = process.env.CHARID_TORCH_PYTHON ?? "/usr/bin/python3";

/** Median seconds per step, by the wall clock and by this process's CPU time. */
interface StepTimes {
  wall: number;
  cpu: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function timeSteps(step: () => void): StepTimes {
  for (let i = 0; i < WARMUP; i++) step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const start = performance.now();
    const startCpu = process.cpuUsage();
    step();
    const used = process.cpuUsage(startCpu);
    wall.push((performance.now() - start) / 1000);
    cpu.push((used.user + used.system) / 1e6);
  }
  return { wall: median(wall), cpu: median(cpu) };
}

interface Round {
  train: StepTimes;
  infer: StepTimes;
}

/** Builds the model on the wasm backend; each call of the result times one round. */
async function setUpTfjsWasm(): Promise<{ device: string; round: () => Round }> {
  const { device } = await selectBackend("wasm");
  const model = mobilenetV2({ inputSize: SIZE, numClasses: CLASSES });
  const x = tf.randomNormal([BATCH, SIZE, SIZE, 3]);
  const labels = tf.oneHot(tf.randomUniform([BATCH], 0, CLASSES, "int32"), CLASSES);
  const optimizer = tf.train.adam(1e-3);
  const trainStep = () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(labels, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
      optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      return value;
    });
    loss.dataSync();
    loss.dispose();
  };
  const inferStep = () => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync());
  return { device, round: () => ({ train: timeSteps(trainStep), infer: timeSteps(inferStep) }) };
}

function torchRound(): Round & { versions: string } {
  const script = path.join(__dirname, "torch_mobilenet.py");
  const args = ["--batch", BATCH, "--size", SIZE, "--classes", CLASSES, "--warmup", WARMUP, "--steps", STEPS].map(String);
  const run = spawnSync(PYTHON, [script, ...args], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`${PYTHON} ${script} failed:\n${run.stderr}`);
  const result = JSON.parse(run.stdout.trim().split("\n").pop() ?? "");
  return {
    versions: `torch ${result.torch}, torchvision ${result.torchvision}, ${result.threads} thread`,
    train: { wall: result.train_step_s, cpu: result.train_step_cpu_s },
    infer: { wall: result.infer_step_s, cpu: result.infer_step_cpu_s },
  };
}

const imagesPerSecond = (seconds: number) => BATCH / seconds;
const medianOf = (rounds: Round[], pick: (round: Round) => number) => median(rounds.map(pick));

async function main(): Promise<void> {
  const loadBefore = os.loadavg()[0];
  const wasm = await setUpTfjsWasm();
  const wasmRounds: Round[] = [];
  const torchRounds: (Round & { versions: string })[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    torchRounds.push(torchRound());
    wasmRounds.push(wasm.round());
    console.log(`round ${i + 1}/${ROUNDS}: train ${imagesPerSecond(wasmRounds[i].train.wall).toFixed(1)} vs ` +
      `${imagesPerSecond(torchRounds[i].train.wall).toFixed(1)} img/s, inference ${imagesPerSecond(wasmRounds[i].infer.wall).toFixed(1)} vs ` +
      `${imagesPerSecond(torchRounds[i].infer.wall).toFixed(1)} img/s (wasm vs PyTorch)`);
  }
  const side = (rounds: Round[]) => ({
    trainImagesPerSecond: imagesPerSecond(medianOf(rounds, (r) => r.train.wall)),
    inferImagesPerSecond: imagesPerSecond(medianOf(rounds, (r) => r.infer.wall)),
    trainImagesPerCpuSecond: imagesPerSecond(medianOf(rounds, (r) => r.train.cpu)),
    inferImagesPerCpuSecond: imagesPerSecond(medianOf(rounds, (r) => r.infer.cpu)),
  });
  const pairedRatio = (pick: (round: Round) => number) =>
    median(wasmRounds.map((round, i) => pick(torchRounds[i]) / pick(round)));
  const result = {
    date: new Date().toISOString(),
    model: `MobileNetV2-1.0 (lib/models/mobilenet-v2 vs torchvision), ${SIZE}x${SIZE}, batch ${BATCH}, ${CLASSES} classes`,
    step: "forward + softmax cross-entropy + gradients of all trainable variables + Adam update",
    timing: `${ROUNDS} alternating rounds of ${STEPS} steps after ${WARMUP} warm-up; medians of the rounds' median step`,
    machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version, loadAverage1m: [loadBefore, os.loadavg()[0]] },
    wasm: { device: wasm.device, ...side(wasmRounds) },
    torch: { versions: torchRounds[0].versions, ...side(torchRounds) },
    /** wasm images/s over PyTorch images/s, median over rounds. */
    ratio: { train: pairedRatio((r) => r.train.wall), infer: pairedRatio((r) => r.infer.wall) },
    rounds: wasmRounds.map((round, i) => ({ wasm: round, torch: torchRounds[i] })),
  };
  const fixed = (value: number, digits = 1) => value.toFixed(digits).padStart(8);
  console.log(`\n${result.model}\n${result.timing}`);
  console.log("                      train img/s   infer img/s");
  console.log(`tfjs wasm           ${fixed(result.wasm.trainImagesPerSecond)}      ${fixed(result.wasm.inferImagesPerSecond)}`);
  console.log(`PyTorch CPU         ${fixed(result.torch.trainImagesPerSecond)}      ${fixed(result.torch.inferImagesPerSecond)}`);
  console.log(`wasm / PyTorch      ${fixed(result.ratio.train, 2)}      ${fixed(result.ratio.infer, 2)}`);
  console.log(`(per CPU second: wasm ${result.wasm.trainImagesPerCpuSecond.toFixed(1)} / ${result.wasm.inferImagesPerCpuSecond.toFixed(1)}, ` +
    `PyTorch ${result.torch.trainImagesPerCpuSecond.toFixed(1)} / ${result.torch.inferImagesPerCpuSecond.toFixed(1)}; ` +
    `load average ${loadBefore.toFixed(2)} -> ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} CPUs)`);
  const out = path.join(__dirname, "results", `wasm-training-${result.date.slice(0, 10)}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
