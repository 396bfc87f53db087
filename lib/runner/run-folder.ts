import * as fs from "node:fs";
import * as path from "node:path";

/** `2025-11-28T09-30-12Z`: a UTC time that sorts by name and is safe in paths. */
export function utcStamp(date = new Date()): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z").replace(/:/g, "-");
}

/** Keeps labels readable in folder names: `seed=1,lr=0.001` -> `seed=1_lr=0.001`. */
export function safeLabel(label: string): string {
  return label
    .replace(/[^A-Za-z0-9._=+-]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 80);
}

/**
 * Creates `<runsRoot>/<notebook stem>/<UTC stamp>[-<label>]`, adding `-2`, `-3`, ... when runs
 * start within the same second with the same label.
 */
export function createRunFolder(runsRoot: string, notebookFile: string, label?: string, now = new Date()): string {
  const stem = path.basename(notebookFile).replace(/\.ipynb$/, "");
  const parent = path.join(runsRoot, stem);
  fs.mkdirSync(parent, { recursive: true });
  const cleanLabel = label ? safeLabel(label) : "";
  const base = utcStamp(now) + (cleanLabel ? `-${cleanLabel}` : "");
  for (let n = 1; ; n++) {
    const dir = path.join(parent, n === 1 ? base : `${base}-${n}`);
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
  }
}
