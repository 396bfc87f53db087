// Add, Sub, Multiply and RealDiv for wasm over float32 for equal shapes, a scalar operand or a
// per-channel vector ([C] or [1, ..., 1, C]) against a tensor whose last axis is C; other
// shapes and dtypes go to the stock kernels. Per call they cost a fraction of the stock
// XNNPACK set-up, which adds up over the thousands of small ops of an optimizer step.
import { Add, backend_util, Multiply, RealDiv, Sub, util } from "@tensorflow/tfjs-core";
import type { KernelConfig, KernelFunc, NamedTensorInfoMap, TensorInfo } from "@tensorflow/tfjs-core";
import { trainingKernels } from "./kernel-module";
import { runStockKernel } from "./stock-kernels";
import { heapOffset, type WasmBackend } from "./wasm-backend";

const enum BinaryOp {
  Add = 0,
  Sub = 1,
  Mul = 2,
  Div = 3,
}

/** How an operand is read within [rows, cols]: [row step, column step]. */
type Steps = [number, number];

function isPerChannel(t: TensorInfo, channels: number): boolean {
  const last = t.shape.length - 1;
  return t.shape[last] === channels && t.shape.every((size, i) => i === last || size === 1);
}

function stepsFor(t: TensorInfo, outSize: number, cols: number): Steps | undefined {
  const size = util.sizeFromShape(t.shape);
  if (size === outSize) return [cols, 1];
  if (size === 1) return [0, 0];
  return isPerChannel(t, cols) ? [0, 1] : undefined;
}

function binary(kernelName: string, op: BinaryOp): KernelConfig {
  const kernelFunc = ({ inputs, backend }: { inputs: { a: TensorInfo; b: TensorInfo }; backend: WasmBackend }): TensorInfo => {
    const { a, b } = inputs;
    const outShape = backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
    const outSize = util.sizeFromShape(outShape);
    const cols = outShape.length > 0 ? outShape[outShape.length - 1] : 1;
    const stepsA = stepsFor(a, outSize, cols);
    const stepsB = stepsFor(b, outSize, cols);
    if (a.dtype !== "float32" || b.dtype !== "float32" || !stepsA || !stepsB || outSize === 0) {
      return runStockKernel(kernelName, backend, inputs as unknown as NamedTensorInfoMap);
    }
    const out = backend.makeOutput(outShape, "float32");
    trainingKernels(backend).binary_f32(
      heapOffset(backend, a), ...stepsA, heapOffset(backend, b), ...stepsB, heapOffset(backend, out), outSize / cols, cols, op);
    return out;
  };
  return { kernelName, backendName: "wasm", kernelFunc: kernelFunc as unknown as KernelFunc };
}

export const addConfig = binary(Add, BinaryOp.Add);
export const subConfig = binary(Sub, BinaryOp.Sub);
export const multiplyConfig = binary(Multiply, BinaryOp.Mul);
export const realDivConfig = binary(RealDiv, BinaryOp.Div);
