// The system requirements are checked as the commands the project runs, and name every one of them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { checkSystem, FONT_FILES, notFromListedPackages, problems, REQUIREMENTS, TEST_REQUIREMENTS, type Requirement } from "../lib/setup/system";

const ALL = [...REQUIREMENTS, ...TEST_REQUIREMENTS];
const root = path.join(__dirname, "..");

function providing(command: string): Requirement {
  const found = ALL.find((r) => r.commands?.some((c) => c.name === command));
  assert.ok(found, `no requirement provides ${command}`);
  return found;
}

/** A folder of fake executables (shell scripts) to serve as the whole search path. */
function fakeBin(scripts: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-setup-"));
  for (const [name, body] of Object.entries(scripts)) fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return dir;
}

// Behaves like jupyter_core's `jupyter`: a subcommand is the executable jupyter-<sub> on PATH.
const JUPYTER = `[ "$1" = --version ] && exit 0
sub=$1; shift
command -v "jupyter-$sub" >/dev/null || { echo "Jupyter command \\\`jupyter-$sub\\\` not found." >&2; exit 1; }
exec "jupyter-$sub" "$@"`;
// A python3 for which every import succeeds: the Python-module check alone cannot tell anything is missing.
const ANY_MODULE_PYTHON = "exit 0";

