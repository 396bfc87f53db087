// npm start: the main job. Sets up what is missing, generates the embedded default dataset and
// executes every notebook in order, headless, each into runs/main/<notebook>/<time>/.
import * as fs from "node:fs";
import * as path from "node:path";
import { generateDataset } from "../lib/generate";
import { installKernelSpec, projectRoot } from "../lib/jupyter/kernelspec";
import { formatSeconds, progress } from "../lib/progress";
import { NotebookRunError, runNotebook, type Params, type RunResult } from "../lib/runner";
import { ensureSystem } from "../lib/setup/system";

const USAGE = `usage: npm start [-- --only 01,02] [--images-per-class N] [--test-size N]

Generates data/embedded (skipped when it exists with the same settings) and runs every
notebooks/NN-*.ipynb in order; executed copies with outputs go to runs/main/.`;

/**
 * Settings of the main job that differ from a notebook's defaults, so that all notebooks finish in
 * minutes on a 2-core CPU. Run a notebook with its defaults through `npm run nb`.
 */
const MAIN_JOB_PARAMS: Record<string, Params> = {
  "03": { seeds: [1, 2], epochs: 3, draws: 2 },
  "04": { unfreezeBlocks: [0, 1, 2, 4, -1], epochs: 3 },
  "05": { phaseEpochs: [3, 2, 1] },
};

/** 00-pretrain takes tens of minutes; its result is committed, so the main job uses that. */
const SKIPPED_IN_MAIN_JOB = ["00"];

interface MainOptions {
  only?: string[];
  imagesPerClass?: number;
  testSize?: number;
}

function parseArgs(argv: string[]): MainOptions {
  const options: MainOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value\n${USAGE}`);
      return argv[++i];
    };
    const count = (flag: string) => {
      const n = Number(value());
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${flag} takes a positive whole number`);
      return n;
    };
    switch (argv[i]) {
      case "--only": options.only = value().split(","); break;
      case "--images-per-class": options.imagesPerClass = count("--images-per-class"); break;
      case "--test-size": options.testSize = count("--test-size"); break;
      case "-h": case "--help": console.log(USAGE); process.exit(0);
      default: throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const root = projectRoot();
  process.chdir(root);
  ensureSystem();
  installKernelSpec({ user: true });

  const generating = progress("generating the embedded dataset", 0, "images");
  const dataset = await generateDataset({
    outDir: path.join(root, "data", "embedded"),
    imagesPerClass: options.imagesPerClass,
    testSize: options.testSize,
    // Notebook 02's embedded search engine serves these: same classes, new photos (train/test unchanged).
    heldBackPerClass: 10,
    onProgress: (done, total) => generating.update(done, total),
  });
  if (dataset.skipped) console.log(`data/embedded is up to date (${dataset.trainCount} train, ${dataset.testCount} test images)`);
  else generating.finish(`${dataset.trainCount} train, ${dataset.testCount} test`);

  const notebooks = fs
    .readdirSync(path.join(root, "notebooks"))
    .filter((name) => /^\d\d-.*\.ipynb$/.test(name))
    .filter((name) => (options.only ? options.only.some((prefix) => name.startsWith(prefix)) : !SKIPPED_IN_MAIN_JOB.includes(name.slice(0, 2))))
    .sort();
  const results: RunResult[] = [];
  for (const name of notebooks) {
    console.log(`\n=== ${name}`);
    try {
      const params = MAIN_JOB_PARAMS[name.slice(0, 2)] ?? {};
      results.push(await runNotebook({ notebook: path.join("notebooks", name), params, runsRoot: path.join(root, "runs", "main") }));
    } catch (error) {
      if (!(error instanceof NotebookRunError)) throw error;
      results.push(error.result);
      break;
    }
  }

  console.log("\nnotebook                         status   time     executed copy");
  for (const r of results) {
    console.log(`${path.basename(r.notebook).padEnd(32)} ${r.status.padEnd(8)} ${formatSeconds(r.seconds).padEnd(8)} ${path.relative(root, r.executedNotebook)}`);
  }
  const failed = results.find((r) => r.status !== "ok");
  if (failed) {
    console.error(`\n${new NotebookRunError(failed).message}`);
    process.exit(1);
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
