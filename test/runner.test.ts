import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, test } from "node:test";
import { gridParamSets, parseRunArgs, parseValue, splitList } from "../lib/runner/cli-args";
import { NotebookRunError, RunResult, runNotebook, runSweep } from "../lib/runner";
import { cellSource, hasTag, Notebook, NotebookCell, readNotebook } from "../lib/runner/notebook";
import { INJECTED_TAG, injectParameters, parseParameters } from "../lib/runner/parameters";
import { withImportedFileHint } from "../lib/runner/errors";
import { createRunFolder } from "../lib/runner/run-folder";

const root = path.resolve(__dirname, "..");
const fixture = (name: string) => path.join(__dirname, "fixtures", name);
const runsRoot = fs.mkdtempSync(path.join(os.tmpdir(), "charid-runner-test-"));
after(() => fs.rmSync(runsRoot, { recursive: true, force: true }));

function streamText(cell: NotebookCell, name: "stdout" | "stderr"): string {
  return (cell.outputs ?? [])
    .map((o) => o as { output_type: string; name?: string; text?: string | string[] })
    .filter((o) => o.output_type === "stream" && o.name === name)
    .map((o) => (Array.isArray(o.text) ? o.text.join("") : o.text ?? ""))
    .join("");
}

function executed(result: RunResult): Notebook {
  return readNotebook(result.executedNotebook);
}

