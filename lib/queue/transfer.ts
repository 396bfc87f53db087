// A run folder's way from a worker to the submitting machine: files up to a size limit gzipped into
// one JSON value stored in Redis; bigger ones (checkpoints, caches a notebook put in its run folder)
// stay on the worker and are listed in remote-files.json.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { writeFileAtomic, writeJsonAtomic } from "../io";
import type { PackedFolder } from "./jobs";

export const REMOTE_FILES = "remote-files.json";

function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile() && !entry.name.endsWith(".tmp"))
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

export function packRunFolder(runDir: string, maxFileBytes: number, worker: string): PackedFolder {
  const packed: PackedFolder = { worker, runDir, files: [], left: [] };
  for (const file of filesUnder(runDir)) {
    const size = fs.statSync(path.join(runDir, file)).size;
    const name = file.split(path.sep).join("/");
    if (size > maxFileBytes) packed.left.push({ path: name, size });
    else packed.files.push({ path: name, size, gzip: zlib.gzipSync(fs.readFileSync(path.join(runDir, file))).toString("base64") });
  }
  return packed;
}

/** Writes the packed files under `dest`, refusing any path that would leave it. */
export function unpackRunFolder(packed: PackedFolder, dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  for (const file of packed.files) {
    const target = path.resolve(dest, file.path);
    const inside = path.relative(dest, target);
    if (!inside || inside.startsWith("..") || path.isAbsolute(inside)) throw new Error(`refusing to write ${file.path} outside ${dest}`);
    writeFileAtomic(target, zlib.gunzipSync(Buffer.from(file.gzip, "base64")));
  }
  if (packed.left.length > 0) {
    writeJsonAtomic(path.join(dest, REMOTE_FILES), {
      worker: packed.worker,
      runDir: packed.runDir,
      note: "these files of the run folder stayed on the worker (larger than the fetch limit, --fetch-max-mb)",
      files: packed.left,
    });
  }
}
