// What the project needs from the operating system, checked as the commands it runs (not only as
// Python modules), and installing it on Debian/Ubuntu.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_BLAS_LIBRARY } from "../backends/blas";

/** An executable the project runs, with a cheap run of it that must succeed. */
export interface Command {
  /** The executable, looked up in the search path (see searchPath). */
  name: string;
  /** Its first word is looked up the same way; runs with the search path as PATH and must exit 0. */
  probe: string[];
}

export interface Requirement {
  what: string;
  /** Debian packages that provide it. */
  debian: string[];
  /** How to get it elsewhere. */
  elsewhere: string;
  commands?: Command[];
  /** Python modules the project imports; some python3 in the search path must import them all. */
  pythonModules?: string[];
  /** Files it provides that are no command (fonts, configuration); each must exist. */
  files?: () => string[];
}

/** Where commands are looked up: Debian's /usr/bin first (PATH may start with a pyenv python3 without Jupyter), then PATH. */
export function searchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  return [...new Set(["/usr/bin", ...(env.PATH ?? "").split(path.delimiter).filter(Boolean)])];
}

/** Every executable file called `name` in `dirs` (or `name` itself when it is a path), in order. */
export function whichAll(name: string, dirs: readonly string[]): string[] {
  const candidates = name.includes("/") ? [name] : dirs.map((dir) => path.join(dir, name));
  return candidates.filter((file) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

/** The first of `name`'s executables in `dirs` that exits 0 with `args`, and the stderr of the last failure. */
function firstThatRuns(name: string, args: string[], dirs: readonly string[]): { file?: string; error: string } {
  let error = `\`${name}\` not found (looked in ${dirs.join(", ")})`;
  for (const file of whichAll(name, dirs)) {
    const env = { ...process.env, PATH: dirs.join(path.delimiter), PYDEVD_DISABLE_FILE_VALIDATION: "1" };
    const run = spawnSync(file, args, { env, encoding: "utf8", stdio: ["ignore", "ignore", "pipe"], timeout: 60_000 });
    if (run.status === 0) return { file, error: "" };
    const last = (run.stderr ?? "").trim().split("\n").pop();
    error = `\`${[name, ...args].join(" ")}\` failed (${run.error?.message ?? `exit ${run.status}`})${last ? `: ${last}` : ""}`;
  }
  return { error };
}

/** A python3 in `dirs` that imports all of `modules`. */
export function findPythonWith(modules: readonly string[], dirs: readonly string[] = searchPath()): string | undefined {
  return firstThatRuns("python3", ["-c", `import ${modules.join(", ")}`], dirs).file;
}

/** What is wrong with a requirement (empty when it is met). */
export function problems(requirement: Requirement, dirs: readonly string[] = searchPath()): string[] {
  const found: string[] = [];
  for (const command of requirement.commands ?? []) {
    if (whichAll(command.name, dirs).length === 0) found.push(`\`${command.name}\` not found (looked in ${dirs.join(", ")})`);
    else {
      const { file, error } = firstThatRuns(command.probe[0], command.probe.slice(1), dirs);
      if (!file) found.push(error);
    }
  }
  const modules = requirement.pythonModules ?? [];
  if (modules.length > 0 && !findPythonWith(modules, dirs)) found.push(`no python3 imports ${modules.join(", ")}`);
  const absent = (requirement.files?.() ?? []).filter((f) => !fs.existsSync(f));
  if (absent.length > 0) found.push(`not found: ${absent.join(", ")}`);
  return found;
}

/** The font files lib/generate/scene.ts draws text with (its FONTS, bold). */
export const FONT_FILES = ["DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSansCondensed-Bold.ttf"];

/** Where each of the font files `names` is in the font folders (searched 3 levels deep); a pattern that names it where it is nowhere. */
function findFonts(names: readonly string[]): string[] {
  const roots = ["/usr/share/fonts", "/usr/local/share/fonts", path.join(process.env.HOME ?? "/root", ".fonts")];
  const found = new Map<string, string>();
  const walk = (dir: string, depth: number): void => {
    if (!fs.existsSync(dir)) return;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) found.set(e.name, found.get(e.name) ?? path.join(dir, e.name));
      else if (depth > 0) walk(path.join(dir, e.name), depth - 1);
    }
  };
  roots.forEach((root) => walk(root, 3));
  return names.map((name) => found.get(name) ?? `${roots[0]}/**/${name}`);
}

