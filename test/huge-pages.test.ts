// Huge pages for wasm heaps: once advised, a WebAssembly.Memory still grows as before (its contents
// kept, grow's result unchanged) and, on Linux with transparent huge pages available, the kernel
// lists the grown region as advised (VmFlags "hg" in /proc/self/smaps).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { adviseHugePagesOnGrowth } from "../lib/backends/huge-pages";

const MIB = 2 ** 20;

/** Sizes in bytes of this process's mappings that carry the huge-page advice. */
function advisedRegions(): number[] {
  const smaps = fs.readFileSync("/proc/self/smaps", "utf8").split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  return smaps.filter((m) => /^VmFlags:.*\bhg\b/m.test(m)).map((m) => Number(/^Size:\s+(\d+) kB/m.exec(m)?.[1] ?? 0) * 1024);
}

const thpMode = (() => {
  try {
    return /\[(\w+)\]/.exec(fs.readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"))?.[1];
  } catch {
    return undefined;
  }
})();

test("a memory grown after the advice keeps its contents and grow's result", () => {
  adviseHugePagesOnGrowth();
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 2048 });
  new Uint8Array(memory.buffer).set([7, 8, 9], 100);
  assert.equal(memory.grow(1023), 1, "grow returns the previous size in pages");
  assert.equal(memory.buffer.byteLength, 64 * MIB);
  const bytes = new Uint8Array(memory.buffer);
  assert.deepEqual([...bytes.subarray(100, 103)], [7, 8, 9]);
  bytes[bytes.length - 1] = 5;
  assert.equal(new Uint8Array(memory.buffer)[64 * MIB - 1], 5);
  assert.equal(adviseHugePagesOnGrowth(), true, "a second call finds the advice installed");
});

test("the grown memory is advised to use huge pages", { skip: process.platform !== "linux" || thpMode === undefined || thpMode === "never" ? "no transparent huge pages here" : false }, () => {
  assert.equal(adviseHugePagesOnGrowth(), true);
  const before = advisedRegions().filter((size) => size >= 96 * MIB).length;
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 4096 });
  memory.grow(96 * 16 - 1);
  const after = advisedRegions().filter((size) => size >= 96 * MIB).length;
  assert.ok(after > before, `no advised mapping of 96 MiB or more appeared (${before} before, ${after} after)`);
  new Uint8Array(memory.buffer).fill(1);
});
