// Transparent huge pages for wasm heaps. Every page of a wasm heap is touched for the first time
// when the heap grows into it, and on the virtual machines this project was measured on, writing a
// fresh GiB once took 3.9 s in 4 KiB pages and 2.1 s with huge pages (`npm run bench:pages`), which
// each new thread's heap pays again (notebook 05's heap reaches 1.5 GiB, and each extraction
// worker's about 0.7 GiB). With huge pages the kernel maps 2 MiB at a time. Linux gives anonymous
// memory huge pages only where a process asks (madvise) unless the machine is set to "always"; V8
// does not ask, so the heap is advised here after each growth. Elsewhere, or where the kernel
// refuses, nothing changes.
type Koffi = typeof import("koffi");

/** Set to "off" to leave wasm heaps on the kernel's default pages. */
export const HUGE_PAGES_ENV = "CHARID_HUGE_PAGES";

const MADV_HUGEPAGE = 14;
const INSTALLED = Symbol.for("charid.hugePages");

type Madvise = (address: ArrayBuffer, length: number, advice: number) => number;

/** What is used of WebAssembly.Memory (spelled out: tslab's compiler has no WebAssembly types). */
interface GrowableMemory {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
  [INSTALLED]?: boolean;
}

/**
 * From now on, every WebAssembly.Memory of this thread that grows is advised to use huge pages
 * (madvise MADV_HUGEPAGE on its whole buffer). Call it before the wasm backend allocates. Returns
 * whether the advice is given: false off Linux, without libc or koffi, or with CHARID_HUGE_PAGES=off.
 */
export function adviseHugePagesOnGrowth(): boolean {
  const memory = (globalThis as unknown as { WebAssembly: { Memory: { prototype: GrowableMemory } } }).WebAssembly.Memory.prototype;
  if (memory[INSTALLED]) return true;
  if (process.platform !== "linux" || process.env[HUGE_PAGES_ENV]?.trim().toLowerCase() === "off") return false;
  const madvise = loadMadvise();
  if (!madvise) return false;
  const grow = memory.grow;
  // The glue code of tfjs's wasm backend grows its heap through this method (emscripten_resize_heap).
  memory.grow = function (this: GrowableMemory, delta: number): number {
    const previousPages = grow.call(this, delta);
    // The buffer starts page-aligned (V8 reserves it with mmap); a refusal (EINVAL where the kernel
    // has no huge pages) leaves the heap as it was.
    madvise(this.buffer, this.buffer.byteLength, MADV_HUGEPAGE);
    return previousPages;
  };
  memory[INSTALLED] = true;
  return true;
}

function loadMadvise(): Madvise | undefined {
  try {
    const koffi = require("koffi") as Koffi;
    return koffi.load("libc.so.6").func("int madvise(void *addr, size_t len, int advice)") as Madvise;
  } catch {
    return undefined;
  }
}
