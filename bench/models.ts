// Training step and inference of MobileNetV2-1.0 @96 and ResNet-50 @224, batch 16, 1000 classes:
// tfjs wasm (lib/backends) against PyTorch CPU on the same number of threads, in alternating rounds.
import * as tf from "@tensorflow/tfjs";
import { foldedInference } from "../lib/backends/folded-inference";
import { buildModel } from "../lib/models";
import { activeBlasLabel, withoutBlas } from "../lib/backends/wasm-training/blas-products";
import { withKernelVariant } from "../lib/backends/wasm-training/kernel-module";
import { kernelVariant } from "../lib/backends/wasm-training/kernel-variant";
import { DataParallel } from "../lib/parallel/data-parallel";
import { computeAndRead, pairedRow, runTorch, timeSteps, timeStepsAsync, torchVersion, type Row, type StepTimes } from "./common";

export interface ModelCase {
  key: string;
  arch: "mobilenet_v2" | "resnet50";
  label: string;
  size: number;
  warmup: number;
  steps: number;
  inferSteps: number;
  /**
   * Images per forward/backward pass; gradients of the passes are summed into one Adam step of
   * the whole batch. ResNet-50 @224 needs it: a batch of 8 already overflows the 2 GiB wasm heap.
   */
  micro?: number;
}

export const MODEL_CASES: ModelCase[] = [
  { key: "mobilenet", arch: "mobilenet_v2", label: "MobileNetV2-1.0 @96", size: 96, warmup: 2, steps: 6, inferSteps: 6 },
  { key: "resnet50", arch: "resnet50", label: "ResNet-50 @224", size: 224, warmup: 1, steps: 1, inferSteps: 2, micro: 4 },
];

const BATCH = 16;
const CLASSES = 1000;

interface Round {
  train: StepTimes;
  infer: StepTimes;
  /** Ours only: inference with BatchNorm folded into the convolutions (lib/backends/folded-inference). */
  folded?: StepTimes;
  /** Ours: the training step on `shares` threads (lib/parallel); PyTorch: on as many threads. */
  parallel?: StepTimes;
  /** Inference on `shares` threads (ours: DataParallel.predict). */
  parallelInfer?: StepTimes;
  /** Ours on the plain SIMD build of our kernels, when the relaxed (FMA) one runs: before/after FMA in one run. */
  plain?: { train: StepTimes; folded: StepTimes };
  /** Ours with our wasm kernels computing the matrix products, when BLAS computes them otherwise: BLAS's gain in one run. */
  noBlas?: { train: StepTimes; folded: StepTimes };
}

export interface OurTrainingStep {
  model: tf.LayersModel;
  x: tf.Tensor4D;
  labels: tf.Tensor;
  optimizer: tf.Optimizer;
  trainStep: () => void;
}

