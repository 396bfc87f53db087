// Scores saved classifiers on a split's validation images under several windows settings, overall
// and by the photos' aspect ratio; several model folders are averaged as one ensemble. Each window is
// seen at every size the classifier was saved with (notebook 05's scales), those averaged, or under
// each --scales setting given.
//   npm run score -- data/models/05                          # centre crop vs the start/centre/end windows
//   npm run score -- A B --windows 0.5 --windows 0,0.5,1     # the ensemble of A and B, the windows given
//   npm run score -- data/models/05 --windows 0,0.5,1 --scales 1 --scales 1,1.2   # 224 px vs 224 + 269 px
//   npm run score -- data/models/05 --manifest data/splits/embedded-expanded.json
import * as path from "node:path";
import sharp from "sharp";
import { selectBackend } from "../lib/backend";
import { checkScales, checkWindows, readManifest } from "../lib/data";
import { loadClassifier, predictEnsemble } from "../lib/train";

export interface WindowsScore {
  windows: number[];
  /** The scales every classifier was seen at; absent: each its own (as saved). */
  scales?: number[];
  /** Per aspect-ratio group (long side / short side): right and total. */
  groups: { name: string; right: number; total: number }[];
  right: number;
  total: number;
}

const ASPECT_GROUPS = [
  { name: "near-square (< 1.2)", below: 1.2 },
  { name: "1.2 to 1.55", below: 1.55 },
  { name: "elongated (>= 1.55)", below: Infinity },
];

/** The validation accuracy of the averaged classifiers under each windows setting (and each scales setting, when given). */
export async function scoreValidation(modelDirs: readonly string[], manifestPath: string, settings: readonly number[][], scaleSettings?: readonly number[][]): Promise<WindowsScore[]> {
  if (modelDirs.length === 0) throw new Error("name at least one classifier folder (written by notebook 05), e.g. data/models/05");
  settings.forEach(checkWindows);
  scaleSettings?.forEach(checkScales);
  const manifest = readManifest(manifestPath);
  const classifiers = [];
  for (const dir of modelDirs) classifiers.push(await loadClassifier(dir));
  for (const c of classifiers) {
    if (c.classes.join() !== manifest.classes.join()) throw new Error(`${c.backbone}: its classes are not ${manifestPath}'s: score it on the split it was trained for`);
  }
  const files = manifest.valid.map((image) => path.join(manifest.root, image.file));
  const labels = manifest.valid.map((image) => manifest.classes.indexOf(image.label));
  const aspects = await Promise.all(files.map(async (file) => {
    const meta = await sharp(file).metadata();
    return Math.max(meta.width ?? 1, meta.height ?? 1) / Math.min(meta.width ?? 1, meta.height ?? 1);
  }));
  const k = manifest.classes.length;
  // One prediction per classifier and scale through every window any setting names; each setting
  // averages its own windows and scales (undefined: the classifiers' own scales).
  const positions = [...new Set(settings.flat())];
  const cell = new Map<string, Float32Array>();
  const cellKey = (scale: number | undefined, window: number) => `${scale}@${window}`;
  for (const scale of scaleSettings ? [...new Set(scaleSettings.flat())] : [undefined]) {
    const members = classifiers.map((c, i) => ({ ...c, input: { ...c.input, windows: positions, ...(scale === undefined ? {} : { scales: [scale] }) }, name: modelDirs[i] }));
    const predicted = await predictEnsemble(members, files);
    positions.forEach((w, i) => cell.set(cellKey(scale, w), predicted.byWindow[i]));
  }
  const scores: WindowsScore[] = [];
  for (const scales of scaleSettings ?? [undefined]) {
    for (const windows of settings) {
      const groups = ASPECT_GROUPS.map((g) => ({ name: g.name, right: 0, total: 0 }));
      labels.forEach((label, i) => {
        const row = new Float32Array(k);
        for (const scale of scales ?? [undefined]) for (const w of windows) cell.get(cellKey(scale, w))!.subarray(i * k, (i + 1) * k).forEach((p, c) => (row[c] += p));
        const right = row.indexOf(Math.max(...row)) === label ? 1 : 0;
        const group = groups[ASPECT_GROUPS.findIndex((g) => aspects[i] < g.below)];
        group.right += right;
        group.total += 1;
      });
      const right = groups.reduce((sum, g) => sum + g.right, 0);
      scores.push({ windows: [...windows], ...(scales ? { scales: [...scales] } : {}), groups, right, total: files.length });
    }
  }
  return scores;
}

function parseArgs(argv: string[]): { dirs: string[]; manifest: string; settings: number[][]; scaleSettings?: number[][] } {
  const dirs: string[] = [];
  const settings: number[][] = [];
  const scaleSettings: number[][] = [];
  let manifest = "data/splits/embedded.json";
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--manifest") manifest = argv[++i];
    else if (argv[i] === "--windows") settings.push((argv[++i] ?? "").split(",").map(Number));
    else if (argv[i] === "--scales") scaleSettings.push((argv[++i] ?? "").split(",").map(Number));
    else if (argv[i].startsWith("--")) throw new Error(`unknown option ${argv[i]} (--manifest FILE, --windows 0,0.5,1, --scales 1,1.2)`);
    else dirs.push(argv[i]);
  }
  return { dirs, manifest, settings: settings.length ? settings : [[0.5], [0, 0.5, 1]], scaleSettings: scaleSettings.length ? scaleSettings : undefined };
}

async function main(): Promise<void> {
  const { dirs, manifest, settings, scaleSettings } = parseArgs(process.argv.slice(2));
  await selectBackend();
  const pct = (right: number, total: number) => `${((100 * right) / Math.max(1, total)).toFixed(1)} % (${right}/${total})`;
  console.log(`${dirs.join(" + ")} on the validation images of ${manifest}`);
  for (const score of await scoreValidation(dirs, manifest, settings, scaleSettings)) {
    console.log(`windows ${score.windows.join(", ")}${score.scales ? ` at scales ${score.scales.join(", ")}` : ""}: ${pct(score.right, score.total)} · ${score.groups.map((g) => `${g.name} ${pct(g.right, g.total)}`).join(" · ")}`);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(`score: ${(error as Error).message}`);
    process.exit(1);
  });
}
