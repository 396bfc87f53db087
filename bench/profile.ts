// `npm run bench -- --profile`: where one training step's time goes (MobileNetV2-1.0 @96, batch 16,
// 1 thread), per kernel: ours from tf.profile (each tfjs kernel, ours or stock, timed around its
// call) and PyTorch's from torch.profiler (self CPU time per operator), side by side, then both
// grouped into the same few kinds of work so the gap per kind is visible.
import * as tf from "@tensorflow/tfjs";
import { runTorch, timeSteps } from "./common";
import { MODEL_CASES, ourTrainingStep } from "./models";

export interface OpTime {
  name: string;
  ms: number;
  calls: number;
}

/**
 * Kinds of work, matched in order against tfjs kernel names and PyTorch operator names. Only these
 * are named alike on both sides: tfjs composes training-mode batch norm and Adam from elementwise
 * kernels (Mean, Sub, Square, Multiply, Add, RealDiv, Sqrt), which therefore share the last kind.
 */
const KINDS: [kind: string, pattern: RegExp][] = [
  ["convolutions (and depthwise), backward", /Backprop|convolution_backward/i],
  ["convolutions (and depthwise), forward", /Conv2D|Conv2d|convolution/i],
  ["matrix products (classifier)", /MatMul|aten::(mm|addmm)$/],
];
const KIND_WIDTH = 74;
const OTHER = "everything else: batch norm, ReLU6, Adam, elementwise, reductions, copies";
/** tf.profile lists an op built with customGrad (e.g. fusedConv2d__op) as well as the kernels it runs. */
const OP_SCOPE = /__op$/;

function kindOf(name: string): string {
  return KINDS.find(([, pattern]) => pattern.test(name))?.[0] ?? OTHER;
}

/** Our kernels' time per training step: tf.profile over `steps` steps, after `warmup` unprofiled ones. */
async function profileOurs(warmup: number, steps: number): Promise<{ ops: OpTime[]; stepMs: number }> {
  const ours = ourTrainingStep(MODEL_CASES[0]);
  const stepMs = timeSteps(ours.trainStep, warmup, steps).wall * 1000;
  const totals = new Map<string, OpTime>();
  for (let i = 0; i < steps; i++) {
    const info = await tf.profile(() => ours.trainStep());
    for (const k of info.kernels.filter((k) => !OP_SCOPE.test(k.name))) {
      const op = totals.get(k.name) ?? { name: k.name, ms: 0, calls: 0 };
      op.ms += Number(k.kernelTimeMs) / steps;
      op.calls += 1 / steps;
      totals.set(k.name, op);
    }
  }
  tf.dispose([ours.x, ours.labels]);
  ours.optimizer.dispose();
  ours.model.dispose();
  return { ops: [...totals.values()].sort((a, b) => b.ms - a.ms), stepMs };
}

function byKind(ops: OpTime[]): Map<string, number> {
  const kinds = new Map<string, number>([...KINDS.map(([kind]) => [kind, 0] as [string, number]), [OTHER, 0]]);
  for (const op of ops) kinds.set(kindOf(op.name), kinds.get(kindOf(op.name))! + op.ms);
  return kinds;
}

const cell = (op: OpTime | undefined, total: number, width: number) =>
  op ? `${op.name.slice(0, width - 22).padEnd(width - 22)}${op.ms.toFixed(1).padStart(8)} ms ${((100 * op.ms) / total).toFixed(0).padStart(3)} %`.padEnd(width) : "".padEnd(width);

export async function benchProfile(log: (line: string) => void, top = 15): Promise<{ ours: OpTime[]; torch: OpTime[]; oursStepMs: number; torchStepMs: number }> {
  const warmup = 2;
  const steps = 3;
  const t = runTorch("profile", { arch: "mobilenet_v2", size: 96, batch: 16, classes: 1000, warmup, steps, threads: 1 });
  const torch = (t.ops as unknown as OpTime[]).map((op) => ({ ...op }));
  const torchTimed = runTorch("model", { arch: "mobilenet_v2", size: 96, batch: 16, classes: 1000, warmup, steps, infer_steps: 1, threads: 1 });
  const torchStepMs = Number(torchTimed.train_step_s) * 1000;
  const ours = await profileOurs(warmup, steps);
  const oursKernels = ours.ops.reduce((s, op) => s + op.ms, 0);
  const torchOps = torch.reduce((s, op) => s + op.ms, 0);
  const width = 62;
  log(`\none training step, MobileNetV2-1.0 @96, batch 16, 1 thread: ours ${ours.stepMs.toFixed(0)} ms unprofiled ` +
    `(kernels ${oursKernels.toFixed(0)} ms under tf.profile), PyTorch ${torchStepMs.toFixed(0)} ms unprofiled ` +
    `(operators' self time ${torchOps.toFixed(0)} ms under torch.profiler); ms per step, % of the kernels' sum`);
  log(`${"ours (tfjs kernel)".padEnd(width)}  PyTorch (operator, self CPU time)`);
  for (let i = 0; i < top; i++) log(`${cell(ours.ops[i], oursKernels, width)}  ${cell(torch[i], torchOps, width).trimEnd()}`);
  log(`\n${"kind of work".padEnd(KIND_WIDTH)}  ours ms  PyTorch ms   ours / PyTorch time`);
  const [ourKinds, torchKinds] = [byKind(ours.ops), byKind(torch)];
  for (const [kind, ms] of ourKinds) {
    const theirs = torchKinds.get(kind)!;
    log(`${kind.padEnd(KIND_WIDTH)}  ${ms.toFixed(1).padStart(7)}  ${theirs.toFixed(1).padStart(10)}   ${theirs > 0 ? (ms / theirs).toFixed(2).padStart(6) : "     -"}`);
  }
  const outside = ours.stepMs - oursKernels;
  log(`${"outside kernels / operators (JS: tape, tidy; Python)".padEnd(KIND_WIDTH)}  ${outside.toFixed(1).padStart(7)}  ${(torchStepMs - torchOps).toFixed(1).padStart(10)}`);
  return { ours: ours.ops, torch, oursStepMs: ours.stepMs, torchStepMs };
}
