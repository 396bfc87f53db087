/**
 * The "embedded default" dataset: a generated stand-in for the contest
 * "Identify Characters from Product Images". See classes.ts for what makes
 * each augmentation finding testable on it.
 */
import fs from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { ART_STYLES, type Artwork, checkArtworkAvailable, loadArtworks } from "./generate/artwork";
import { type CharacterClass, EMBEDDED_CLASSES, GROUPS, printedName } from "./generate/classes";
import { makeNoiseTile, renderPhoto, samplePhoto } from "./generate/photo";
import { type ImageJob, type PlanOptions, planDataset } from "./generate/plan";
import { PRODUCT_KINDS } from "./generate/products";
import { writeFileAtomicAsync as writeAtomic } from "./io";
import { mapWithConcurrency } from "./pool";
import { Rng, hashSeed } from "./random";
import { composeScene } from "./generate/scene";

export { EMBEDDED_CLASSES, GROUPS } from "./generate/classes";
export type { CharacterClass, CharacterGroup } from "./generate/classes";
export { ART_STYLES } from "./generate/artwork";
export type { ArtStyle } from "./generate/artwork";

export const GENERATOR_VERSION = "1.0.0";
const GENERATOR_NAME = "charid-embedded-default";
/** Marks a folder as written by this generator, so regenerating may clear it. */
const MARKER = ".charid-generated";

export interface GenerateOptions {
  outDir: string;
  seed?: number;
  imagesPerClass?: number;
  testSize?: number;
  heldBackPerClass?: number;
  force?: boolean;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  /** The characters to draw; default the 42 of the embedded default. */
  classes?: readonly CharacterClass[];
}

export interface GenerateReport {
  outDir: string;
  classes: string[];
  trainCount: number;
  testCount: number;
  heldBackCount: number;
  brokenFiles: string[];
  seconds: number;
  skipped: boolean;
}

/** What dataset.json records; `options` decides whether an existing dataset can be reused. */
interface DatasetJson {
  generator: string;
  version: string;
  options: PlanOptions;
  counts: { train: number; test: number; heldBack: number; broken: number };
  brokenFiles: { file: string; kind: string }[];
  classes: unknown[];
  [key: string]: unknown;
}

function sameOptions(a: PlanOptions, b: PlanOptions): boolean {
  return a.seed === b.seed && a.imagesPerClass === b.imagesPerClass && a.testSize === b.testSize && a.heldBackPerClass === b.heldBackPerClass;
}

function sameClasses(saved: unknown[], classes: readonly string[]): boolean {
  return saved.length === classes.length && saved.every((c, i) => (c as { name?: string }).name === classes[i]);
}

function readExisting(outDir: string): DatasetJson | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(outDir, "dataset.json"), "utf8")) as DatasetJson;
  } catch {
    return undefined;
  }
}

function progressLogger(): (done: number, total: number) => void {
  const start = performance.now();
  let lastTenth = 0;
  return (done, total) => {
    const tenth = Math.floor((done * 10) / total);
    if (tenth > lastTenth || done === total) {
      lastTenth = tenth;
      const s = (performance.now() - start) / 1000;
      console.log(`  ${done}/${total} images (${Math.round((done * 100) / total)}%), ${s.toFixed(1)} s`);
    }
  };
}

async function renderJob(job: ImageJob, cls: CharacterClass, artworks: Map<string, Artwork[]>, tile: Int8Array): Promise<Buffer> {
  const rng = new Rng(job.seed);
  const art = (artworks.get(cls.name) as Artwork[])[job.styleIndex];
  // Named classes carry their name on most, not all, products.
  const text = cls.printsName && rng.chance(0.9) ? printedName(cls) : undefined;
  const scene = composeScene(rng, art, text);
  const jpeg = await renderPhoto(scene.svg, samplePhoto(rng), tile);
  return job.truncate === undefined ? jpeg : jpeg.subarray(0, Math.floor(jpeg.length * job.truncate));
}

/** The character itself; old BMP symbols (heart, ball) need FE0F to show as emoji. */
function emojiText(codepoint: string): string {
  const cps = codepoint.split("-").map((h) => parseInt(h, 16));
  return String.fromCodePoint(...cps) + (cps.length === 1 && cps[0] < 0x1f000 ? "\ufe0f" : "");
}

const HTML_PAGE =
  '<!DOCTYPE html>\n<html><head><title>403 Forbidden</title></head>\n<body><h1>Forbidden</h1><p>You don\'t have permission to access this image.</p></body></html>\n';

