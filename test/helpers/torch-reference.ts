// Runs test/helpers/torch_reference.py (PyTorch + torchvision as the oracle): exported tensors,
// saved checkpoints, and torchvision state_dicts mapped onto our models by lib/torch.
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type * as tf from "@tensorflow/tfjs";
import { torchvisionToWeights, type StateDict } from "../../lib/torch";

const PYTHON = "/usr/bin/python3";
const SCRIPT = path.join(__dirname, "torch_reference.py");

/** Why the oracle cannot run here, or undefined when it can. */
export const torchMissing: string | undefined = (() => {
  const probe = spawnSync(PYTHON, ["-c", "import torch, torchvision"], { encoding: "utf8" });
  if (probe.error) return `${PYTHON} is not available (${probe.error.message})`;
  return probe.status === 0 ? undefined : `torch/torchvision cannot be imported: ${probe.stderr.trim().split("\n").pop()}`;
})();

async function runScript(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

export async function torchJson<T>(command: "counts" | "batchnorm"): Promise<T> {
  return JSON.parse(await runScript([command])) as T;
}

export interface TorchExport {
  /** state_dict tensors in PyTorch layout, plus "input" (NHWC) and "logits". */
  tensors: Map<string, { shape: number[]; values: Float32Array }>;
}

export async function exportTorchModel(arch: string, size: number, numClasses: number): Promise<TorchExport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-torch-"));
  try {
    await runScript(["export", arch, dir, String(size), String(numClasses)]);
    const index = JSON.parse(fs.readFileSync(path.join(dir, "tensors.json"), "utf8")) as { name: string; shape: number[]; offset: number }[];
    const bytes = fs.readFileSync(path.join(dir, "tensors.bin"));
    const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const { name, shape, offset } of index) {
      const count = shape.reduce((a, b) => a * b, 1);
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + count * 4));
      tensors.set(name, { shape, values });
    }
    return { tensors };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The state_dict as our variable names and layouts (`layer1.0.conv1.weight` -> `layer1.0.conv1/kernel`). */
export function torchToWeights(model: tf.LayersModel, state: TorchExport["tensors"]): Map<string, Float32Array> {
  const stateDict: StateDict = new Map();
  for (const [key, { shape, values }] of state) {
    if (key !== "input" && key !== "logits") stateDict.set(key, { shape, dtype: "float32", data: values });
  }
  return torchvisionToWeights(stateDict, model);
}

export interface TorchCheckpoint {
  /** `torch.save(model.state_dict(), file)` of a model with random weights and BatchNorm statistics. */
  file: string;
  /** [2, size, size, 3] and PyTorch's logits for it, [2, numClasses], in eval mode. */
  input: Float32Array;
  logits: Float32Array;
}

/** One Python run saving a checkpoint per architecture into `dir`. */
export async function saveTorchCheckpoints(dir: string, size: number, numClasses: number, archs: string[]): Promise<Map<string, TorchCheckpoint>> {
  await runScript(["checkpoints", dir, String(size), String(numClasses), ...archs]);
  const inputLength = 2 * size * size * 3;
  return new Map(
    archs.map((arch) => {
      const bytes = fs.readFileSync(path.join(dir, `${arch}.bin`));
      const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
      const checkpoint = { file: path.join(dir, `${arch}.pth`), input: values.slice(0, inputLength), logits: values.slice(inputLength) };
      return [arch, checkpoint];
    }),
  );
}

/**
 * Saves into `dir` views.pth, a dict of non-contiguous views (and float64/float16/int64 tensors),
 * returning their values; the same dict as views-legacy.pth (the pre-1.6 format) and
 * views-deflated.pth (zip entries deflated); module.pth, a whole nn.Linear.
 */
export async function saveTorchViews(dir: string): Promise<Record<string, { shape: number[]; values: number[] }>> {
  return JSON.parse(await runScript(["views", dir])) as Record<string, { shape: number[]; values: number[] }>;
}
