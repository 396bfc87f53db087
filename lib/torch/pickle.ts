// An unpickler for the opcodes torch.save writes (protocol 2, plus the few protocol-4 framing ones).
// Python values become: str -> string, int -> number (bigint beyond 2^53), float -> number,
// bool, None -> null, tuple and list -> array, dict -> Map. Which globals exist and what a
// persistent id loads are the caller's business, so that nothing arbitrary can be called.

/** A global the caller resolved: a function for REDUCE/NEWOBJ to call, or any other value. */
export type PickleGlobal = ((...args: unknown[]) => unknown) | object;

export interface UnpickleOptions {
  /** The object `module.name` stands for; throw for anything unsupported. */
  findGlobal(module: string, name: string): PickleGlobal;
  /** What a persistent id (BINPERSID) loads, e.g. a tensor storage. */
  persistentLoad(pid: unknown): unknown;
}

const OP = {
  PROTO: 0x80, FRAME: 0x95, STOP: 0x2e, GLOBAL: 0x63, STACK_GLOBAL: 0x93,
  BINPUT: 0x71, LONG_BINPUT: 0x72, MEMOIZE: 0x94, BINGET: 0x68, LONG_BINGET: 0x6a,
  MARK: 0x28, POP: 0x30, POP_MARK: 0x31, DUP: 0x32,
  EMPTY_DICT: 0x7d, DICT: 0x64, SETITEM: 0x73, SETITEMS: 0x75,
  EMPTY_TUPLE: 0x29, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87,
  EMPTY_LIST: 0x5d, LIST: 0x6c, APPEND: 0x61, APPENDS: 0x65,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, BINFLOAT: 0x47,
  BINUNICODE: 0x58, SHORT_BINUNICODE: 0x8c, BINUNICODE8: 0x8d,
  NEWTRUE: 0x88, NEWFALSE: 0x89, NONE: 0x4e,
  REDUCE: 0x52, NEWOBJ: 0x81, BUILD: 0x62, BINPERSID: 0x51,
} as const;

class Reader {
  position = 0;
  constructor(
    readonly bytes: Buffer,
    readonly label: string,
  ) {}

  take(length: number): Buffer {
    if (this.position + length > this.bytes.length) throw new Error(`${this.label}: the pickle ends unexpectedly at byte ${this.bytes.length}`);
    this.position += length;
    return this.bytes.subarray(this.position - length, this.position);
  }
  u8 = () => this.take(1)[0];
  u16 = () => this.take(2).readUInt16LE(0);
  u32 = () => this.take(4).readUInt32LE(0);
  u64 = () => Number(this.take(8).readBigUInt64LE(0));
  line = (): string => {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end < 0) throw new Error(`${this.label}: the pickle ends unexpectedly in a GLOBAL`);
    const text = this.bytes.toString("utf8", this.position, end);
    this.position = end + 1;
    return text;
  };
}

/**
 * The object pickled at `start` in `bytes`, and where its pickle ends (torch's legacy format puts
 * several pickles in a row); `label` (e.g. the file and entry) prefixes every error.
 */
