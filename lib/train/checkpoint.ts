// One file per checkpoint: a JSON header (names, shapes, metadata) followed by the raw float32
// data of every tensor. Written to a temporary name and renamed, so a kill never leaves half a file.
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { writeFileAtomic } from "../io";

const MAGIC = "CHARIDCKPT1";

export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: "float32" | "int32";
}

export interface CheckpointFile<Meta> {
  meta: Meta;
  tensors: Map<string, tf.Tensor>;
}

/** Writes named tensors and a JSON-serialisable `meta` into `file`, atomically. */
export function writeCheckpoint<Meta>(file: string, meta: Meta, tensors: ReadonlyMap<string, tf.Tensor>): void {
  const entries: TensorEntry[] = [];
  const chunks: Uint8Array[] = [];
  for (const [name, tensor] of tensors) {
    if (tensor.dtype !== "float32" && tensor.dtype !== "int32") throw new Error(`checkpoint: ${name} has unsupported dtype ${tensor.dtype}`);
    entries.push({ name, shape: tensor.shape, dtype: tensor.dtype });
    const data = tensor.dataSync() as Float32Array | Int32Array;
    chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  const header = Buffer.from(JSON.stringify({ magic: MAGIC, meta, tensors: entries }), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  writeFileAtomic(file, Buffer.concat([length, header, ...chunks]));
}

export function readCheckpoint<Meta>(file: string): CheckpointFile<Meta> {
  if (!fs.existsSync(file)) throw new Error(`checkpoint ${file} does not exist`);
  const bytes = fs.readFileSync(file);
  const headerLength = bytes.length >= 4 ? bytes.readUInt32LE(0) : 0;
  let header: { magic?: string; meta: Meta; tensors: TensorEntry[] };
  try {
    header = JSON.parse(bytes.subarray(4, 4 + headerLength).toString("utf8"));
  } catch {
    throw new Error(`${file} is not a charid checkpoint (unreadable header): delete it to start over`);
  }
  if (header.magic !== MAGIC) throw new Error(`${file} is not a charid checkpoint: delete it to start over`);
  const tensors = new Map<string, tf.Tensor>();
  let offset = 4 + headerLength;
  for (const entry of header.tensors) {
    const count = entry.shape.reduce((a, b) => a * b, 1);
    const byteLength = count * 4;
    if (offset + byteLength > bytes.length) throw new Error(`${file} is truncated at tensor ${entry.name}: delete it to start over`);
    const copy = new Uint8Array(byteLength);
    copy.set(bytes.subarray(offset, offset + byteLength));
    const values = entry.dtype === "int32" ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
    tensors.set(entry.name, tf.tensor(values, entry.shape, entry.dtype));
    offset += byteLength;
  }
  return { meta: header.meta, tensors };
}
