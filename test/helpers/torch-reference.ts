// Runs test/helpers/torch_reference.py (PyTorch + torchvision as the oracle) and maps torchvision
// state_dicts onto our models by module path.
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import type * as tf from "@tensorflow/tfjs";
import { BatchNorm } from "../../lib/models";

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

const BATCH_NORM_NAMES: Record<string, string> = { weight: "gamma", bias: "beta", running_mean: "moving_mean", running_var: "moving_variance" };

/** The state_dict as our variable names and layouts (`layer1.0.conv1.weight` -> `layer1.0.conv1/kernel`). */
export function torchToWeights(model: tf.LayersModel, state: TorchExport["tensors"]): Map<string, Float32Array> {
  const weights = new Map<string, Float32Array>();
  for (const [key, { shape, values }] of state) {
    if (key === "input" || key === "logits") continue;
    const dot = key.lastIndexOf(".");
    const [module, param] = [key.slice(0, dot), key.slice(dot + 1)];
    const layer = model.getLayer(module);
    if (layer instanceof BatchNorm) {
      weights.set(`${module}/${BATCH_NORM_NAMES[param]}`, values);
    } else if (param === "bias") {
      weights.set(`${module}/bias`, values);
    } else {
      weights.set(`${module}/kernel`, shape.length === 4 ? convToTfjs(values, shape) : linearToTfjs(values, shape));
    }
  }
  return weights;
}

/** [out, in/groups, kh, kw] -> [kh, kw, in/groups, out] (plain loops: tfjs's cpu transpose is slow). */
function convToTfjs(values: Float32Array, [out, inPerGroup, kh, kw]: number[]): Float32Array {
  const result = new Float32Array(values.length);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < inPerGroup; i++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) result[((y * kw + x) * inPerGroup + i) * out + o] = values[((o * inPerGroup + i) * kh + y) * kw + x];
  return result;
}

/** [out, in] -> [in, out]. */
function linearToTfjs(values: Float32Array, [out, inFeatures]: number[]): Float32Array {
  const result = new Float32Array(values.length);
  for (let o = 0; o < out; o++) for (let i = 0; i < inFeatures; i++) result[i * out + o] = values[o * inFeatures + i];
  return result;
}
