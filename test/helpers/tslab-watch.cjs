// Compiles a cell with tslab's converter in a temp folder, then makes TypeScript's watcher ask for
// its two timers at once (a file a failed import looked for appears, then an imported file changes)
// and compiles again. Prints JSON: the errors thrown and the second compile's diagnostics.
// Usage: node tslab-watch.cjs [--patched]
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");

const root = path.resolve(__dirname, "..", "..");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-tslab-watch-"));
process.chdir(dir);
if (process.argv.includes("--patched")) require(path.join(root, "lib", "jupyter", "tslab-timers.cjs")).installTimerQueue(require("@tslab/typescript-for-tslab").sys);
const { createConverter } = require("tslab/dist/converter.js");

const errors = [];
process.on("uncaughtException", (error) => errors.push(error.message));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cell = 'import { a } from "./a";\nimport { b } from "./b";\nconsole.log(a, b);\n';

(async () => {
  fs.writeFileSync("a.ts", "export const a = 1;\n");
  const converter = createConverter();
  const first = converter.convert("", cell).diagnostics.map((d) => d.messageText);
  await sleep(500);
  fs.writeFileSync("b.ts", "export const b = 2;\n");
  await sleep(800);
  fs.writeFileSync("a.ts", "export const a = 3;\n");
  await sleep(800);
  let second = null;
  try {
    second = converter.convert("", cell).diagnostics.map((d) => d.messageText);
  } catch (error) {
    errors.push(`compile: ${error.message}`);
  }
  converter.close();
  fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify({ errors, first, second }));
  process.exit(0);
})();
