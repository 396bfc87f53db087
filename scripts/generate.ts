/**
 * Generates the embedded default dataset.
 *   npx tsx scripts/generate.ts [--out data/embedded] [--seed 42] [--images-per-class 60]
 *                               [--test-size 600] [--held-back 0] [--concurrency 6] [--force]
 */
import { performance } from "node:perf_hooks";
import { generateDataset } from "../lib/generate";

const USAGE =
  "usage: npx tsx scripts/generate.ts [--out data/embedded] [--seed 42] [--images-per-class 60] " +
  "[--test-size 600] [--held-back 0] [--concurrency 6] [--force]";

function parseArgs(argv: string[]): Record<string, string | true> {
  const args: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith("--")) throw new Error(`unexpected argument ${arg}\n${USAGE}`);
    const [key, inline] = arg.slice(2).split("=", 2);
    if (inline !== undefined) args[key] = inline;
    else if (key === "force" || key === "help") args[key] = true;
    else if (i + 1 < argv.length) args[key] = argv[++i];
    else throw new Error(`--${key} needs a value\n${USAGE}`);
  }
  return args;
}

function intArg(args: Record<string, string | true>, key: string): number | undefined {
  const v = args[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || !Number.isInteger(n)) throw new Error(`--${key} must be an integer, got ${String(v)}`);
  return n;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const known = ["out", "seed", "images-per-class", "test-size", "held-back", "concurrency", "force", "help"];
  const unknown = Object.keys(args).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new Error(`unknown option(s) ${unknown.map((k) => "--" + k).join(", ")}\n${USAGE}`);
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const outDir = typeof args.out === "string" ? args.out : "data/embedded";
  const start = performance.now();
  let lastTenth = -1;
  const report = await generateDataset({
    outDir,
    seed: intArg(args, "seed"),
    imagesPerClass: intArg(args, "images-per-class"),
    testSize: intArg(args, "test-size"),
    heldBackPerClass: intArg(args, "held-back"),
    concurrency: intArg(args, "concurrency"),
    force: args.force === true,
    onProgress: (done, total) => {
      const tenth = Math.floor((done * 10) / total);
      if (tenth !== lastTenth) {
        lastTenth = tenth;
        const s = (performance.now() - start) / 1000;
        console.log(`  ${done}/${total} images (${Math.round((done * 100) / total)}%), ${s.toFixed(1)} s`);
      }
    },
  });
  if (report.skipped) {
    console.log(`${report.outDir} already holds this dataset (same options); use --force to regenerate.`);
  }
  const images = report.trainCount + report.testCount + report.heldBackCount;
  console.log(
    `${report.skipped ? "Existing" : "Generated"}: ${report.classes.length} classes, ${report.trainCount} train, ` +
      `${report.testCount} test, ${report.heldBackCount} held back, ${report.brokenFiles.length} broken files` +
      (report.skipped ? "" : `; ${images} images in ${report.seconds.toFixed(1)} s (${(images / report.seconds).toFixed(1)} images/s)`),
  );
  console.log(`Output: ${report.outDir}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
