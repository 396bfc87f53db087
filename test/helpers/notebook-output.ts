// What an executed notebook printed, for tests that run notebooks through the kernel.
import * as fs from "node:fs";
import type { RunResult } from "../../lib/runner";

/** Everything the notebook's cells wrote to stdout, in order. */
export function stdoutOf(run: RunResult): string {
  const nb = JSON.parse(fs.readFileSync(run.executedNotebook, "utf8"));
  return nb.cells
    .flatMap((c: { outputs?: { name?: string; text?: string | string[] }[] }) => c.outputs ?? [])
    .filter((o: { name?: string }) => o.name === "stdout")
    .map((o: { text?: string | string[] }) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? ""))
    .join("");
}
