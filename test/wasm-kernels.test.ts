// Gradients of conv2d and depthwiseConv2d on the wasm backend, with our training kernels
// registered, against the cpu backend's, over a grid of shapes, strides, paddings and
// (for the depthwise kernels, called directly) dilations. With CHARID_HIGH_HEAP=1 the wasm heap
// first grows past 2 GiB (test/helpers/high-heap.ts; test/wasm-high-heap.test.ts runs that). The
// kernel build this process picked runs here, with BLAS computing the matrix products where one is
// loaded; the last tests run this file with the other build, and with our kernels' products.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { BLAS_ENV, blasStatus } from "../lib/backends/blas";
import { registerWasmTrainingKernels } from "../lib/backends/wasm-training";
import { activeBlasLabel } from "../lib/backends/wasm-training/blas-products";
import { KERNEL_VARIANT_ENV, kernelVariant } from "../lib/backends/wasm-training/kernel-variant";
import { withStockKernels } from "../lib/backends/wasm-training/stock-kernels";
import { heapOffset, type WasmBackend } from "../lib/backends/wasm-training/wasm-backend";
import { Rng } from "../lib/random";
import { highHeapMode, TWO_GIB, useHighHeapWasm } from "./helpers/high-heap";
import { otherVariant, runTestFile, variantForced } from "./helpers/kernel-variants";

type Shape4 = [number, number, number, number];
type Pad = "same" | "valid" | number | [[number, number], [number, number], [number, number], [number, number]];
type Backend = "cpu" | "wasm";

const TOLERANCE = 1e-4;
const PADS: Pad[] = ["same", "valid", [[0, 0], [1, 2], [0, 1], [0, 0]], 1];
const STRIDES: (number | [number, number])[] = [1, 2, [1, 2]];
let worst = 0;

/**
 * A numeric pad sizes the output from the filter height alone (tfjs-core computeOutputShape2D),
 * which makes the wasm forward conv write past its output for non-square filters; skip those.
 */
function padsFor([height, width]: Shape4): Pad[] {
  return height === width ? PADS : PADS.filter((pad) => typeof pad !== "number");
}

function randomValues(size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: size }, () => rng.next() * 2 - 1);
}

/** max |actual - expected| relative to the largest |expected|. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let diff = 0;
  let scale = 1e-6;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / scale;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  const error = relativeError(actual, expected);
  worst = Math.max(worst, error);
  assert.ok(error <= TOLERANCE, `${what}: relative error ${error}`);
}

/** Runs `compute` on a backend and returns its outputs' values. */
async function on(backend: Backend, compute: () => tf.Tensor[]): Promise<Float32Array[]> {
  assert.ok(await tf.setBackend(backend), `no ${backend} backend`);
  return tf.tidy(() => compute()).map((t) => {
    const values = t.dataSync() as Float32Array;
    t.dispose();
    return values;
  });
}

interface Values {
  values: Float32Array;
  shape: Shape4;
}

function randomTensor(shape: Shape4, seed: number): Values {
  return { values: randomValues(shape.reduce((a, b) => a * b), seed), shape };
}

/** Gradients of sum(op(x, filter) * r) w.r.t. x and filter, with r drawn from `seed`. */
function convGrads(op: (x: tf.Tensor4D, f: tf.Tensor4D) => tf.Tensor4D, x: Values, f: Values, seed: number) {
  return (backend: Backend) => on(backend, () => {
    const xt = tf.tensor4d(x.values, x.shape);
    const ft = tf.tensor4d(f.values, f.shape);
    const outShape = op(xt, ft).shape;
    const r = tf.tensor(randomValues(outShape.reduce((a, b) => a * b, 1), seed), outShape);
    return tf.grads((a: tf.Tensor, b: tf.Tensor) => op(a as tf.Tensor4D, b as tf.Tensor4D).mul(r).sum())([xt, ft]);
  });
}

function describeCase(xShape: Shape4, fShape: Shape4, stride: unknown, pad: Pad): string {
  return `x=${xShape} f=${fShape} s=${JSON.stringify(stride)} p=${JSON.stringify(pad)}`;
}

async function compareGrads(name: string, grads: (backend: Backend) => Promise<Float32Array[]>): Promise<void> {
  const [dxCpu, dfCpu] = await grads("cpu");
  const [dxWasm, dfWasm] = await grads("wasm");
  assertClose(dxWasm, dxCpu, `${name} dx`);
  assertClose(dfWasm, dfCpu, `${name} dfilter`);
}

