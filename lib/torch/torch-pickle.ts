// The torch side of a torch.save pickle: the globals a state_dict uses, storages named by
// persistent ids, and tensors as views of them. Storage bytes sit outside the pickle (in zip
// entries, or after it in the legacy format), so tensors are resolved once they can be read.
import { unpickle, type PickleGlobal } from "./pickle";
import { rebuildTensor, STORAGE_DTYPES, type Storage, type TorchDtype, type TorchTensor } from "./tensor";

export type StateDict = Map<string, TorchTensor>;

/** A storage as the pickle names it: `('storage', torch.FloatStorage, key, location, numel)`. */
export class StorageRef {
  constructor(
    readonly key: string,
    readonly dtype: TorchDtype,
    readonly numel: number,
  ) {}
}

/** torch._utils._rebuild_tensor_v2's arguments, kept until the storage is read. */
class TensorView {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {}
}

class StorageType {
  constructor(readonly dtype: TorchDtype) {}
}

/** Unpickles torch.save's main pickle; its tensors come out as views, resolved by resolveStateDict. */
export function unpickleTorch(bytes: Buffer, label: string, start = 0): { value: unknown; end: number; storages: Map<string, StorageRef> } {
  const storages = new Map<string, StorageRef>();
  const persistentLoad = (pid: unknown): StorageRef => {
    const [kind, type, key, , numel, legacyView] = Array.isArray(pid) ? pid : [];
    if (kind !== "storage" || !(type instanceof StorageType) || typeof key !== "string" || typeof numel !== "number" || (legacyView ?? null) !== null) {
      throw new Error(`${label}: unsupported persistent id ${JSON.stringify(pid, (_, v: unknown) => (typeof v === "bigint" ? String(v) : v))}`);
    }
    const ref = storages.get(key) ?? new StorageRef(key, type.dtype, numel);
    storages.set(key, ref);
    return ref;
  };
  const { value, end } = unpickle(bytes, { findGlobal: (module, name) => torchGlobal(module, name, label), persistentLoad }, label, start);
  return { value, end, storages };
}

/** The pickled dict as tensors by key, reading each storage once through `loadStorage`. */
export function resolveStateDict(value: unknown, label: string, loadStorage: (ref: StorageRef) => Storage): StateDict {
  if (!(value instanceof Map)) throw new Error(`${label} holds no state_dict: its top-level object is not a dict`);
  const loaded = new Map<StorageRef, Storage>();
  const stateDict: StateDict = new Map();
  for (const [key, view] of value) {
    if (typeof key !== "string" || !(view instanceof TensorView)) {
      const keys = [...value.keys()].slice(0, 5).map(String).join(", ");
      throw new Error(`${label} holds a dict that is not a state_dict (entry ${String(key)} is not a tensor; keys: ${keys}, ...)`);
    }
    let storage = loaded.get(view.storage);
    if (!storage) {
      storage = loadStorage(view.storage);
      loaded.set(view.storage, storage);
    }
    stateDict.set(key, rebuildTensor(storage, view.offset, view.shape, view.strides, `${label} ${key}`));
  }
  return stateDict;
}

/** The globals a state_dict pickle uses; anything else (a pickled nn.Module, say) is refused. */
function torchGlobal(module: string, name: string, label: string): PickleGlobal {
  const qualified = `${module}.${name}`;
  if (qualified === "collections.OrderedDict") return () => new Map();
  // _rebuild_tensor is the pre-0.4 name with the same leading arguments.
  if (qualified === "torch._utils._rebuild_tensor_v2" || qualified === "torch._utils._rebuild_tensor") {
    return (storage: unknown, offset: unknown, shape: unknown, strides: unknown) => {
      if (!(storage instanceof StorageRef) || typeof offset !== "number" || !isIntegers(shape) || !isIntegers(strides)) {
        throw new Error(`${label}: malformed arguments to ${qualified}`);
      }
      return new TensorView(storage, offset, shape, strides);
    };
  }
  // A Parameter's data is its tensor (state_dicts hold tensors, but whole-module saves hold these).
  if (qualified === "torch._utils._rebuild_parameter") return (data: unknown) => data;
  if (module === "torch" && name in STORAGE_DTYPES) return new StorageType(STORAGE_DTYPES[name as keyof typeof STORAGE_DTYPES]);
  const hint = module.startsWith("torchvision.") || module.startsWith("torch.nn.") ? " (a whole model was saved: save model.state_dict() instead)" : "";
  throw new Error(`${label}: unsupported global ${qualified} in the pickle${hint}`);
}

function isIntegers(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isInteger(v));
}
