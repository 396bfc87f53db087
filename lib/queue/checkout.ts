// Which version of the project a machine runs: its git commit and whether the tree has uncommitted
// changes. Queued jobs name the submitter's commit; a worker runs only jobs of its own commit, and only
// notebooks its own checkout tracks.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Checkout {
  root: string;
  /** `git rev-parse HEAD`, 40 hex digits. */
  commit: string;
  /** Files with uncommitted changes, tracked or not (`git status --porcelain`); empty when clean. */
  changed: string[];
}

export class CheckoutError extends Error {
  override name = "CheckoutError";
}

function git(root: string, args: string[]): string {
  const run = spawnSync("git", ["-C", root, ...args], { encoding: "utf8", maxBuffer: 16 * 2 ** 20 });
  if (run.error) {
    throw new CheckoutError(
      `queued sweeps name the project's version by its git commit, and git could not run (${run.error.message}): ` +
        "install git (apt-get install git) and work in a git checkout of the project",
    );
  }
  if (run.status !== 0) throw new CheckoutError(`git ${args.join(" ")} failed in ${root}: ${run.stderr.trim()}`);
  return run.stdout;
}

export function readCheckout(root: string): Checkout {
  const commit = git(root, ["rev-parse", "HEAD"]).trim();
  const changed = git(root, ["status", "--porcelain", "--untracked-files=normal"])
    .split("\n")
    .filter(Boolean)
    .map((line) => line.slice(3));
  return { root, commit, changed };
}

export function shortCommit(commit: string): string {
  return commit.slice(0, 10);
}

/** Refuses a tree with uncommitted changes unless allowed: other machines cannot have them. */
export function requireClean(checkout: Checkout, allowDirty: boolean, who: string): void {
  if (checkout.changed.length === 0 || allowDirty) return;
  const shown = checkout.changed.slice(0, 10).join(", ") + (checkout.changed.length > 10 ? `, … (${checkout.changed.length} in all)` : "");
  throw new CheckoutError(
    `${who}: ${checkout.root} has uncommitted changes (${shown}). Jobs name a commit, and a worker runs that ` +
      "commit's notebooks and lib/, so commit the changes (and check out that commit on every worker), or pass " +
      "--allow-dirty to vouch that every machine has the same uncommitted changes",
  );
}

/**
 * The notebook as a path relative to the checkout ("notebooks/03-augmentation-study.ipynb"), after
 * checking it is an .ipynb file inside the checkout that git tracks. A job names a notebook, never
 * carries one, so this is what keeps a worker to the notebooks of its own checkout.
 */
export function notebookInCheckout(root: string, notebook: string): string {
  const absolute = path.resolve(root, notebook);
  const relative = path.relative(root, absolute);
  if (!notebook || relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new CheckoutError(`${notebook} is outside the checkout ${root}; queued runs take the checkout's own notebooks only`);
  }
  if (!relative.endsWith(".ipynb")) throw new CheckoutError(`${notebook} is not a notebook (.ipynb)`);
  if (!fs.existsSync(absolute)) throw new CheckoutError(`${relative} does not exist in the checkout ${root}`);
  const real = path.relative(fs.realpathSync(root), fs.realpathSync(absolute));
  if (real.startsWith("..") || path.isAbsolute(real)) throw new CheckoutError(`${relative} links outside the checkout ${root}`);
  const tracked = spawnSync("git", ["-C", root, "ls-files", "--error-unmatch", "--", relative], { encoding: "utf8" });
  if (tracked.status !== 0) {
    throw new CheckoutError(`${relative} is not tracked by git in ${root}; queued runs take committed notebooks only (git add and commit it)`);
  }
  return relative.split(path.sep).join("/");
}