test("a command missing from the search path is reported although its Python modules import", () => {
  const dir = fakeBin({ python3: ANY_MODULE_PYTHON, jupyter: JUPYTER });
  try {
    const nbclient = ALL.find((r) => r.pythonModules?.includes("jupyter_client"))!;
    assert.deepEqual(problems(nbclient, [dir]), [], "the modules import");
    const kernelspec = providing("jupyter-kernelspec");
    const found = problems(kernelspec, [dir]);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /`jupyter-kernelspec` not found/);
    assert.ok(checkSystem(REQUIREMENTS, [dir]).some((m) => m.requirement === kernelspec));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a command that is there but fails its cheap run is reported with its error", () => {
  const dir = fakeBin({ jupyter: JUPYTER, "jupyter-kernelspec": 'echo "kernelspec broke" >&2; exit 3' });
  try {
    const found = problems(providing("jupyter-kernelspec"), [dir]);
    assert.equal(found.length, 1, found.join("\n"));
    assert.match(found[0], /`jupyter kernelspec --version` failed \(exit 3\): kernelspec broke/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a requirement is met when each of its commands is found and runs", () => {
  const dir = fakeBin({ jupyter: JUPYTER, "jupyter-kernelspec": "exit 0", "jupyter-notebook": "exit 0", python3: ANY_MODULE_PYTHON, clang: "exit 0", "wasm-ld": "exit 0" });
  try {
    for (const command of ["jupyter-kernelspec", "jupyter-notebook", "clang", "wasm-ld"]) assert.deepEqual(problems(providing(command), [dir]), [], command);
    assert.deepEqual(problems(providing("chromium"), [dir]).map((p) => p.replace(dir, "DIR")), ["`chromium` not found (looked in DIR)"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// What the project's code runs without a requirement, and why.
const PROVIDED_ELSEWHERE: Record<string, string> = {
  node: "runs the project itself (Node 20; Debian 12's nodejs is 18)",
  npm: "comes with Node 20, like node",
  sh: "dash, essential in Debian",
  "apt-get": "apt, which does the installing",
  "apt-cache": "apt, which does the installing",
  dpkg: "essential in Debian",
  "jupyter-lab": "optional: npm run notebook falls back to the classic Notebook (Debian has no JupyterLab)",
  "chromium-browser": "another name test/helpers/browser.ts accepts for Chromium",
  "google-chrome": "another name test/helpers/browser.ts accepts for Chromium",
  "clang-14": "Debian's clang package is clang 14 and installs it under this name too",
};
// What the non-literal first argument of a spawn runs, at each call site in the sources.
const RUNS: Record<string, string[]> = {
  "findPython()": ["python3"],
  "findJupyter()": ["jupyter"],
  jupyter: ["jupyter", "jupyter-notebook", "jupyter-lab"], // scripts/jupyter.ts: `jupyter lab` or `jupyter notebook`
  PYTHON: ["python3"],
  chromium: ["chromium"],
  "process.execPath": ["node"],
  clang: ["clang-14", "clang", "clang-16"], // test/wasm-kernels-build.test.ts: COMPILERS
  LINKERS: ["wasm-ld", "wasm-ld-16"], // test/wasm-kernels-build.test.ts
  command: [], // canRun in lib/jupyter/kernelspec.ts: the candidates of findPython/findJupyter, whose paths are literals below
};

/** The project's code (without this check and its test), relative to the root. */
function sourceFiles(): string[] {
  const files = ["lib", "scripts", "test", "bench"].flatMap((dir) =>
    (fs.readdirSync(path.join(root, dir), { recursive: true }) as string[]).map((f) => path.join(dir, f)),
  );
  return files.filter((f) => /\.(ts|cjs|py|sh)$/.test(f) && !f.includes("node_modules") && f !== "lib/setup/system.ts" && f !== "test/setup-system.test.ts");
}

test("every executable the project's code runs is named by a requirement (or provided otherwise, with the reason)", () => {
  const named = new Set(ALL.flatMap((r) => [...(r.commands ?? []).map((c) => c.name), ...(r.pythonModules ? ["python3"] : [])]));
  const unnamed: string[] = [];
  const use = (file: string, command: string) => {
    if (!named.has(command) && !(command in PROVIDED_ELSEWHERE)) unnamed.push(`${file}: ${command}`);
  };
  for (const file of sourceFiles()) {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    for (const [, literal, expression] of text.matchAll(/\b(?:spawn|spawnSync|execFile|execFileSync)\(\s*(?:"([^"]+)"|([\w.]+(?:\(\))?))/g)) {
      if (literal) use(file, path.basename(literal));
      else if (expression in RUNS) RUNS[expression].forEach((command) => use(file, command));
      else unnamed.push(`${file}: spawns ${expression}; say in RUNS what it runs`);
    }
    for (const [, sub] of text.matchAll(/(?:findJupyter\(\)|\bjupyter),\s*\[\s*"([a-z][\w-]*)"/g)) use(file, `jupyter-${sub}`);
    for (const [, command] of text.matchAll(/"\/(?:usr\/)?s?bin\/([\w.+-]+)"/g)) use(file, command);
  }
  assert.deepEqual(unnamed, []);
});

test("every Python module the project imports is named by a requirement (or is in the standard library)", (t) => {
  const stdlib = spawnSync("/usr/bin/python3", ["-c", "import sys; print('\\n'.join(sys.stdlib_module_names))"], { encoding: "utf8" });
  if (stdlib.status !== 0) return t.skip("no /usr/bin/python3 to tell the standard library");
  // The project's own .py files import each other from their folder (grad_cam_reference imports torch_reference).
  const own = sourceFiles().filter((f) => f.endsWith(".py")).map((f) => path.basename(f, ".py"));
  const known = new Set([...stdlib.stdout.split("\n"), ...ALL.flatMap((r) => r.pythonModules ?? []), ...own]);
  const unnamed: string[] = [];
  for (const file of sourceFiles()) {
    const text = fs.readFileSync(path.join(root, file), "utf8");
    const modules = file.endsWith(".py")
      ? [...text.matchAll(/^\s*(?:import\s+([\w., ]+?)(?:\s+as\s+\w+)?|from\s+([\w.]+)\s+import\b.*)\s*(?:#.*)?$/gm)].flatMap(([, list, from]) => (from ? [from] : list.split(",")))
      : [...text.matchAll(/"(?:from ([\w.]+) import [^"]*|import ([\w., ]+)[;"]|-m",\s*"([\w.]+))/g)].flatMap(([, from, list, run]) => (from ? [from] : run ? [run] : list.split(",")));
    for (const module of modules.map((m) => m.trim().split(/[.\s]/)[0]).filter(Boolean)) {
      if (!known.has(module)) unnamed.push(`${file}: ${module}`);
    }
  }
  assert.deepEqual(unnamed, []);
});

test("the font requirement names the file of every font the image generator draws text with", () => {
  const scene = fs.readFileSync(path.join(root, "lib", "generate", "scene.ts"), "utf8");
  const fonts = [...scene.matchAll(/\{ family: "([^"]+)", weight: "(\w+)"/g)];
  assert.ok(fonts.length > 0, "no FONTS found in lib/generate/scene.ts");
  for (const [, family, weight] of fonts) {
    assert.equal(weight, "bold", "FONT_FILES holds the bold faces only");
    assert.ok(FONT_FILES.includes(`${family.replace(/ /g, "")}-Bold.ttf`), `${family} bold is not in FONT_FILES`);
  }
});

test("the CI guard names a command that comes from a package the list does not name", (t) => {
  const owned = spawnSync("dpkg", ["-S", "/usr/bin/python3"], { encoding: "utf8" });
  if (owned.status !== 0 || spawnSync("apt-cache", ["--version"]).status !== 0) return t.skip("needs dpkg, apt-cache and Debian's python3");
  const python = (debian: string[]): Requirement => ({ what: "python3", debian, elsewhere: "", commands: [{ name: "python3", probe: ["python3", "--version"] }] });
  const foreign = notFromListedPackages([python(["fonts-dejavu-core"])], ["/usr/bin"]);
  assert.equal(foreign.length, 1, foreign.join("\n"));
  assert.match(foreign[0], /^\/usr\/bin\/python3 is from python3-minimal, which is neither listed nor a dependency of the list/);
  assert.deepEqual(notFromListedPackages([python(["python3"])], ["/usr/bin"]), [], "python3-minimal is a dependency of python3");
  const fonts = ALL.find((r) => r.files?.().some((f) => f.endsWith(FONT_FILES[0])))!;
  const condensed = fonts.files!().find((f) => f.endsWith("DejaVuSansCondensed-Bold.ttf"))!;
  if (spawnSync("dpkg", ["-S", condensed]).status === 0) {
    const withoutExtra = notFromListedPackages([{ ...fonts, debian: ["fonts-dejavu-core"] }]);
    assert.deepEqual(withoutExtra.map((p) => p.split(",")[0]), [`${condensed} is from fonts-dejavu-extra`]);
  }
});