test.before(async () => {
  if (highHeapMode()) useHighHeapWasm();
  await tf.setBackend("wasm");
  registerWasmTrainingKernels();
  if (highHeapMode()) {
    const probe = tf.zeros([4]);
    const at = heapOffset(tf.backend() as unknown as WasmBackend, probe);
    probe.dispose();
    assert.ok(at >= TWO_GIB, `high-heap mode, but a tensor sits at ${at}`);
    console.log(`high heap: tensors at ${at} and up`);
  }
});

test("registering twice changes nothing", () => {
  const names = ["Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "Tile"];
  const before = names.map((name) => tf.getKernel(name, "wasm"));
  const gradient = tf.getGradient("FusedBatchNorm");
  registerWasmTrainingKernels();
  assert.deepEqual(names.map((name) => tf.getKernel(name, "wasm")), before);
  assert.ok(before.every(Boolean));
  assert.equal(tf.getGradient("FusedBatchNorm"), gradient);
});

test("conv2d gradients match the cpu backend", async () => {
  const cases: [Shape4, Shape4][] = [
    [[1, 5, 5, 3], [3, 3, 3, 4]],
    [[2, 7, 6, 5], [3, 2, 5, 8]],
    [[3, 8, 8, 16], [1, 1, 16, 12]],
    [[2, 24, 24, 8], [1, 1, 8, 20]],
    [[2, 9, 9, 6], [5, 5, 6, 9]],
    [[2, 7, 7, 13], [3, 3, 13, 6]],
    [[1, 4, 4, 1], [2, 2, 1, 1]],
  ];
  let seed = 1;
  for (const [xShape, fShape] of cases) {
    for (const stride of STRIDES) {
      for (const pad of padsFor(fShape)) {
        const rounding = typeof pad === "number" ? "floor" : undefined;
        const op = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.conv2d(x, f, stride as [number, number], pad, "NHWC", 1, rounding);
        await compareGrads(`conv2d ${describeCase(xShape, fShape, stride, pad)}`, convGrads(op, randomTensor(xShape, seed += 3), randomTensor(fShape, seed + 1), seed + 2));
      }
    }
  }
});

test("a convolution whose im2col matrix is over 4 Mi floats matches the cpu backend, forward and gradients", async () => {
  // 2 x 64 x 64 output pixels x 648 taps: 5.3 Mi floats, so the filter gradient's BLAS products
  // (conv2d-backprop-filter.ts) run in two blocks, the second adding to the first; the forward pass
  // is one product per image (conv-gemm.ts).
  const xShape: Shape4 = [2, 64, 64, 72];
  const fShape: Shape4 = [3, 3, 72, 8];
  const op = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.conv2d(x, f, 1, "same");
  const [x, f] = [randomTensor(xShape, 7001), randomTensor(fShape, 7002)];
  const forward = (backend: Backend) => on(backend, () => [op(tf.tensor4d(x.values, x.shape), tf.tensor4d(f.values, f.shape))]);
  assertClose((await forward("wasm"))[0], (await forward("cpu"))[0], "conv2d forward in blocks");
  await compareGrads(`conv2d ${describeCase(xShape, fShape, 1, "same")}`, convGrads(op, x, f, 7003));
});

test("depthwiseConv2d gradients match the cpu backend, channel multipliers 1 to 3", async () => {
  const cases: [Shape4, Shape4][] = [
    [[1, 5, 5, 3], [3, 3, 3, 1]],
    [[2, 7, 6, 8], [3, 3, 8, 1]],
    [[2, 6, 6, 20], [3, 3, 20, 1]],
    [[1, 6, 5, 3], [2, 3, 3, 2]],
    [[2, 9, 9, 4], [5, 5, 4, 3]],
  ];
  let seed = 1000;
  for (const [xShape, fShape] of cases) {
    for (const stride of [1, 2]) {
      for (const pad of padsFor(fShape)) {
        const rounding = typeof pad === "number" ? "round" : undefined;
        const op = (x: tf.Tensor4D, f: tf.Tensor4D) => tf.depthwiseConv2d(x, f, stride, pad, "NHWC", 1, rounding);
        await compareGrads(`depthwiseConv2d ${describeCase(xShape, fShape, stride, pad)}`, convGrads(op, randomTensor(xShape, seed += 3), randomTensor(fShape, seed + 1), seed + 2));
      }
    }
  }
});

test("3x3 depthwise forward (fused bias and activation) matches the cpu backend, borders and narrow images included", async () => {
  // Multiples of 4 channels take c/depthwise_conv.c (the others go to the stock kernel).
  const shapes: Shape4[] = [[2, 7, 6, 8], [1, 1, 1, 4], [2, 2, 3, 12], [1, 5, 9, 20], [3, 4, 2, 4]];
  let seed = 3000;
  for (const xShape of shapes) {
    for (const stride of STRIDES) {
      for (const pad of PADS) {
        if (pad === "valid" && (xShape[1] < 3 || xShape[2] < 3)) continue; // no output at all
        for (const activation of ["linear", "relu", "relu6"] as const) {
          const x = randomTensor(xShape, (seed += 3));
          const f = randomTensor([3, 3, xShape[3], 1], seed + 1);
          const bias = randomValues(xShape[3], seed + 2).map((v) => v * 4);
          const forward = (backend: Backend) => on(backend, () => {
            const xt = tf.mul(tf.tensor4d(x.values, x.shape), 4) as tf.Tensor4D; // reaches past ReLU6's 6
            const ft = tf.tensor4d(f.values, f.shape);
            const rounding = typeof pad === "number" ? "round" : undefined;
            return [
              tf.fused.depthwiseConv2d({ x: xt, filter: ft, strides: stride as [number, number], pad: pad as "same", bias: tf.tensor1d(bias), activation, dimRoundingMode: rounding }),
              tf.depthwiseConv2d(xt, ft, stride as [number, number], pad as "same", "NHWC", 1, rounding),
            ];
          });
          const expected = await forward("cpu");
          const actual = await forward("wasm");
          const what = `depthwise forward ${activation} ${describeCase(xShape, f.shape, stride, pad)}`;
          actual.forEach((values, i) => assertClose(values, expected[i], `${what} (${i === 0 ? "fused" : "plain"})`));
        }
      }
    }
  }
});

test("conv2d forward (fused bias and activation) matches the cpu backend: 1x1 and im2col paths, tails, blocks of K", async () => {
  // c/conv_gemm.c: tiles of 4 rows x 8 columns, a half panel when N % 8 == 4, blocks of 256 of
  // K (taps x channels: a block can end inside a tap), im2col rows gathered 64 at a time (16 or
  // more input channels; fewer go to the stock kernel).
  const cases: [Shape4, Shape4, number | [number, number], number][] = [
    [[2, 3, 5, 16], [1, 1, 16, 8], 1, 1],
    [[1, 1, 3, 7], [1, 1, 7, 12], 1, 1],
    [[3, 2, 2, 300], [1, 1, 300, 20], 1, 1],
    [[1, 5, 5, 600], [1, 1, 600, 4], 1, 1],
    [[2, 9, 9, 16], [3, 3, 16, 40], 1, 1],
    [[2, 9, 9, 3], [3, 3, 3, 8], 2, 1], // a stem: the stock kernel
    [[1, 11, 10, 20], [7, 7, 20, 12], 2, 1],
    [[2, 6, 7, 70], [3, 3, 70, 8], [1, 2], 1],
    [[1, 8, 8, 24], [1, 1, 24, 16], 2, 1],
    [[1, 9, 9, 16], [3, 2, 16, 8], 1, 2],
  ];
  let seed = 5000;
  for (const [xShape, fShape, stride, dilation] of cases) {
    const pads = fShape[0] === fShape[1] ? ["same", "valid", [[0, 0], [1, 2], [0, 1], [0, 0]], 1] as const : ["same", "valid"] as const;
    for (const pad of pads) {
      if (dilation > 1 && typeof pad !== "string") continue; // tfjs takes dilations with "same" and "valid" only
      for (const activation of ["linear", "relu", "relu6"] as const) {
        const x = randomTensor(xShape, (seed += 3));
        const f = randomTensor(fShape, seed + 1);
        const bias = randomValues(fShape[3], seed + 2);
        const rounding = typeof pad === "number" ? "round" : undefined;
        const forward = (backend: Backend) => on(backend, () => {
          const xt = tf.tensor4d(x.values, x.shape);
          const ft = tf.mul(tf.tensor4d(f.values, f.shape), 8 / Math.sqrt(fShape[0] * fShape[1] * fShape[2])) as tf.Tensor4D; // past ReLU6's 6
          const args = { x: xt, filter: ft, strides: stride, pad: pad as "same", dilations: dilation, dimRoundingMode: rounding } as const;
          return [tf.fused.conv2d({ ...args, bias: tf.tensor1d(bias), activation }), tf.conv2d(xt, ft, stride, pad as "same", "NHWC", dilation, rounding)];
        });
        const expected = await forward("cpu");
        const actual = await forward("wasm");
        const what = `conv2d forward ${activation} ${describeCase(xShape, fShape, stride, pad as Pad)} dilation ${dilation}`;
        actual.forEach((values, i) => assertClose(values, expected[i], `${what} (${i === 0 ? "fused" : "plain"})`));
      }
    }
  }
});

test("withStockKernels runs the stock kernels in place of ours, then puts ours back, even after an error", async () => {
  const ours = tf.getKernel("Conv2D", "wasm");
  const x = tf.randomNormal([1, 6, 6, 16], 0, 1, "float32", 1) as tf.Tensor4D;
  const f = tf.randomNormal([3, 3, 16, 8], 0, 1, "float32", 2) as tf.Tensor4D;
  const conv = () => tf.tidy(() => tf.conv2d(x, f, 1, "same")).dataSync() as Float32Array;
  const mine = conv();
  const stock = await withStockKernels(["Conv2D"], async () => {
    assert.notEqual(tf.getKernel("Conv2D", "wasm"), ours);
    return conv();
  });
  assertClose(stock, mine, "stock and our conv2d");
  assert.equal(tf.getKernel("Conv2D", "wasm"), ours);
  await assert.rejects(withStockKernels(["Conv2D"], async () => { throw new Error("boom"); }), /boom/);
  assert.equal(tf.getKernel("Conv2D", "wasm"), ours);
  tf.dispose([x, f]);
});

/** [kh, kw, c, q] filter with dilation - 1 zeros between taps: a dilated conv is a plain conv with it. */
function dilateFilter({ values, shape }: Values, [dh, dw]: [number, number]): Values {
  const [kh, kw, c, q] = shape;
  const dilated: Shape4 = [(kh - 1) * dh + 1, (kw - 1) * dw + 1, c, q];
  const out = new Float32Array(dilated.reduce((a, b) => a * b));
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const from = (i * kw + j) * c * q;
      out.set(values.subarray(from, from + c * q), (i * dh * dilated[1] + j * dw) * c * q);
    }
  }
  return { values: out, shape: dilated };
}