/** The training step of the Learner: forward, cross-entropy, gradients of every trainable variable, Adam. */
export function ourTrainingStep(c: ModelCase): OurTrainingStep {
  const model = buildModel(c.arch, { inputSize: c.size, numClasses: CLASSES, seed: 0 });
  const x = tf.randomNormal([BATCH, c.size, c.size, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const labels = tf.oneHot(tf.randomUniform([BATCH], 0, CLASSES, "int32", 2), CLASSES);
  const optimizer = tf.train.adam(1e-3);
  const micro = c.micro ?? BATCH;
  const passes = BATCH / micro;
  const trainStep = () => {
    let sum: Record<string, tf.Tensor> | undefined;
    for (let p = 0; p < passes; p++) {
      const next = tf.tidy(() => {
        const xs = passes === 1 ? x : x.slice(p * micro, micro);
        const ys = passes === 1 ? labels : labels.slice(p * micro, micro);
        const { value, grads } = tf.variableGrads(
          () => tf.div(tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor), passes) as tf.Scalar);
        value.dataSync();
        if (!sum) return grads;
        const total: Record<string, tf.Tensor> = {};
        for (const name of Object.keys(grads)) total[name] = tf.add(sum[name], grads[name]);
        return total;
      });
      if (sum) tf.dispose(Object.values(sum));
      sum = next;
    }
    const grads = sum!;
    optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    tf.dispose(Object.values(grads));
  };
  return { model, x, labels, optimizer, trainStep };
}

async function setUpOurs(c: ModelCase, shares: number): Promise<{ round: () => Promise<Round>; dispose: () => Promise<void> }> {
  const { model, x, labels, optimizer, trainStep } = ourTrainingStep(c);
  const inferStep = () => computeAndRead(() => model.predict(x) as tf.Tensor);
  const pool = shares > 1 && !c.micro ? await DataParallel.start(model, model.trainableWeights, CLASSES, { shares }) : undefined;
  const classIds = tf.argMax(labels, 1) as tf.Tensor1D;
  const parallelStep = async () => {
    const step = await pool!.step(x, classIds);
    optimizer.applyGradients(Object.entries(step.grads).map(([name, tensor]) => ({ name, tensor })));
    tf.dispose(Object.values(step.grads));
  };
  return {
    round: async () => {
      const train = timeSteps(trainStep, c.warmup, c.steps);
      const infer = timeSteps(inferStep, c.warmup, c.inferSteps);
      const folded = foldedInference(model); // after training: folds the current weights
      const foldedStep = () => computeAndRead(() => folded.predict(x));
      const result: Round = { train, infer, folded: timeSteps(foldedStep, c.warmup, c.inferSteps) };
      if (kernelVariant() === "relaxed" && !c.micro) {
        result.plain = await withKernelVariant("baseline", async () =>
          ({ train: timeSteps(trainStep, c.warmup, c.steps), folded: timeSteps(foldedStep, c.warmup, c.inferSteps) }));
      }
      if (activeBlasLabel() && !c.micro) {
        result.noBlas = await withoutBlas(async () =>
          ({ train: timeSteps(trainStep, c.warmup, c.steps), folded: timeSteps(foldedStep, c.warmup, c.inferSteps) }));
      }
      folded.dispose();
      if (pool) {
        result.parallel = await timeStepsAsync(parallelStep, c.warmup, c.steps);
        result.parallelInfer = await timeStepsAsync(async () => {
          const logits = await pool.predict(x);
          logits.dataSync();
          logits.dispose();
        }, c.warmup, c.inferSteps);
      }
      return result;
    },
    dispose: async () => {
      await pool?.close();
      optimizer.dispose();
      tf.dispose([x, labels, classIds]);
      model.dispose();
    },
  };
}

export interface ModelResult {
  rows: Row[];
  torch: string;
  rounds: { case: string; ours: Round; torch: Round }[];
}

export async function benchModels(cases: ModelCase[], rounds: number, shares: number, log: (line: string) => void): Promise<ModelResult> {
  const result: ModelResult = { rows: [], torch: "", rounds: [] };
  for (const c of cases) {
    const ours = await setUpOurs(c, shares);
    const parallel = shares > 1 && !c.micro;
    const oursRounds: Round[] = [];
    const torchRounds: Round[] = [];
    for (let i = 0; i < rounds; i++) {
      const t = runTorch("model", { arch: c.arch, size: c.size, batch: BATCH, classes: CLASSES, warmup: c.warmup, steps: c.steps, infer_steps: c.inferSteps, threads: 1 });
      result.torch = `${torchVersion(t)}, 1 thread`;
      torchRounds.push({ train: { wall: Number(t.train_step_s), cpu: Number(t.train_step_cpu_s) }, infer: { wall: Number(t.infer_step_s), cpu: Number(t.infer_step_cpu_s) } });
      if (parallel) {
        const t2 = runTorch("model", { arch: c.arch, size: c.size, batch: BATCH, classes: CLASSES, warmup: c.warmup, steps: c.steps, infer_steps: c.inferSteps, threads: shares });
        torchRounds[i].parallel = { wall: Number(t2.train_step_s), cpu: Number(t2.train_step_cpu_s) };
        torchRounds[i].parallelInfer = { wall: Number(t2.infer_step_s), cpu: Number(t2.infer_step_cpu_s) };
      }
      oursRounds.push(await ours.round());
      result.rounds.push({ case: c.key, ours: oursRounds[i], torch: torchRounds[i] });
      const ips = (s: number) => (BATCH / s).toFixed(1);
      log(`  ${c.label} round ${i + 1}/${rounds}: train ${ips(oursRounds[i].train.wall)} vs ${ips(torchRounds[i].train.wall)} img/s, ` +
        `inference ${ips(oursRounds[i].infer.wall)} (folded BN ${ips(oursRounds[i].folded!.wall)}) vs ${ips(torchRounds[i].infer.wall)} img/s (ours vs PyTorch)` +
        (parallel ? `; train on ${shares} threads ${ips(oursRounds[i].parallel!.wall)} vs ${ips(torchRounds[i].parallel!.wall)}` : "") +
        (oursRounds[i].plain ? `; ours on plain SIMD: train ${ips(oursRounds[i].plain!.train.wall)}, folded ${ips(oursRounds[i].plain!.folded.wall)}` : "") +
        (oursRounds[i].noBlas ? `; ours without BLAS: train ${ips(oursRounds[i].noBlas!.train.wall)}, folded ${ips(oursRounds[i].noBlas!.folded.wall)}` : ""));
    }
    await ours.dispose();
    const rate = (rs: Round[], pick: (r: Round) => StepTimes) => rs.map((r) => BATCH / pick(r).wall);
    const trainNote = c.micro ? `batch 16 (ours: 4 passes of ${c.micro}, gradients summed), 1 thread each` : "batch 16, 1 thread each";
    result.rows.push(pairedRow(`${c.label} train`, "img/s", rate(oursRounds, (r) => r.train), rate(torchRounds, (r) => r.train), trainNote));
    result.rows.push(pairedRow(`${c.label} inference`, "img/s", rate(oursRounds, (r) => r.infer), rate(torchRounds, (r) => r.infer), "batch 16, 1 thread each; ours: model.predict"));
    if (parallel) {
      const p = (rs: Round[]) => rs.map((r) => BATCH / r.parallel!.wall);
      result.rows.push(pairedRow(`${c.label} train, ours ${shares} threads vs PyTorch 1 thread`, "img/s", p(oursRounds), rate(torchRounds, (r) => r.train), `batch 16; ours: lib/parallel, ${shares} shares of the batch`));
      result.rows.push(pairedRow(`${c.label} train, ${shares} threads each`, "img/s", p(oursRounds), p(torchRounds), `batch 16; PyTorch intra-op threads ${shares}`, shares));
      const q = (rs: Round[]) => rs.map((r) => BATCH / r.parallelInfer!.wall);
      result.rows.push(pairedRow(`${c.label} inference, ours ${shares} threads vs PyTorch 1 thread`, "img/s", q(oursRounds), rate(torchRounds, (r) => r.infer), `batch 16; ours: DataParallel.predict (not folded)`));
      result.rows.push(pairedRow(`${c.label} inference, ${shares} threads each`, "img/s", q(oursRounds), q(torchRounds), `batch 16`, shares));
    }
    result.rows.push(pairedRow(`${c.label} inference, folded BN`, "img/s", rate(oursRounds, (r) => r.folded!), rate(torchRounds, (r) => r.infer), "batch 16, 1 thread each; ours: foldedInference (BatchNorm + ReLU fused into the convs)"));
    if (oursRounds[0].plain) {
      const note = "1 thread each; ours: the plain SIMD build of our kernels (no FMA), in turns with the relaxed one";
      result.rows.push(pairedRow(`${c.label} train, plain SIMD kernels (before FMA)`, "img/s", rate(oursRounds, (r) => r.plain!.train), rate(torchRounds, (r) => r.train), note));
      result.rows.push(pairedRow(`${c.label} inference, folded BN, plain SIMD kernels (before FMA)`, "img/s", rate(oursRounds, (r) => r.plain!.folded), rate(torchRounds, (r) => r.infer), note));
    }
    if (oursRounds[0].noBlas) {
      const note = `1 thread each; ours: our wasm kernels computing the matrix products, in turns with ${activeBlasLabel()}`;
      result.rows.push(pairedRow(`${c.label} train, our kernels' matrix products (no BLAS)`, "img/s", rate(oursRounds, (r) => r.noBlas!.train), rate(torchRounds, (r) => r.train), note));
      result.rows.push(pairedRow(`${c.label} inference, folded BN, our kernels' matrix products (no BLAS)`, "img/s", rate(oursRounds, (r) => r.noBlas!.folded), rate(torchRounds, (r) => r.infer), note));
    }
  }
  return result;
}
