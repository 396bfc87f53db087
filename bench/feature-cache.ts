// The notebook-04 freeze sweep with and without the frozen-trunk feature cache, in one run:
// without it (every epoch runs the frozen trunk), with a cold cache (features computed once per
// trunk, then reused every epoch) and with a warm one (a re-run: features read from disk). Prints
// the wall times and their ratios to the uncached sweep, and checks the accuracies agree (the
// inputs are deterministic, so cached and uncached runs train the same weights).
// Writes bench/results/feature-cache-<date>.json.
// Run: npm run bench:cache [-- --epochs 3 --unfreeze 0,1,2,4 --inits pretrained,random]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { selectBackend } from "../lib/backend";
import { readManifest, UInt8Cache } from "../lib/data";
import { trainOnce, type ExperimentResult } from "../lib/experiments";
import { writeJsonAtomic } from "../lib/io";

interface Options {
  manifest: string;
  epochs: number;
  unfreeze: number[];
  inits: string[];
}

function parseArgs(argv: string[]): Options {
  const options: Options = { manifest: "data/splits/embedded.json", epochs: 3, unfreeze: [0, 1, 2, 4], inits: ["pretrained", "random"] };
  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1];
    if (value === undefined) throw new Error(`${argv[i]} needs a value`);
    if (argv[i] === "--manifest") options.manifest = value;
    else if (argv[i] === "--epochs") options.epochs = Number(value);
    else if (argv[i] === "--unfreeze") options.unfreeze = value.split(",").map(Number);
    else if (argv[i] === "--inits") options.inits = value.split(",");
    else throw new Error(`unknown option ${argv[i]}; options: --manifest FILE --epochs N --unfreeze 0,1,2 --inits pretrained,random`);
  }
  return options;
}

async function sweep(options: Options, featureCache: string): Promise<{ seconds: number; results: ExperimentResult[] }> {
  const manifest = readManifest(options.manifest);
  const started = Date.now();
  const results: ExperimentResult[] = [];
  const decodeCache = new UInt8Cache(2 ** 30); // each sweep decodes every image once, like a notebook run
  for (const init of options.inits) {
    for (const unfreeze of options.unfreeze) {
      results.push(
        await trainOnce(manifest, {
          label: `${init} · ${unfreeze}`,
          backbone: "mobilenet_v2",
          widthMultiplier: 0.5,
          imageSize: 96,
          weights: init === "pretrained" ? "embedded" : "",
          unfreeze,
          epochs: options.epochs,
          batchSize: 50,
          rates: { head: 3e-3, body: 1e-3 },
          seed: 1,
          featureCache,
        }, { decodeCache }),
      );
    }
  }
  return { seconds: (Date.now() - started) / 1000, results };
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const backend = await selectBackend();
  const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "charid-bench-cache-"));
  try {
    const uncached = await sweep(options, "");
    const cold = await sweep(options, cacheDir);
    const warm = await sweep(options, cacheDir);
    const worstGap = Math.max(...uncached.results.map((r, i) => Math.abs(r.bestValidAccuracy - cold.results[i].bestValidAccuracy)));
    const rows = [
      ["without cache", uncached.seconds],
      ["cold cache", cold.seconds],
      ["warm cache (re-run)", warm.seconds],
    ] as const;
    console.log(`\nfreeze sweep: ${options.inits.join(" + ")} × unfreeze ${options.unfreeze.join(",")} × ${options.epochs} epochs, ${backend.device}`);
    for (const [name, seconds] of rows) console.log(`${name.padEnd(22)} ${seconds.toFixed(1).padStart(7)} s   speed-up ×${(uncached.seconds / seconds).toFixed(2)}`);
    console.log(`largest best-accuracy difference, cached vs uncached: ${(100 * worstGap).toFixed(2)} points`);
    const out = path.join("bench", "results", `feature-cache-${new Date().toISOString().slice(0, 10)}.json`);
    writeJsonAtomic(out, {
      date: new Date().toISOString(),
      host: { cpus: os.cpus().length, model: os.cpus()[0]?.model, backend: backend.device },
      options,
      seconds: { uncached: uncached.seconds, cold: cold.seconds, warm: warm.seconds },
      speedup: { cold: uncached.seconds / cold.seconds, warm: uncached.seconds / warm.seconds },
      worstAccuracyGap: worstGap,
      runs: uncached.results.map((r, i) => ({ label: r.label, uncached: r.bestValidAccuracy, cached: cold.results[i].bestValidAccuracy, secondsUncached: r.seconds, secondsCold: cold.results[i].seconds, secondsWarm: warm.results[i].seconds })),
    });
    console.log(`written to ${out}`);
  } finally {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