test("dilated depthwise backprop kernels match the plain conv with a dilated filter on cpu", async () => {
  // tf.grads refuses dilations > 1, so the kernels are called directly.
  const cases: [Shape4, Shape4, [number, number]][] = [
    [[2, 9, 9, 8], [3, 3, 8, 1], [2, 2]],
    [[1, 8, 10, 5], [2, 3, 5, 2], [2, 3]],
  ];
  let seed = 5000;
  for (const [xShape, fShape, dilations] of cases) {
    for (const pad of padsFor(fShape)) {
      const x = randomTensor(xShape, seed += 3);
      const filter = randomTensor(fShape, seed + 1);
      const dilated = dilateFilter(filter, dilations);
      const [dxCpu, dfDilatedCpu] = await convGrads(
        (x, f) => tf.depthwiseConv2d(x, f, 1, pad, "NHWC", 1, typeof pad === "number" ? "ceil" : undefined),
        x, dilated, seed + 2)("cpu");
      const [dxWasm, dfWasm] = await on("wasm", () => {
        const xt = tf.tensor4d(x.values, xShape);
        const f = tf.tensor4d(filter.values, fShape);
        const rounding = typeof pad === "number" ? "ceil" : undefined;
        const attrs: tf.NamedAttrMap = { strides: 1, pad, dilations, ...(rounding ? { dimRoundingMode: rounding } : {}) };
        const outShape = tf.depthwiseConv2d(xt, f, 1, pad, "NHWC", dilations, rounding).shape;
        const dy = tf.tensor(randomValues(outShape.reduce((a, b) => a * b, 1), seed + 2), outShape);
        return [
          tf.engine().runKernel("DepthwiseConv2dNativeBackpropInput", { dy, filter: f }, { ...attrs, inputShape: xShape }) as tf.Tensor,
          tf.engine().runKernel("DepthwiseConv2dNativeBackpropFilter", { x: xt, dy }, { ...attrs, filterShape: fShape }) as tf.Tensor,
        ];
      });
      const name = `dilated depthwise x=${xShape} f=${fShape} d=${dilations} p=${JSON.stringify(pad)}`;
      assertClose(dxWasm, dxCpu, `${name} dx`);
      const dfCpu = new Float32Array(dfWasm.length);
      const [kh, kw, c, q] = fShape;
      for (let i = 0; i < kh; i++) {
        for (let j = 0; j < kw; j++) {
          const from = (i * dilations[0] * dilated.shape[1] + j * dilations[1]) * c * q;
          dfCpu.set(dfDilatedCpu.subarray(from, from + c * q), (i * kw + j) * c * q);
        }
      }
      assertClose(dfWasm, dfCpu, `${name} dfilter`);
    }
  }
});

