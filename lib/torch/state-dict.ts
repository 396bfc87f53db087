// Reading `torch.save(model.state_dict(), file)` files without Python, in both of torch's formats:
// the zip (PyTorch 1.6 and later) holding `<name>/data.pkl` and one `<name>/data/<key>` entry of
// raw bytes per storage; and the legacy one (older torchvision weights) of consecutive pickles
// followed by the storages' bytes.
import * as fs from "node:fs";
import { unpickle, type UnpickleOptions } from "./pickle";
import { decodeStorage, ITEM_BYTES } from "./tensor";
import { resolveStateDict, unpickleTorch, type StateDict } from "./torch-pickle";
import { ZipArchive } from "./zip";

export type { StateDict } from "./torch-pickle";

const ZIP_MAGIC = 0x04034b50;
const PICKLE_PROTO = 0x80;
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** The tensors of a state_dict saved by torch.save, by key. */
export function readStateDict(file: string): StateDict {
  return parseStateDict(fs.readFileSync(file), file);
}

/** As readStateDict, from the file's bytes; `label` names the file in errors. */
export function parseStateDict(bytes: Buffer, label: string): StateDict {
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === ZIP_MAGIC) return fromArchive(new ZipArchive(bytes, label), label);
  if (bytes.length > 0 && bytes[0] === PICKLE_PROTO) return fromLegacy(bytes, label);
  throw new Error(`${label} is not a PyTorch checkpoint (neither a torch.save zip nor a legacy torch.save pickle)`);
}

function fromArchive(archive: ZipArchive, label: string): StateDict {
  const pickleName = archive.names.find((name) => /^[^/]+\/data\.pkl$/.test(name));
  if (!pickleName) throw new Error(`${label} is a zip but not a torch.save archive: it has no <name>/data.pkl`);
  const root = pickleName.slice(0, -"data.pkl".length);
  const byteOrder = `${root}byteorder`;
  if (archive.has(byteOrder) && archive.read(byteOrder).toString("utf8") !== "little") {
    throw new Error(`${label} was saved on a big-endian machine, which is not supported`);
  }
  const { value } = unpickleTorch(archive.read(pickleName), `${label} ${pickleName}`);
  return resolveStateDict(value, label, (ref) => decodeStorage(archive.read(`${root}data/${ref.key}`), ref.dtype, ref.numel, `${label} storage ${ref.key}`));
}

/** Pickles of the magic number, the protocol, system info, the object and its storage keys; then per key an int64 count and the bytes. */
function fromLegacy(bytes: Buffer, label: string): StateDict {
  const plain: UnpickleOptions = {
    findGlobal: (module, name) => {
      throw new Error(`${label}: unexpected global ${module}.${name} in a legacy header pickle`);
    },
    persistentLoad: () => {
      throw new Error(`${label}: unexpected persistent id in a legacy header pickle`);
    },
  };
  const magic = unpickle(bytes, plain, label);
  if (magic.value !== LEGACY_MAGIC) throw new Error(`${label} is a pickle but not a torch.save file (wrong magic number)`);
  const protocol = unpickle(bytes, plain, label, magic.end);
  if (protocol.value !== LEGACY_PROTOCOL) throw new Error(`${label}: unsupported legacy torch.save protocol ${String(protocol.value)}`);
  const systemInfo = unpickle(bytes, plain, label, protocol.end);
  if (systemInfo.value instanceof Map && systemInfo.value.get("little_endian") === false) {
    throw new Error(`${label} was saved on a big-endian machine, which is not supported`);
  }
  const main = unpickleTorch(bytes, label, systemInfo.end);
  const keys = unpickle(bytes, plain, label, main.end);
  if (!Array.isArray(keys.value)) throw new Error(`${label}: the legacy storage key list is missing`);
  const offsets = new Map<string, number>();
  let at = keys.end;
  for (const key of keys.value) {
    const ref = main.storages.get(String(key));
    if (!ref) throw new Error(`${label} is corrupt: its storage list names an unknown storage ${String(key)}`);
    const start = at + 8;
    const end = start + ref.numel * ITEM_BYTES[ref.dtype];
    if (end > bytes.length) throw new Error(`${label} is truncated: storage ${ref.key} ends past the end of the file`);
    if (Number(bytes.readBigInt64LE(at)) !== ref.numel) throw new Error(`${label} is corrupt: storage ${ref.key} has the wrong size`);
    offsets.set(ref.key, start);
    at = end;
  }
  return resolveStateDict(main.value, label, (ref) => {
    const start = offsets.get(ref.key);
    if (start === undefined) throw new Error(`${label} is corrupt: storage ${ref.key} has no data`);
    return decodeStorage(bytes.subarray(start, start + ref.numel * ITEM_BYTES[ref.dtype]), ref.dtype, ref.numel, `${label} storage ${ref.key}`);
  });
}
