// BatchMatMul for wasm with a transposed operand and no batch, the gradients of a dense layer
// (x^T * dy and dy * W^T): BLAS's product when one is loaded (../blas.ts). Without it the operand is
// transposed first: the stock kernel runs those products on a slow loop and only the untransposed
// one on XNNPACK.
import { BatchMatMul, Transpose, util } from "@tensorflow/tfjs-core";
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from "@tensorflow/tfjs-core";
import { blasActive, heapGemm } from "./blas-products";
import { runStockKernel } from "./stock-kernels";
import { heapOffset, type WasmBackend } from "./wasm-backend";

type Args = { inputs: { a: TensorInfo; b: TensorInfo }; backend: WasmBackend; attrs: BatchMatMulAttrs };

function swapLastAxes(backend: WasmBackend, x: TensorInfo): TensorInfo {
  const perm = x.shape.map((_, i) => i);
  perm.splice(-2, 2, perm.length - 1, perm.length - 2);
  return runStockKernel(Transpose, backend, { x }, { perm });
}

/**
 * op(A) * op(B) by XNNPACK, untransposed: either transpose the transposed operands, or compute
 * C^T = op(B)^T * op(A)^T and transpose C, whichever moves fewer elements.
 */
function batchMatMul(args: Args): TensorInfo {
  const { inputs: { a, b }, backend, attrs: { transposeA, transposeB } } = args;
  const unbatched = (t: TensorInfo) => t.shape.length >= 2 && util.sizeFromShape(t.shape.slice(0, -2)) === 1;
  const ours = a.dtype === "float32" && b.dtype === "float32" && unbatched(a) && unbatched(b);
  const [m, k] = transposeA ? a.shape.slice(-2).reverse() : a.shape.slice(-2);
  const n = transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1];
  // Only the transposed products, a dense layer's gradients: an untransposed one may be a forward pass,
  // where a whole batch in one BLAS call could round an image's row differently by batch (see conv-gemm.ts).
  if (ours && (transposeA || transposeB) && blasActive() && m * n * k > 0) {
    const out = backend.makeOutput([...(a.shape.length > b.shape.length ? a : b).shape.slice(0, -2), m, n], "float32");
    heapGemm(backend, { m, n, k, a: heapOffset(backend, a), transA: transposeA, b: heapOffset(backend, b), transB: transposeB, c: heapOffset(backend, out) });
    return out;
  }
  if ((!transposeA && !transposeB) || !ours) {
    return runStockKernel(BatchMatMul, backend, args.inputs, args.attrs as unknown as NamedAttrMap);
  }
  const direct = (transposeA ? m * k : 0) + (transposeB ? n * k : 0);
  const swapped = (transposeA ? 0 : m * k) + (transposeB ? 0 : n * k) + m * n;
  const temporaries: TensorInfo[] = [];
  const transposed = (t: TensorInfo) => {
    const result = swapLastAxes(backend, t);
    temporaries.push(result);
    return result;
  };
  let out: TensorInfo;
  if (direct <= swapped) {
    const left = transposeA ? transposed(a) : a;
    const right = transposeB ? transposed(b) : b;
    out = runStockKernel(BatchMatMul, backend, { a: left, b: right }, { transposeA: false, transposeB: false });
  } else {
    const left = transposeB ? b : transposed(b);
    const right = transposeA ? a : transposed(a);
    const productT = runStockKernel(BatchMatMul, backend, { a: left, b: right }, { transposeA: false, transposeB: false });
    temporaries.push(productT);
    out = swapLastAxes(backend, productT);
  }
  for (const t of temporaries) backend.disposeData(t.dataId);
  return out;
}

export const batchMatMulConfig: KernelConfig = {
  kernelName: BatchMatMul,
  backendName: "wasm",
  kernelFunc: batchMatMul as unknown as KernelFunc,
};