export function unpickle(bytes: Buffer, options: UnpickleOptions, label: string, start = 0): { value: unknown; end: number } {
  const input = new Reader(bytes, label);
  input.position = start;
  const memo = new Map<number, unknown>();
  const marks: unknown[][] = [];
  let stack: unknown[] = [];
  const fail = (message: string): never => {
    throw new Error(`${label}: ${message} (at byte ${input.position})`);
  };
  const pop = (): unknown => (stack.length > 0 ? stack.pop() : fail("the pickle pops an empty stack"));
  const top = (): unknown => (stack.length > 0 ? stack[stack.length - 1] : fail("the pickle reads an empty stack"));
  const popMark = (): unknown[] => {
    const items = stack;
    stack = marks.pop() ?? fail("the pickle closes a MARK it never opened");
    return items;
  };
  const call = (callable: unknown, args: unknown): unknown => {
    if (typeof callable !== "function" || !Array.isArray(args)) return fail(`cannot call ${String(callable)}`);
    return (callable as (...a: unknown[]) => unknown)(...args);
  };
  const dictTop = (): Map<unknown, unknown> => {
    const dict = top();
    return dict instanceof Map ? dict : fail("SETITEM(S) on something that is not a dict");
  };
  const listTop = (): unknown[] => {
    const list = top();
    return Array.isArray(list) ? list : fail("APPEND(S) on something that is not a list");
  };

  for (;;) {
    const opcode = input.u8();
    switch (opcode) {
      case OP.PROTO: if (input.u8() > 4) fail("pickle protocol above 4"); break;
      case OP.FRAME: input.u64(); break;
      case OP.STOP: return { value: pop(), end: input.position };
      case OP.GLOBAL: { const module = input.line(); stack.push(options.findGlobal(module, input.line())); break; }
      case OP.STACK_GLOBAL: { const name = pop(); const module = pop(); stack.push(options.findGlobal(String(module), String(name))); break; }
      case OP.BINPUT: memo.set(input.u8(), top()); break;
      case OP.LONG_BINPUT: memo.set(input.u32(), top()); break;
      case OP.MEMOIZE: memo.set(memo.size, top()); break;
      case OP.BINGET: case OP.LONG_BINGET: {
        const key = opcode === OP.BINGET ? input.u8() : input.u32();
        if (!memo.has(key)) fail(`memo key ${key} was never stored`);
        stack.push(memo.get(key));
        break;
      }
      case OP.MARK: marks.push(stack); stack = []; break;
      case OP.POP: pop(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.DUP: stack.push(top()); break;
      case OP.EMPTY_DICT: stack.push(new Map()); break;
      case OP.DICT: { const items = popMark(); stack.push(toMap(items)); break; }
      case OP.SETITEM: { const value = pop(); const key = pop(); dictTop().set(key, value); break; }
      case OP.SETITEMS: { const items = popMark(); for (const [k, v] of toMap(items)) dictTop().set(k, v); break; }
      case OP.EMPTY_TUPLE: case OP.EMPTY_LIST: stack.push([]); break;
      case OP.TUPLE: case OP.LIST: { const items = popMark(); stack.push(items); break; }
      case OP.TUPLE1: stack.push([pop()]); break;
      case OP.TUPLE2: { const b = pop(); stack.push([pop(), b]); break; }
      case OP.TUPLE3: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; }
      case OP.APPEND: { const value = pop(); listTop().push(value); break; }
      case OP.APPENDS: { const items = popMark(); listTop().push(...items); break; }
      case OP.BININT: stack.push(input.take(4).readInt32LE(0)); break;
      case OP.BININT1: stack.push(input.u8()); break;
      case OP.BININT2: stack.push(input.u16()); break;
      case OP.LONG1: stack.push(littleEndianInteger(input.take(input.u8()))); break;
      case OP.BINFLOAT: stack.push(input.take(8).readDoubleBE(0)); break;
      case OP.BINUNICODE: stack.push(input.take(input.u32()).toString("utf8")); break;
      case OP.SHORT_BINUNICODE: stack.push(input.take(input.u8()).toString("utf8")); break;
      case OP.BINUNICODE8: stack.push(input.take(input.u64()).toString("utf8")); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.NONE: stack.push(null); break;
      case OP.REDUCE: case OP.NEWOBJ: { const args = pop(); stack.push(call(pop(), args)); break; }
      case OP.BUILD: {
        pop();
        // The only objects built here are dicts: an OrderedDict's state is its attributes (a
        // state_dict's `_metadata`, module versions), which nothing needs.
        if (!(top() instanceof Map)) fail("BUILD on an object other than a dict is not supported");
        break;
      }
      case OP.BINPERSID: stack.push(options.persistentLoad(pop())); break;
      default: {
        const printable = opcode >= 0x20 && opcode < 0x7f ? ` '${String.fromCharCode(opcode)}'` : "";
        input.position--;
        fail(`unsupported pickle opcode 0x${opcode.toString(16).padStart(2, "0")}${printable}`);
      }
    }
  }
}

function toMap(items: unknown[]): Map<unknown, unknown> {
  const map = new Map<unknown, unknown>();
  for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i], items[i + 1]);
  return map;
}

/** LONG1's two's-complement little-endian integer, as a number when it is exact. */
function littleEndianInteger(bytes: Buffer): number | bigint {
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes.length > 0 && bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
