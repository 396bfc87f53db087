import * as fs from "node:fs";
import * as path from "node:path";

/** Node's fs reads and writes at most 2 GiB - 1 bytes per call; larger files go by pieces of this many. */
const PIECE_BYTES = 2 ** 30;

/** Writes via a temporary sibling and a rename, so readers never see a partial file. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    if (typeof data === "string") fs.writeFileSync(tmp, data);
    else writeBytes(tmp, data);
    fs.renameSync(tmp, file);
  } catch (error) {
    fs.rmSync(tmp, { force: true });
    throw error;
  }
}

/** Writes `data` to `file` (no rename), by pieces, so that it may be larger than 2 GiB. */
export function writeBytes(file: string, data: Uint8Array, pieceBytes = PIECE_BYTES): void {
  const fd = fs.openSync(file, "w");
  try {
    for (let at = 0; at < data.byteLength; ) at += fs.writeSync(fd, data, at, Math.min(pieceBytes, data.byteLength - at));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Fills `target` with the whole of `file`, by pieces, so that it may be larger than 2 GiB (where
 * fs.readFileSync stops); false when the file's size is not target's.
 */
export function readBytesInto(file: string, target: Uint8Array, pieceBytes = PIECE_BYTES): boolean {
  const fd = fs.openSync(file, "r");
  try {
    if (fs.fstatSync(fd).size !== target.byteLength) return false;
    for (let at = 0; at < target.byteLength; ) {
      const read = fs.readSync(fd, target, at, Math.min(pieceBytes, target.byteLength - at), at);
      if (read === 0) return false;
      at += read;
    }
    return true;
  } finally {
    fs.closeSync(fd);
  }
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + "\n");
}

let tmpCounter = 0;

/** The same for concurrent writers: the temporary name is unique per call. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${(tmpCounter++).toString(36)}.tmp`;
  try {
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw error;
  }
}

