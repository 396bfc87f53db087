// Pretraining the embedded default backbone on the generated source task, with checkpoints so that
// the job can span sessions, and a provenance file beside the exported weights.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { selectBackend } from "./backend";
import { buildManifest, scanDataset, stratifiedSplit, writeManifest } from "./data";
import { generateDataset } from "./generate";
import { sourceTaskClasses } from "./generate/source-task";
import { writeJsonAtomic } from "./io";
import { EMBEDDED_WEIGHTS, sha256 } from "./weights";
import { projectRoot } from "./jupyter/kernelspec";
import { buildModel, replaceHead, saveModel } from "./models";
import { groupsByPath, imageSource, Learner, SaveCheckpoints, ShowProgress, type Callback } from "./train";

export const DEFAULT_PRETRAIN = {
  classes: 200,
  imagesPerClass: 40,
  epochs: 8,
  widthMultiplier: 0.5,
  imageSize: 96,
  batchSize: 50,
  lr: 2e-3,
  seed: 7,
  outDir: EMBEDDED_WEIGHTS,
};

export type PretrainOptions = typeof DEFAULT_PRETRAIN;

export interface Provenance {
  backbone: string;
  widthMultiplier: number;
  imageSize: number;
  sourceTask: { classes: number; imagesPerClass: number; generatorSeed: number; trainImages: number; validImages: number };
  epochs: number;
  sourceTaskValidAccuracy: number;
  /** Training time over all sessions (the job resumes from checkpoints). */
  trainingSeconds: number;
  commit: string;
  sha256: string;
}

/** Extra callbacks (e.g. LiveCurves in a notebook) join the progress and checkpoint ones. */
export async function pretrainBackbone(overrides: Partial<PretrainOptions> = {}, callbacks: Callback[] = []): Promise<Provenance> {
  const o = { ...DEFAULT_PRETRAIN, ...overrides };
  const root = projectRoot();
  await selectBackend();
  const dataDir = path.join(root, "data", "source-task");
  const classes = sourceTaskClasses(o.classes, o.seed);
  await generateDataset({ outDir: dataDir, classes, imagesPerClass: o.imagesPerClass, testSize: 0, seed: o.seed });
  const scan = await scanDataset(dataDir);
  const split = stratifiedSplit(scan.images, { validFraction: 0.1, seed: o.seed });
  const manifest = buildManifest(scan, split, { seed: o.seed, validFraction: 0.1 });
  writeManifest(path.join(root, "data", "splits", "source-task.json"), manifest);

  // replaceHead: one Linear head without the unseeded dropout, so a resumed run repeats exactly.
  const model = replaceHead(buildModel("mobilenet_v2", { widthMultiplier: o.widthMultiplier, inputSize: o.imageSize }), manifest.classes.length, { disposeOld: true });
  const sources = { batchSize: o.batchSize, size: o.imageSize, seed: o.seed };
  const checkpoints = new SaveCheckpoints(path.join(root, "data", "checkpoints", "pretrain"));
  const learner = new Learner({
    model,
    groups: groupsByPath(model, { features: o.lr, classifier: o.lr }),
    train: imageSource(manifest, manifest.train, { ...sources, shuffle: true, augment: { brightness: 0.05 } }),
    valid: imageSource(manifest, manifest.valid, sources),
    classes: manifest.classes,
    callbacks: [new ShowProgress(), checkpoints, ...callbacks],
  });
  if (fs.existsSync(checkpoints.last)) {
    await learner.restore(checkpoints.last);
    console.log(`resumed: ${learner.epoch} of ${o.epochs} epochs done`);
  }
  // Step decay: 60 % of the epochs at lr, 30 % at lr/5, the rest at lr/25.
  const first = Math.round(o.epochs * 0.6);
  const second = Math.round(o.epochs * 0.3);
  await learner.fit(first);
  learner.setLearningRates(o.lr / 5);
  await learner.fit(second);
  learner.setLearningRates(o.lr / 25);
  await learner.fit(o.epochs - first - second);

  learner.loadWeights(checkpoints.best);
  const evaluation = await learner.evaluate(imageSource(manifest, manifest.valid, sources));
  const outDir = path.resolve(root, o.outDir);
  await saveModel(model, outDir);
  const provenance: Provenance = {
    backbone: "mobilenet_v2",
    widthMultiplier: o.widthMultiplier,
    imageSize: o.imageSize,
    sourceTask: { classes: manifest.classes.length, imagesPerClass: o.imagesPerClass, generatorSeed: o.seed, trainImages: manifest.train.length, validImages: manifest.valid.length },
    epochs: learner.epoch,
    sourceTaskValidAccuracy: evaluation.accuracy,
    trainingSeconds: Math.round(learner.history.reduce((sum, r) => sum + r.seconds, 0)),
    commit: gitCommit(root),
    sha256: sha256(path.join(outDir, "weights.bin")),
  };
  writeJsonAtomic(path.join(outDir, "provenance.json"), provenance);
  console.log(`pretrained backbone → ${outDir}: source-task validation accuracy ${(100 * evaluation.accuracy).toFixed(2)}%`);
  return provenance;
}

function gitCommit(root: string): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
}