async function expectRunError(promise: Promise<unknown>): Promise<NotebookRunError> {
  const err = await promise.then(
    () => assert.fail("the run should have failed"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof NotebookRunError, `expected NotebookRunError, got ${String(err)}`);
  return err;
}

test("parseParameters keeps keywords, declared types and literal defaults, and widens plain literals", () => {
  const declared = parseParameters(
    [
      "const validFraction = 0.2;",
      "let seed = -1, name = 'x';",
      'const split: "random" | "stratified" = "random";',
      "const sizes = [32, 64];",
      "const aug = { flip: true, 'max-angle': 10 };",
      "const backbone = makeBackbone();",
      "const classes = ['a', 'b'] as const;",
      "const { a, b } = pair;",
      "console.log(validFraction);",
    ].join("\n"),
  );
  assert.deepEqual(declared, [
    { name: "validFraction", keyword: "const", typeText: "number", defaultValue: 0.2 },
    { name: "seed", keyword: "let", typeText: "number", defaultValue: -1 },
    { name: "name", keyword: "let", typeText: "string", defaultValue: "x" },
    { name: "split", keyword: "const", typeText: '"random" | "stratified"', defaultValue: "random" },
    { name: "sizes", keyword: "const", typeText: "number[]", defaultValue: [32, 64] },
    { name: "aug", keyword: "const", typeText: '{ flip: boolean; "max-angle": number }', defaultValue: { flip: true, "max-angle": 10 } },
    { name: "backbone", keyword: "const" },
    { name: "classes", keyword: "const" },
  ]);
});

test("injectParameters adds a tagged cell right after the parameters cell and clears old outputs", () => {
  const source = readNotebook(fixture("params.ipynb"));
  const nb = injectParameters(source, { seed: 7, split: "stratified" }, "params.ipynb");
  const at = nb.cells.findIndex((c) => hasTag(c, "parameters"));
  const injected = nb.cells[at + 1];
  assert.ok(hasTag(injected, INJECTED_TAG));
  assert.equal(
    cellSource(injected),
    '// Injected parameters (the defaults are in the cell above)\nlet seed: number = 7;\nconst split: "random" | "stratified" = "stratified";',
  );
  assert.equal(nb.cells.length, source.cells.length + 1);
  assert.ok(nb.cells.every((c) => c.cell_type !== "code" || (c.outputs?.length === 0 && c.execution_count === null)));
  // Running an executed notebook again replaces its injected cell instead of stacking another.
  const again = injectParameters(nb, { seed: 8 }, "params.ipynb");
  assert.equal(again.cells.filter((c) => hasTag(c, INJECTED_TAG)).length, 1);
  assert.match(cellSource(again.cells[at + 1]), /let seed: number = 8;/);
});

test("injectParameters rejects unknown names and notebooks without a parameters cell", () => {
  const source = readNotebook(fixture("params.ipynb"));
  assert.throws(
    () => injectParameters(source, { sed: 1 }, "params.ipynb"),
    /Unknown parameter "sed" for params\.ipynb; its parameters cell declares: validFraction, seed, split, sizes/,
  );
  assert.throws(() => injectParameters(readNotebook(fixture("throws.ipynb")), { seed: 1 }, "throws.ipynb"), /no code cell tagged "parameters"/);
  assert.doesNotThrow(() => injectParameters(readNotebook(fixture("throws.ipynb")), {}, "throws.ipynb"));
});

test("command-line values are JSON with a string fallback; grids are cartesian products", () => {
  assert.equal(parseValue("0.3"), 0.3);
  assert.equal(parseValue("true"), true);
  assert.equal(parseValue("stratified"), "stratified");
  assert.equal(parseValue('"7"'), "7");
  assert.deepEqual(parseValue("[1,2]"), [1, 2]);
  assert.deepEqual(splitList('1,[2,3],"a,b",x'), ["1", "[2,3]", '"a,b"', "x"]);
  assert.deepEqual(gridParamSets([["seed", [1, 2]], ["lr", [0.1, 0.01]]]), [
    { seed: 1, lr: 0.1 },
    { seed: 1, lr: 0.01 },
    { seed: 2, lr: 0.1 },
    { seed: 2, lr: 0.01 },
  ]);
  const args = parseRunArgs(["nb.ipynb", "-p", "validFraction=0.3", "--grid", "seed=1,2", "--label", "x"]);
  assert.notEqual(args, "help");
  if (args === "help") return;
  assert.deepEqual(args.paramSets, [
    { validFraction: 0.3, seed: 1 },
    { validFraction: 0.3, seed: 2 },
  ]);
  assert.equal(args.label, "x");
  assert.throws(() => parseRunArgs(["nb.ipynb", "-p", "novalue"]), /NAME=VALUE/);
  assert.throws(() => parseRunArgs(["nb.ipynb", "--bogus"]), /Unknown option --bogus/);
});

test("run folders started in the same second get distinct names", () => {
  const now = new Date("2025-01-02T03:04:05.678Z");
  const a = createRunFolder(runsRoot, "notebooks/01-data-split.ipynb", "seed=1 lr=0.1", now);
  const b = createRunFolder(runsRoot, "notebooks/01-data-split.ipynb", "seed=1 lr=0.1", now);
  assert.equal(path.relative(runsRoot, a), path.join("01-data-split", "2025-01-02T03-04-05Z-seed=1_lr=0.1"));
  assert.equal(path.relative(runsRoot, b), path.join("01-data-split", "2025-01-02T03-04-05Z-seed=1_lr=0.1-2"));
});

test("type errors positioned past the cell's last line are explained as errors in imported files", () => {
  const cell = 'import { scan } from "./lib/data";\nscan();';
  assert.equal(withImportedFileHint("2:1 - Expected 1 arguments, but got 0.", cell), "2:1 - Expected 1 arguments, but got 0.");
  assert.match(
    withImportedFileHint("79:63 - Property 'reason' does not exist on type 'Inspection'.", cell),
    /note: positions past this cell's 2 lines are in a file it imports; tslab omits the file name/,
  );
  assert.equal(withImportedFileHint("Error: boom\n    at f (evalmachine.<anonymous>:120:3)", cell), "Error: boom\n    at f (evalmachine.<anonymous>:120:3)");
});

test("runNotebook injects parameters that the kernel sees, and saves a trusted run folder", async () => {
  const result = await runNotebook({
    notebook: fixture("params.ipynb"),
    params: { validFraction: 0.3, seed: 7, split: "stratified" },
    runsRoot,
    label: "injected",
    quiet: true,
  });
  assert.equal(result.status, "ok");
  assert.equal(path.dirname(result.runDir), path.join(runsRoot, "params"));
  assert.match(path.basename(result.runDir), /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ-injected$/);
  const printed = executed(result).cells.map((c) => streamText(c, "stdout")).join("");
  assert.deepEqual(JSON.parse(printed), { validFraction: 0.3, seed: 7, split: "stratified", sizes: [32, 64], root });
  assert.equal(fs.readFileSync(path.join(result.runDir, "artifact.txt"), "utf8"), "seed=7");
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(result.runDir, "params.json"), "utf8")), result.params);
  const saved = JSON.parse(fs.readFileSync(path.join(result.runDir, "run.json"), "utf8")) as RunResult;
  assert.equal(saved.status, "ok");
  assert.deepEqual(saved.cells.map((c) => c.index), [1, 2, 3, 4, 5], "code cells, including the injected one");
  assert.ok(saved.cells.every((c) => c.status === "ok" && c.seconds >= 0));
  assert.equal(result.trusted, true);
});