/** Where Debian installs a shared library for this machine's architecture (multiarch). */
export function debianLibraryPath(file: string): string {
  const triple = process.arch === "arm64" ? "aarch64-linux-gnu" : process.arch === "ia32" ? "i386-linux-gnu" : "x86_64-linux-gnu";
  return `/usr/lib/${triple}/${file}`;
}

/** What `npm start` (and `npm run setup`) installs. */
export const REQUIREMENTS: readonly Requirement[] = [
  {
    what: "nbclient, which executes the notebooks headless through the project's kernel (npm start, npm run nb)",
    debian: ["python3-nbclient"],
    elsewhere: "pip install nbclient",
    pythonModules: ["nbclient", "nbformat", "jupyter_client"],
  },
  {
    what: "the `jupyter kernelspec` command, which registers the kernel TypeScript (charid)",
    debian: ["jupyter-client"],
    elsewhere: "pip install jupyter_client",
    commands: [
      { name: "jupyter", probe: ["jupyter", "--version"] },
      { name: "jupyter-kernelspec", probe: ["jupyter", "kernelspec", "--version"] },
    ],
  },
  {
    what: "the classic Jupyter Notebook server, for npm run notebook",
    debian: ["jupyter-notebook"],
    elsewhere: "pip install notebook",
    commands: [{ name: "jupyter-notebook", probe: ["jupyter", "notebook", "--version"] }],
    pythonModules: ["notebook"],
  },
  {
    what: `the fonts text is drawn into the generated images with (${FONT_FILES.join(", ")})`,
    debian: ["fonts-dejavu-core", "fonts-dejavu-extra"],
    elsewhere: "install the DejaVu fonts",
    files: () => findFonts(FONT_FILES),
  },
  {
    what: "fontconfig's configuration (/etc/fonts/fonts.conf), which sharp reads to find those fonts",
    debian: ["fontconfig-config"],
    elsewhere: "install fontconfig",
    files: () => ["/etc/fonts/fonts.conf"],
  },
  {
    what: `OpenBLAS (${DEFAULT_BLAS_LIBRARY}), which computes the wasm backend's matrix products, most of a conv net's work, several times faster than wasm can`,
    debian: ["libopenblas0-pthread"],
    elsewhere: `install OpenBLAS as ${DEFAULT_BLAS_LIBRARY} (without it the wasm kernels compute the products, more slowly)`,
    files: () => [debianLibraryPath(DEFAULT_BLAS_LIBRARY)],
  },
];

/** What `npm test` needs on top (`npm run setup -- --tests`). */
export const TEST_REQUIREMENTS: readonly Requirement[] = [
  {
    what: "PyTorch and torchvision, the numerical oracle of the parity tests (never used at run time)",
    debian: ["python3-torch", "python3-torchvision"],
    elsewhere: "pip install torch torchvision",
    pythonModules: ["torch", "torchvision", "PIL", "numpy"],
  },
  {
    what: "clang and lld, to check that the committed wasm kernels match their C sources",
    debian: ["clang", "lld"],
    elsewhere: "install clang 14 and lld",
    commands: [
      { name: "clang", probe: ["clang", "--version"] },
      { name: "wasm-ld", probe: ["wasm-ld", "--version"] },
    ],
  },
  {
    what: "clang 16 and its lld, to check that the committed relaxed-SIMD kernels match their C sources",
    debian: ["clang-16", "lld-16"],
    elsewhere: "install clang 16 and lld 16 as clang-16 and wasm-ld-16",
    commands: [
      { name: "clang-16", probe: ["clang-16", "--version"] },
      { name: "wasm-ld-16", probe: ["wasm-ld-16", "--version"] },
    ],
  },
  {
    what: "Chromium, for the browser check of rendered notebooks",
    debian: ["chromium"],
    elsewhere: "install Chromium and put it on PATH",
    commands: [{ name: "chromium", probe: ["chromium", "--version"] }],
  },
  {
    what: "Redis and OpenSSL, for the queue's tests: a redis-server of their own, also over TLS with a throwaway certificate",
    debian: ["redis-server", "openssl"],
    elsewhere: "install Redis 6.2 or later (redis-server) and openssl",
    commands: [
      { name: "redis-server", probe: ["redis-server", "--version"] },
      { name: "openssl", probe: ["openssl", "version"] },
    ],
  },
  {
    what: "git, which names the commit a queued sweep runs at (npm run nb -- --queue, npm run worker)",
    debian: ["git"],
    elsewhere: "install git",
    commands: [{ name: "git", probe: ["git", "--version"] }],
  },
];

/** The requirements that are not met, each with what is wrong. */
export function checkSystem(requirements: readonly Requirement[], dirs: readonly string[] = searchPath()): { requirement: Requirement; problems: string[] }[] {
  return requirements.map((requirement) => ({ requirement, problems: problems(requirement, dirs) })).filter((r) => r.problems.length > 0);
}

