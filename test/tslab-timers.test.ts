// tslab-timers.cjs: the kernel survives TypeScript asking for its two watch timers at once, which
// happens when files change under a running kernel (editing lib/ while a cell trains).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const script = path.join(__dirname, "helpers", "tslab-watch.cjs");
const run = (...args: string[]) => JSON.parse(execFileSync(process.execPath, [script, ...args], { encoding: "utf8" })) as { errors: string[]; first: string[]; second: string[] | null };

test("with the timer queue, file changes under a running kernel throw nothing and the next compile sees them", () => {
  const patched = run("--patched");
  assert.deepEqual(patched.errors, []);
  assert.match(patched.first.join(), /Cannot find module '\.\/b'/);
  assert.deepEqual(patched.second, [], "the new file resolves the failed import");
});

test("without it, tslab throws from the watcher and fails the next compile (if this fails, tslab fixed it: drop tslab-timers.cjs)", () => {
  const plain = run();
  assert.ok(plain.errors.some((e) => /Unexpected pending rebuildTimer/.test(e)), JSON.stringify(plain.errors));
});
