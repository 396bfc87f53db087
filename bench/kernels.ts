// The ceiling for conv nets: single convolutions of ResNet-50's shapes and one large matrix
// product, ours (tfjs wasm, 128-bit wasm SIMD: our kernels, and tfjs' stock XNNPACK ones) against
// PyTorch (oneDNN / MKL with the CPU's widest vectors), 1 thread each, in multiply-adds per second. A network made of these
// operations cannot beat their ratio, whatever is done around them.
import * as tf from "@tensorflow/tfjs";
import { withStockKernels } from "../lib/backends/wasm-training/stock-kernels";
import { computeAndRead, pairedRow, runTorch, timeSteps, type Row } from "./common";

export interface KernelCase {
  key: string;
  label: string;
  /** NHWC input and [kh, kw, in, out] filter; stride 1, "same" padding. */
  input: [number, number, number, number];
  filter: [number, number, number, number];
}

export const KERNEL_CASES: KernelCase[] = [
  { key: "conv3x3", label: "conv 3x3 256->256 @14x14 (ResNet-50 layer3)", input: [16, 14, 14, 256], filter: [3, 3, 256, 256] },
  { key: "conv1x1", label: "conv 1x1 1024->256 @14x14 (ResNet-50 layer3)", input: [16, 14, 14, 1024], filter: [1, 1, 1024, 256] },
  { key: "matmul", label: "matrix product 1024x1024x1024 (as a 1x1 conv)", input: [1, 1024, 1, 1024], filter: [1, 1, 1024, 1024] },
];

function multiplyAdds(c: KernelCase): number {
  const [n, h, w] = c.input;
  const [kh, kw, cin, cout] = c.filter;
  return n * h * w * kh * kw * cin * cout;
}

export async function benchKernels(rounds: number, log: (line: string) => void): Promise<{ rows: Row[]; torch: string }> {
  const rows: Row[] = [];
  let torch = "";
  for (const c of KERNEL_CASES) {
    const x = tf.randomNormal(c.input, 0, 1, "float32", 1) as tf.Tensor4D;
    const f = tf.randomNormal(c.filter, 0, 0.05, "float32", 2) as tf.Tensor4D;
    const macs = multiplyAdds(c);
    const ours: number[] = [];
    const stock: number[] = [];
    const theirs: number[] = [];
    const step = () => computeAndRead(() => tf.conv2d(x, f, 1, "same"));
    for (let r = 0; r < rounds; r++) {
      const t = runTorch("kernel", { input: c.input.join(","), filter: c.filter.join(","), warmup: 2, steps: 10, threads: 1 });
      torch = `torch ${t.torch}, 1 thread`;
      theirs.push(macs / Number(t.step_s) / 1e9);
      ours.push(macs / timeSteps(step, 2, 10).wall / 1e9);
      stock.push(macs / (await withStockKernels(["Conv2D"], async () => timeSteps(step, 2, 10))).wall / 1e9);
      log(`  ${c.label} round ${r + 1}/${rounds}: ${ours[r].toFixed(1)} (stock XNNPACK ${stock[r].toFixed(1)}) vs ${theirs[r].toFixed(1)} GMAC/s (ours vs PyTorch)`);
    }
    tf.dispose([x, f]);
    rows.push(pairedRow(c.label, "GMAC/s", ours, theirs, "1 thread each; ours: tf.conv2d on wasm (lib/backends/wasm-training/conv-gemm.ts); PyTorch: F.conv2d"));
    rows.push(pairedRow(`${c.label}, stock XNNPACK`, "GMAC/s", stock, theirs, "1 thread each; tfjs' own wasm Conv2D kernel in place of ours"));
  }
  return { rows, torch };
}