export async function generateDataset(opts: GenerateOptions): Promise<GenerateReport> {
  const start = performance.now();
  const outDir = path.resolve(opts.outDir);
  const options: PlanOptions = {
    seed: opts.seed ?? 42,
    imagesPerClass: opts.imagesPerClass ?? 60,
    testSize: opts.testSize ?? 600,
    heldBackPerClass: opts.heldBackPerClass ?? 0,
  };
  for (const [key, value] of Object.entries(options)) {
    if (!Number.isInteger(value) || value < 0) throw new Error(`generateDataset: ${key} must be a non-negative integer, got ${value}`);
  }
  if (options.imagesPerClass < 1) throw new Error("generateDataset: imagesPerClass must be at least 1");
  const classList = opts.classes ?? EMBEDDED_CLASSES;
  const classes = classList.map((c) => c.name);

  const existing = readExisting(outDir);
  if (!opts.force && existing && existing.version === GENERATOR_VERSION && sameOptions(existing.options, options) && sameClasses(existing.classes, classes)) {
    return {
      outDir,
      classes,
      trainCount: existing.counts.train,
      testCount: existing.counts.test,
      heldBackCount: existing.counts.heldBack,
      brokenFiles: existing.brokenFiles.map((b) => b.file),
      seconds: (performance.now() - start) / 1000,
      skipped: true,
    };
  }

  checkArtworkAvailable(classList);
  // Remove only what this generator writes, so stale files of another run cannot mix in,
  // and never folders of the same names that it did not write (e.g. --out pointing at a project).
  const owned = fs.existsSync(path.join(outDir, MARKER)) || existing?.generator === GENERATOR_NAME;
  const entries = ["dataset.json", "test_answers.csv", "train", "test", "held_back"];
  const foreign = entries.filter((e) => fs.existsSync(path.join(outDir, e)));
  if (!owned && foreign.length > 0) {
    throw new Error(`generateDataset: ${outDir} already holds ${foreign.join(", ")} not written by this generator; choose another outDir`);
  }
  for (const entry of entries) fs.rmSync(path.join(outDir, entry), { recursive: true, force: true });
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, MARKER), "Written by lib/generate (charid embedded default dataset).\n");
  const plan = planDataset(options, classList);
  const dirs = new Set(plan.jobs.map((j) => path.dirname(j.file)).concat(plan.staticBroken.map((b) => path.dirname(b.file))));
  dirs.add("test");
  for (const dir of dirs) fs.mkdirSync(path.join(outDir, dir), { recursive: true });

  const artworks = await loadArtworks(classList);
  const tile = makeNoiseTile(hashSeed(options.seed, "noise"));
  const onProgress = opts.onProgress ?? progressLogger();
  let done = 0;
  await mapWithConcurrency(plan.jobs, opts.concurrency ?? 6, async (job) => {
    await writeAtomic(path.join(outDir, job.file), await renderJob(job, classList[job.classIndex], artworks, tile));
    onProgress(++done, plan.jobs.length);
  });
  for (const b of plan.staticBroken) {
    await writeAtomic(path.join(outDir, b.file), b.kind === "html" ? HTML_PAGE : Buffer.alloc(0));
  }

  const answers = [...plan.testAnswers].sort((a, b) => (a.file < b.file ? -1 : 1));
  await writeAtomic(path.join(outDir, "test_answers.csv"), "file,label\n" + answers.map((a) => `${a.file},${a.label}\n`).join(""));

  const trainCount = plan.trainCounts.reduce((a, b) => a + b, 0);
  const heldBackCount = options.heldBackPerClass * classList.length;
  const dataset: DatasetJson = {
    generator: GENERATOR_NAME,
    version: GENERATOR_VERSION,
    description:
      "Generated stand-in for 'Identify Characters from Product Images': 42 characters printed on procedurally drawn products, photographed with varying exposure.",
    options,
    counts: { train: trainCount, test: options.testSize, heldBack: heldBackCount, broken: plan.broken.length },
    brokenFiles: plan.broken,
    styles: [...ART_STYLES],
    styleSources: {
      twemoji: "@twemoji/svg",
      openmoji: "openmoji (color/svg)",
      noto: "emoji-datasource-google (img/google/64)",
    },
    products: [...PRODUCT_KINDS],
    groups: GROUPS,
    classes: classList.map((cls, c) => {
      const styleCounts = Object.fromEntries(ART_STYLES.map((s) => [s, 0]));
      for (const job of plan.jobs) {
        if (job.split === "train" && job.classIndex === c && job.truncate === undefined) styleCounts[ART_STYLES[job.styleIndex]]++;
      }
      return {
        name: cls.name,
        codepoint: cls.codepoint,
        emoji: emojiText(cls.codepoint),
        group: cls.group,
        printsName: cls.printsName,
        ...(cls.printsName ? { printedName: printedName(cls) } : {}),
        trainCount: plan.trainCounts[c],
        heldBackCount: options.heldBackPerClass,
        styleCounts,
      };
    }),
  };
  // Written last: its presence means the dataset is complete.
  await writeAtomic(path.join(outDir, "dataset.json"), JSON.stringify(dataset, null, 2) + "\n");

  const seconds = (performance.now() - start) / 1000;
  if (!opts.onProgress) {
    console.log(`Generated ${plan.jobs.length} images in ${seconds.toFixed(1)} s (${(plan.jobs.length / seconds).toFixed(1)} images/s) into ${outDir}`);
  }
  return {
    outDir,
    classes,
    trainCount,
    testCount: options.testSize,
    heldBackCount,
    brokenFiles: plan.broken.map((b) => b.file),
    seconds,
    skipped: false,
  };
}