function describe(missing: ReturnType<typeof checkSystem>): string {
  return missing.map(({ requirement, problems }) => `  - ${requirement.what}: ${problems.join("; ")}`).join("\n");
}

/**
 * Installs what is missing with apt-get when running as root on Debian; otherwise says exactly what
 * to install and throws.
 */
export function ensureSystem(requirements: readonly Requirement[] = REQUIREMENTS, log: (line: string) => void = console.log, dirs: readonly string[] = searchPath()): void {
  const missing = checkSystem(requirements, dirs);
  if (missing.length === 0) return;
  const packages = [...new Set(missing.flatMap((m) => m.requirement.debian))];
  const canApt = process.getuid?.() === 0 && fs.existsSync("/usr/bin/apt-get");
  if (!canApt) {
    throw new Error(
      `missing:\n${describe(missing)}\n` +
        `On Debian/Ubuntu: sudo apt-get install ${packages.join(" ")}\n` +
        `Elsewhere: ${missing.map((m) => m.requirement.elsewhere).join("; ")}`,
    );
  }
  log(`installing with apt-get: ${packages.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const run = (args: string[]) => {
    const result = spawnSync("apt-get", args, { stdio: "inherit", env });
    if (result.status !== 0) throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status})`);
  };
  run(["update", "-q"]);
  // Without Recommends (on Debian 12 they would pull 300 packages, 1.3 GB, for the main job): the list
  // then is all that is needed, which the clean-room check (scripts/clean-room.sh) proves.
  run(["install", "-y", "-q", "--no-install-recommends", ...packages]);
  const still = checkSystem(requirements, dirs);
  if (still.length > 0) throw new Error(`still missing after apt-get install ${packages.join(" ")}:\n${describe(still)}`);
}

/**
 * The CI guard against a package list that only works because a package was installed by hand: every
 * executable and Python module the checks found must belong to a listed Debian package or to one of
 * their dependencies (Recommends not counted). Returns what is not; needs dpkg and apt-cache.
 */
export function notFromListedPackages(requirements: readonly Requirement[], dirs: readonly string[] = searchPath()): string[] {
  const listed = requirements.flatMap((r) => r.debian);
  const closure = spawnSync(
    "apt-cache",
    ["depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", ...listed],
    { encoding: "utf8", maxBuffer: 64 * 2 ** 20 },
  );
  if (closure.status !== 0) return [`apt-cache depends failed: ${closure.stderr}`];
  const allowed = new Set(closure.stdout.split("\n").filter((line) => /^[a-z0-9]/.test(line)).map((line) => line.trim()));
  const files = requirements.map((requirement) => {
    const found = (requirement.commands ?? []).map((c) => whichAll(c.name, dirs)[0]).filter((f): f is string => f !== undefined);
    const modules = requirement.pythonModules ?? [];
    const script = `import importlib\nfor m in ${JSON.stringify(modules)}: print(importlib.import_module(m).__file__)`;
    for (const python of modules.length > 0 ? whichAll("python3", dirs) : []) {
      const run = spawnSync(python, ["-c", script], { encoding: "utf8" });
      if (run.status === 0) {
        found.push(python, ...run.stdout.split("\n").filter(Boolean));
        break;
      }
    }
    return [...found, ...(requirement.files?.() ?? []).filter((f) => fs.existsSync(f))];
  });
  // One dpkg -S for all (a symlink may be owned under its own name or its target's): "pkg[:arch]: /path".
  const queried = [...new Set(files.flat().flatMap((f) => [f, fs.realpathSync(f)]))];
  const owners = new Map<string, string>();
  for (const line of spawnSync("dpkg", ["-S", ...queried], { encoding: "utf8", maxBuffer: 16 * 2 ** 20 }).stdout.split("\n")) {
    const match = /^([^\s:,]+)[^\s]*: (\/.*)$/.exec(line);
    if (match && !line.startsWith("diversion")) owners.set(match[2], match[1]);
  }
  const found: string[] = [];
  requirements.forEach((requirement, i) => {
    for (const file of files[i]) {
      const pkg = owners.get(file) ?? owners.get(fs.realpathSync(file));
      if (!pkg) found.push(`${file} (${requirement.what}) belongs to no Debian package`);
      else if (!allowed.has(pkg)) found.push(`${file} is from ${pkg}, which is neither listed nor a dependency of the list (${requirement.what})`);
    }
  });
  return found;
}
