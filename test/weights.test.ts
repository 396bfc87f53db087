import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { EMBEDDED_WEIGHTS, resolveWeights, sha256 } from "../lib/weights";

test('"embedded" resolves to the committed backbone only while its hash matches the provenance', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "charid-weights-"));
  const dir = path.join(root, EMBEDDED_WEIGHTS);
  assert.throws(() => resolveWeights("embedded", root), /embedded backbone is missing .*npm run pretrain/);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "weights.bin"), Buffer.from([1, 2, 3, 4]));
  fs.writeFileSync(path.join(dir, "provenance.json"), JSON.stringify({ sha256: sha256(path.join(dir, "weights.bin")) }));
  assert.equal(resolveWeights("embedded", root), dir);
  fs.writeFileSync(path.join(dir, "weights.bin"), Buffer.from([1, 2, 3, 5]));
  assert.throws(() => resolveWeights("embedded", root), /does not match its provenance/);
  assert.equal(resolveWeights("some/model.pth", root), "some/model.pth");
  fs.rmSync(root, { recursive: true, force: true });
});
