import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readBytesInto, writeBytes, writeFileAtomic } from "../lib/io";

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "charid-io-"));

test("bytes written and read by pieces come back whole, and a size mismatch is refused", () => {
  const dir = tempDir();
  const data = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37 + 11) & 255);
  writeBytes(path.join(dir, "a.bin"), data, 7);
  assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(dir, "a.bin"))), data);
  const back = new Uint8Array(1000);
  assert.equal(readBytesInto(path.join(dir, "a.bin"), back, 13), true);
  assert.deepEqual(back, data);
  assert.equal(readBytesInto(path.join(dir, "a.bin"), new Uint8Array(999)), false, "a file of another size");
  fs.rmSync(dir, { recursive: true });
});

// InceptionV3's features cut at mixed2 (35 x 35 x 288 floats) for 1,867 images are 2.6 GB, past what one fs call takes.
test("a file over 2 GiB is written atomically and read back", () => {
  const dir = tempDir();
  const file = path.join(dir, "big.f32");
  const size = 2 ** 31 + 4096;
  const data = new Uint8Array(size);
  const marks = [0, 2 ** 30 - 1, 2 ** 30, 2 ** 31 - 1, 2 ** 31, size - 1];
  marks.forEach((at, i) => (data[at] = i + 1));
  writeFileAtomic(file, data);
  assert.equal(fs.statSync(file).size, size);
  assert.deepEqual(fs.readdirSync(dir), ["big.f32"], "no temporary file left");
  data.fill(0);
  assert.equal(readBytesInto(file, data), true);
  assert.deepEqual(marks.map((at) => data[at]), marks.map((_, i) => i + 1));
  fs.rmSync(dir, { recursive: true });
});
