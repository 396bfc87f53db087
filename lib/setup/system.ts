// What the notebooks need from the operating system, and installing it on Debian/Ubuntu.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface Requirement {
  what: string;
  /** Debian packages that provide it. */
  debian: string[];
  /** How to get it elsewhere. */
  elsewhere: string;
  present: () => boolean;
}

const DEBIAN_PYTHON = "/usr/bin/python3";

function pythonHas(modules: string): boolean {
  for (const python of [DEBIAN_PYTHON, "python3"]) {
    if (spawnSync(python, ["-c", `import ${modules}`], { stdio: "ignore" }).status === 0) return true;
  }
  return false;
}

function hasFonts(): boolean {
  const roots = ["/usr/share/fonts", "/usr/local/share/fonts", path.join(process.env.HOME ?? "/root", ".fonts")];
  const walk = (dir: string, depth: number): boolean =>
    fs.existsSync(dir) &&
    fs.readdirSync(dir, { withFileTypes: true }).some((e) =>
      e.isDirectory() ? depth > 0 && walk(path.join(dir, e.name), depth - 1) : /\.(ttf|otf)$/i.test(e.name),
    );
  return roots.some((root) => walk(root, 3));
}

export const REQUIREMENTS: readonly Requirement[] = [
  {
    what: "Jupyter (notebook server, nbclient and nbconvert) to run notebooks",
    debian: ["jupyter-notebook", "python3-nbclient", "python3-nbconvert"],
    elsewhere: "pip install jupyterlab nbclient nbconvert",
    present: () => pythonHas("nbclient, nbconvert, nbformat, jupyter_client, notebook"),
  },
  {
    what: "a TrueType font, for text drawn into images",
    debian: ["fonts-dejavu-core"],
    elsewhere: "install any TrueType font package (e.g. DejaVu)",
    present: hasFonts,
  },
];

export const TEST_REQUIREMENTS: readonly Requirement[] = [
  {
    what: "PyTorch and torchvision, the numerical oracle of the parity tests (never used at run time)",
    debian: ["python3-torch", "python3-torchvision"],
    elsewhere: "pip install torch torchvision",
    present: () => spawnSync(DEBIAN_PYTHON, ["-c", "import torch, torchvision"], { stdio: "ignore" }).status === 0,
  },
  {
    what: "clang and lld, to check that the committed wasm kernels match their C sources",
    debian: ["clang", "lld"],
    elsewhere: "install clang 14 and lld",
    present: () => spawnSync("clang", ["--version"], { stdio: "ignore" }).status === 0 && spawnSync("wasm-ld", ["--version"], { stdio: "ignore" }).status === 0,
  },
  {
    what: "Chromium, for the browser check of rendered notebooks",
    debian: ["chromium"],
    elsewhere: "install Chromium and put it on PATH",
    present: () => fs.existsSync("/usr/bin/chromium") || spawnSync("chromium", ["--version"], { stdio: "ignore" }).status === 0,
  },
];

/**
 * Installs what is missing with apt-get when running as root on Debian; otherwise explains what to
 * install and throws.
 */
export function ensureSystem(requirements: readonly Requirement[] = REQUIREMENTS, log: (line: string) => void = console.log): void {
  const missing = requirements.filter((r) => !r.present());
  if (missing.length === 0) return;
  const packages = [...new Set(missing.flatMap((r) => r.debian))];
  const canApt = process.getuid?.() === 0 && fs.existsSync("/usr/bin/apt-get");
  if (!canApt) {
    throw new Error(
      "missing system packages:\n" +
        missing.map((r) => `  - ${r.what}: on Debian/Ubuntu \`sudo apt-get install ${r.debian.join(" ")}\`; elsewhere ${r.elsewhere}`).join("\n"),
    );
  }
  log(`installing with apt-get: ${packages.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args: string[]) => {
    const result = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status})`);
  };
  run(["update", "-q"]);
  run(["install", "-y", "-q", ...packages]);
  const still = missing.filter((r) => !r.present());
  if (still.length > 0) throw new Error(`still missing after apt-get: ${still.map((r) => r.what).join("; ")}`);
}
