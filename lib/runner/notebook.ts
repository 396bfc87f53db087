import * as fs from "node:fs";

/** The parts of nbformat v4 the runner reads or writes; everything else is carried through untouched. */
export interface NotebookCell {
  cell_type: "code" | "markdown" | "raw";
  source: string | string[];
  metadata: { tags?: string[]; [key: string]: unknown };
  outputs?: unknown[];
  execution_count?: number | null;
  [key: string]: unknown;
}

export interface Notebook {
  cells: NotebookCell[];
  metadata: { [key: string]: unknown };
  nbformat: number;
  nbformat_minor: number;
}

export function readNotebook(file: string): Notebook {
  const nb = JSON.parse(fs.readFileSync(file, "utf8")) as Notebook;
  if (!Array.isArray(nb.cells) || nb.nbformat !== 4) {
    throw new Error(`${file} is not an nbformat 4 notebook`);
  }
  return nb;
}

export function writeNotebook(file: string, nb: Notebook): void {
  fs.writeFileSync(file, JSON.stringify(nb, null, 1) + "\n");
}

export function cellSource(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** The first non-blank line of a cell, shortened, to name the cell in messages. */
export function firstLine(cell: NotebookCell, max = 60): string {
  const line = cellSource(cell).split("\n").find((l) => l.trim() !== "")?.trim() ?? "";
  return line.length > max ? line.slice(0, max - 3) + "..." : line;
}

export function hasTag(cell: NotebookCell, tag: string): boolean {
  return Array.isArray(cell.metadata?.tags) && cell.metadata.tags.includes(tag);
}

/** Stored sources are lists of lines, each but the last ending in "\n" (as Jupyter writes them). */
export function sourceLines(text: string): string[] {
  return text.split(/(?<=\n)/);
}