test("a batch-normalised ReLU6 conv block trains to the same gradients on wasm as on cpu", async () => {
  // Exercises the wasm-only gradients of FusedBatchNorm, Mean, Relu and ClipByValue and the
  // replaced element-wise, reduction, tile and matMul kernels in the way tf.layers uses them.
  const shapes: Record<string, number[]> = {
    x: [3, 9, 9, 5], conv: [1, 1, 5, 12], depthwise: [3, 3, 12, 1], gamma: [12], beta: [12], dense: [12, 7],
  };
  const values = Object.fromEntries(Object.entries(shapes).map(([name, shape], i) =>
    [name, randomValues(shape.reduce((a, b) => a * b), 9000 + i)]));
  // Some activations beyond 6 and some exact zeros, so both clipping edges matter.
  values.x = values.x.map((v, i) => (i % 11 === 0 ? 0 : v * 8));
  const grads = (backend: Backend) => on(backend, () => {
    const t = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, tf.tensor(values[name], shape)]));
    const loss = (x: tf.Tensor, conv: tf.Tensor, depthwise: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, dense: tf.Tensor) => {
      const y = tf.conv2d(x as tf.Tensor4D, conv as tf.Tensor4D, 1, "same");
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      const normalised = tf.batchNorm(y, mean, variance, beta, gamma, 1e-3);
      const activated = tf.clipByValue(tf.relu(normalised), 0, 6);
      const z = tf.depthwiseConv2d(activated as tf.Tensor4D, depthwise as tf.Tensor4D, 2, "same");
      const logits = tf.matMul(tf.mean(z, [1, 2]), dense);
      return tf.losses.softmaxCrossEntropy(tf.oneHot([1, 4, 6], 7), logits);
    };
    return tf.grads(loss)([t.x, t.conv, t.depthwise, t.gamma, t.beta, t.dense]);
  });
  const cpu = await grads("cpu");
  const wasm = await grads("wasm");
  Object.keys(shapes).forEach((name, i) => assertClose(wasm[i], cpu[i], `d loss / d ${name}`));
});