test("runSweep runs each parameter set into its own folder and carries on after a failed run", async () => {
  const { results, failed } = await runSweep(
    fixture("params.ipynb"),
    [{ seed: 1 }, { seed: "not a number" }, { seed: 3 }],
    { runsRoot, label: "sweep", quiet: true },
  );
  assert.deepEqual(results.map((r) => r.status), ["ok", "failed", "ok"]);
  assert.deepEqual(failed, [results[1]]);
  assert.equal(new Set(results.map((r) => r.runDir)).size, 3);
  assert.deepEqual(
    [results[0], results[2]].map((r) => fs.readFileSync(path.join(r.runDir, "artifact.txt"), "utf8")),
    ["seed=1", "seed=3"],
  );
  // The override is type-checked against the default's type (let seed = 42).
  assert.equal(results[1].error?.cellIndex, 3, results[1].error?.message);
  assert.match(results[1].error?.message ?? "", /Type 'string' is not assignable to type 'number'/);
});

test("a cell that throws rejects naming the cell and the error; outputs up to it are saved", async () => {
  const err = await expectRunError(runNotebook({ notebook: fixture("throws.ipynb"), runsRoot, quiet: true }));
  assert.match(err.message, /failed at cell 1 "function explode\(\): never \{"/);
  assert.match(err.message, /Error: kaboom from the fixture/);
  assert.match(err.message, /at explode/);
  assert.doesNotMatch(err.message, /node_modules[\\/]tslab/, "kernel-internal frames are dropped");
  const cells = executed(err.result).cells;
  assert.equal(streamText(cells[0], "stdout"), "first cell ran\n");
  assert.match(streamText(cells[1], "stderr"), /kaboom from the fixture/);
  assert.deepEqual(cells[2].outputs, []);
  const saved = JSON.parse(fs.readFileSync(path.join(err.result.runDir, "run.json"), "utf8")) as RunResult;
  assert.equal(saved.status, "failed");
  assert.equal(saved.error?.cellIndex, 1);
});

test("a type error in a call into lib/ rejects with the compiler's message", async () => {
  const err = await expectRunError(runNotebook({ notebook: fixture("type-error.ipynb"), runsRoot, quiet: true }));
  assert.match(err.message, /failed at cell 1 "\/\/ a string where showPlot expects a figure object"/);
  assert.match(err.message, /2:10 - Argument of type 'string' is not assignable to parameter of type 'PlotFigure'/);
  assert.doesNotMatch(err.message, /note: positions past/);
  assert.deepEqual(executed(err.result).cells[2].outputs, []);
});

test("an unknown parameter is refused before anything runs", async () => {
  const before = fs.readdirSync(runsRoot);
  await assert.rejects(
    runNotebook({ notebook: fixture("params.ipynb"), params: { sed: 1 }, runsRoot, quiet: true }),
    /Unknown parameter "sed" .*declares: validFraction, seed, split, sizes/,
  );
  await assert.rejects(runSweep(fixture("params.ipynb"), [{ seed: 1 }, { sed: 2 }], { runsRoot, quiet: true }), /"sed"/);
  assert.deepEqual(fs.readdirSync(runsRoot), before, "no run folder was created");
});

test("a cell running past timeoutPerCell fails the run naming that cell", async () => {
  const err = await expectRunError(
    runNotebook({ notebook: fixture("slow.ipynb"), runsRoot, timeoutPerCell: 2, quiet: true }),
  );
  assert.match(err.message, /failed at cell 1 "await new Promise/);
  assert.match(err.message, /timed out after 2 s/);
  assert.equal(streamText(executed(err.result).cells[0], "stdout"), "quick cell\n");
});

test("the CLI prints the failing cell and exits non-zero; --help exits 0", () => {
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", path.join(root, "scripts", "run-notebook.ts"), ...args], {
      cwd: root,
      encoding: "utf8",
    });
  const help = cli("--help");
  assert.equal(help.status, 0);
  assert.match(help.stdout, /--grid NAME=V1,V2/);
  const failed = cli(fixture("throws.ipynb"), "--out", path.join(runsRoot, "cli-run"));
  assert.equal(failed.status, 1);
  assert.match(failed.stderr, /\[2\/3\] cell 1 "function explode\(\): never \{" [\d.]+s FAILED/);
  assert.match(failed.stderr, /failed at cell 1[\s\S]*kaboom from the fixture/);
  assert.ok(fs.existsSync(path.join(runsRoot, "cli-run", "notebook.ipynb")));
});
