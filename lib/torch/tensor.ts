// PyTorch tensors as plain typed arrays: storages decoded from their raw little-endian bytes, and
// tensors rebuilt from a storage with torch's offset, sizes and strides (views included).
import * as os from "node:os";

/** The storage classes torch.save names (`torch.FloatStorage`, ...) and the dtype each holds. */
export const STORAGE_DTYPES = {
  FloatStorage: "float32",
  DoubleStorage: "float64",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  LongStorage: "int64",
  IntStorage: "int32",
  ByteStorage: "uint8",
  BoolStorage: "bool",
} as const;

export type TorchDtype = (typeof STORAGE_DTYPES)[keyof typeof STORAGE_DTYPES];

export const ITEM_BYTES: Record<TorchDtype, number> = { float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, uint8: 1, bool: 1 };

/** Floating-point dtypes all become Float32Array; bool becomes 0/1 bytes. */
export type TensorData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface TorchTensor {
  shape: number[];
  /** The dtype in the file; `data` holds floating-point ones as float32. */
  dtype: TorchDtype;
  /** Row-major (contiguous) values; may share memory with other tensors of the same storage. */
  data: TensorData;
}

export interface Storage {
  dtype: TorchDtype;
  data: TensorData;
}

/** A storage of `numel` elements of `dtype` from its bytes (as written on a little-endian machine). */
export function decodeStorage(bytes: Uint8Array, dtype: TorchDtype, numel: number, label: string): Storage {
  if (os.endianness() !== "LE") throw new Error("reading torch tensors needs a little-endian machine");
  const expected = numel * ITEM_BYTES[dtype];
  if (bytes.length !== expected) throw new Error(`${label}: ${bytes.length} bytes where ${numel} ${dtype} values need ${expected}`);
  // Copying into fresh arrays also aligns them, which typed-array views of the file need not be.
  const copy = <T extends { buffer: ArrayBufferLike }>(array: T): T => {
    new Uint8Array(array.buffer).set(bytes);
    return array;
  };
  switch (dtype) {
    case "float32": return { dtype, data: copy(new Float32Array(numel)) };
    case "float64": return { dtype, data: Float32Array.from(copy(new Float64Array(numel))) };
    case "float16": return { dtype, data: Float32Array.from(copy(new Uint16Array(numel)), halfToFloat) };
    case "bfloat16": return { dtype, data: new Float32Array(Uint32Array.from(copy(new Uint16Array(numel)), (bits) => bits << 16).buffer) };
    case "int64": return { dtype, data: copy(new BigInt64Array(numel)) };
    case "int32": return { dtype, data: copy(new Int32Array(numel)) };
    case "uint8": case "bool": return { dtype, data: Uint8Array.from(bytes) };
  }
}

/** torch._utils._rebuild_tensor_v2's view of a storage: elements offset + sum(index[d] * stride[d]). */
export function rebuildTensor(storage: Storage, offset: number, shape: number[], strides: number[], label: string): TorchTensor {
  const numel = shape.reduce((a, b) => a * b, 1);
  const { dtype, data } = storage;
  const last = offset + shape.reduce((sum, size, d) => sum + (size - 1) * strides[d], 0);
  if (shape.length !== strides.length || (numel > 0 && (offset < 0 || last >= data.length))) {
    throw new Error(`${label}: a tensor of shape [${shape}] with strides [${strides}] at offset ${offset} exceeds its storage of ${data.length} elements`);
  }
  if (isContiguous(shape, strides)) return { shape, dtype, data: data.subarray(offset, offset + numel) };
  return { shape, dtype, data: gather(data, offset, shape, strides, numel) };
}

function isContiguous(shape: number[], strides: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Walks the view in row-major order, stepping the storage position like an odometer. */
function gather(source: TensorData, offset: number, shape: number[], strides: number[], numel: number): TensorData {
  const target = new (source.constructor as new (length: number) => TensorData)(numel);
  // Same element type on both sides, so the numeric view of the union is only for the compiler.
  const [from, to] = [source as Float32Array, target as Float32Array];
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let position = offset;
  for (let i = 0; i < numel; i++) {
    to[i] = from[position];
    for (let d = rank - 1; d >= 0; d--) {
      position += strides[d];
      if (++index[d] < shape[d]) break;
      position -= strides[d] * shape[d];
      index[d] = 0;
    }
  }
  return target;
}

/** IEEE 754 half-precision bits to a number. */
function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