test("relu and clipByValue gradients on wasm equal cpu's exactly, at the edges and for NaN", async () => {
  const x = [-2, -0, 0, 0.5, 6, 6.5, NaN, 3, 1e-8, -1e-8, 5.999999, 6.000001, 1, 2, 4, 7, 0];
  const dy = x.map((_, i) => (i % 3 === 0 ? -1.5 : 2.25) * (i + 1));
  dy[7] = NaN;
  const grads = (backend: Backend) => on(backend, () => {
    const dyT = tf.tensor(dy);
    const reluGrad = tf.grad((t: tf.Tensor) => tf.relu(t).mul(dyT).sum())(tf.tensor(x));
    const clipGrad = tf.grad((t: tf.Tensor) => tf.clipByValue(t, 0, 6).mul(dyT).sum())(tf.tensor(x));
    return [reluGrad, clipGrad];
  });
  const [reluCpu, clipCpu] = await grads("cpu");
  const [reluWasm, clipWasm] = await grads("wasm");
  assert.deepStrictEqual(Array.from(reluWasm), Array.from(reluCpu));
  assert.deepStrictEqual(Array.from(clipWasm), Array.from(clipCpu));
});

test("the same tests pass with the other build of the kernels (relaxed SIMD or baseline)", (t) => {
  const other = otherVariant();
  if (variantForced() || highHeapMode()) return t.skip("this run tests one build");
  if (other.skip) return t.skip(other.skip);
  const run = runTestFile(__filename, { [KERNEL_VARIANT_ENV]: other.variant });
  assert.equal(run.status, 0, `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  assert.match(run.stdout, /# fail 0/);
  assert.match(run.stdout, new RegExp(`kernel build: ${other.variant}`));
});

test("the same tests pass with our kernels computing the matrix products (CHARID_BLAS=off)", (t) => {
  if (variantForced() || highHeapMode() || process.env[BLAS_ENV]) return t.skip("this run tests one build");
  if (!activeBlasLabel()) return t.skip(`the products are ours already (${blasStatus()})`);
  const run = runTestFile(__filename, { [BLAS_ENV]: "off" });
  assert.equal(run.status, 0, `${run.stdout.slice(-4000)}\n${run.stderr.slice(-2000)}`);
  assert.match(run.stdout, /# fail 0/);
  assert.match(run.stdout, /matrix products: our kernels/);
});

test.after(() => {
  console.log(`matrix products: ${activeBlasLabel() ?? "our kernels"}`);
  console.log(`kernel build: ${kernelVariant()}; largest relative error, wasm vs cpu gradients: ${worst.toExponential(2)}`);
});
