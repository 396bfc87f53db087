import type { RunResult } from "./types";

/** Drops the stack frames of tslab and node:vm that every failing cell carries. */
export function withoutKernelFrames(text: string): string {
  return text
    .split("\n")
    .filter((line) => !/^\s*at .*(node_modules[\\/]tslab[\\/]|\(node:vm:|sigintHandlersWrap)/.test(line))
    .join("\n")
    .trim();
}

/**
 * tslab (TypeScript 5.0.4, no strict mode, lib es2020) drops the file name of most errors found in
 * files a cell imports, so `79:63 - ...` under a 5-line cell points into lib/. Says so.
 */
export function withImportedFileHint(message: string, cellSource: string): string {
  const cellLines = cellSource.split("\n").length;
  const outside = [...message.matchAll(/^(\d+):\d+ - /gm)].some((m) => Number(m[1]) > cellLines);
  if (!outside) return message;
  return (
    message +
    `\n(note: positions past this cell's ${cellLines} lines are in a file it imports; tslab omits the file name.` +
    " tslab compiles imported .ts files with TypeScript 5.0.4, strict off and lib es2020, so code that passes" +
    " `npx tsc -p .` can still fail here)"
  );
}

/** A run that started but did not finish; `result` is what was saved (run folder, outputs so far). */
export class NotebookRunError extends Error {
  constructor(readonly result: RunResult) {
    super(describeFailure(result));
    this.name = "NotebookRunError";
  }
}

export function describeFailure(result: RunResult): string {
  const error = result.error;
  const where =
    error?.cellIndex == null ? "" : ` at cell ${error.cellIndex} ${JSON.stringify(error.firstLine ?? "")}`;
  return [
    `${result.notebook} failed${where}:`,
    error?.message ?? "(no error text)",
    `Executed notebook (outputs up to the failure): ${result.executedNotebook}`,
  ].join("\n");
}
