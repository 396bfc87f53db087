import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const dir = path.join(__dirname, "..", "notebooks");
const notebooks = fs.readdirSync(dir).filter((name) => name.endsWith(".ipynb"));

test("committed notebooks have no outputs, the charid kernel and one parameters cell", () => {
  assert.ok(notebooks.length > 0);
  for (const name of notebooks) {
    const nb = JSON.parse(fs.readFileSync(path.join(dir, name), "utf8"));
    assert.equal(nb.metadata.kernelspec.name, "charid", name);
    const code = nb.cells.filter((c: { cell_type: string }) => c.cell_type === "code");
    for (const cell of code) {
      assert.deepEqual(cell.outputs, [], `${name}: outputs must be cleared before committing`);
      assert.equal(cell.execution_count, null, `${name}: execution counts must be cleared`);
    }
    const tagged = code.filter((c: { metadata: { tags?: string[] } }) => c.metadata.tags?.includes("parameters"));
    assert.equal(tagged.length, 1, `${name}: exactly one cell tagged "parameters"`);
  }
});
