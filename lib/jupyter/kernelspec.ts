import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export const KERNEL_NAME = "charid";
export const KERNEL_DISPLAY_NAME = "TypeScript (charid)";

/** The folder holding the project's package.json, found upwards from this file. */
export function projectRoot(): string {
  let dir = __dirname;
  for (;;) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`No package.json found above ${__dirname}`);
    dir = parent;
  }
}

/** The project-local Jupyter data folder (git-ignored); put it on JUPYTER_PATH. */
export function jupyterDataDir(root = projectRoot()): string {
  return path.join(root, ".jupyter");
}

export interface KernelSpec {
  argv: string[];
  display_name: string;
  language: string;
}

/**
 * tslab sets its compiler rootDir to the kernel's working directory, which Jupyter makes the
 * notebook's folder; starting it from the project root lets cells `import ... from "./lib/..."`.
 * It starts through tslab-kernel.cjs, which fixes tslab's watch timers (see there).
 */
export function kernelSpec(root = projectRoot()): KernelSpec {
  const launcher = path.join(root, "lib", "jupyter", "tslab-kernel.cjs");
  return {
    argv: [
      "/bin/sh",
      "-c",
      `cd ${shellQuote(root)} && exec node ${shellQuote(launcher)} kernel --config-path "$0"`,
      "{connection_file}",
    ],
    display_name: KERNEL_DISPLAY_NAME,
    language: "typescript",
  };
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * Writes the `charid` kernel spec into <root>/.jupyter/kernels/charid and, with `user`, also
 * registers it for the user's Jupyter so servers started anywhere list it. Returns the spec folder.
 */
export function installKernelSpec(opts: { user?: boolean } = {}): string {
  const root = projectRoot();
  const specDir = path.join(jupyterDataDir(root), "kernels", KERNEL_NAME);
  fs.mkdirSync(specDir, { recursive: true });
  fs.writeFileSync(path.join(specDir, "kernel.json"), JSON.stringify(kernelSpec(root), null, 2) + "\n");
  if (opts.user) {
    try {
      execFileSync(findJupyter(), ["kernelspec", "install", "--user", "--replace", "--name", KERNEL_NAME, specDir], {
        stdio: ["ignore", "ignore", "pipe"],
      });
    } catch (error) {
      throw new Error(`${(error as Error).message.trim()}\n${INSTALL_HINT}`);
    }
  }
  return specDir;
}

/** process.env with the project's Jupyter data folder first on JUPYTER_PATH. */
export function jupyterEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const dataDir = jupyterDataDir();
  const inherited = process.env.JUPYTER_PATH;
  return {
    ...process.env,
    JUPYTER_PATH: inherited ? `${dataDir}${path.delimiter}${inherited}` : dataDir,
    // Debian's Jupyter imports debugpy, which otherwise warns about frozen modules at every start.
    PYDEVD_DISABLE_FILE_VALIDATION: "1",
    ...extra,
  };
}

const INSTALL_HINT =
  "Install Jupyter with nbclient: on Debian/Ubuntu `npm run setup` (as root) or `apt-get install python3-nbclient jupyter-client jupyter-notebook`, " +
  "elsewhere `pip install jupyterlab nbclient`.";

/** A python interpreter that can import nbclient (Debian's /usr/bin/python3 first). */
export function findPython(): string {
  const candidates = ["/usr/bin/python3", "python3"];
  for (const python of candidates) {
    if (canRun(python, ["-c", "import nbclient, nbformat"])) return python;
  }
  throw new Error(`No python with nbclient found (tried ${candidates.join(", ")}). ${INSTALL_HINT}`);
}

/** The `jupyter` command (Debian's /usr/bin/jupyter first, then the one on PATH). */
export function findJupyter(): string {
  const candidates = ["/usr/bin/jupyter", "jupyter"];
  for (const jupyter of candidates) {
    if (canRun(jupyter, ["--version"])) return jupyter;
  }
  throw new Error(`No jupyter command found (tried ${candidates.join(", ")}). ${INSTALL_HINT}`);
}

function canRun(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore", env: jupyterEnv() });
    return true;
  } catch {
    return false;
  }
}
