// End to end: one epoch (training pass + validation) of notebook 05's default setting, from the
// JPEG files, cold (nothing decoded yet): MobileNetV2 width 0.5, 96 px, batch 50, the embedded
// pretrained weights, one Adam per group, ColorJitter(brightness=0.05). PyTorch does the same with
// torchvision's mobilenet_v2(width_mult=0.5), a DataLoader over the same files and PIL transforms.
import { existsSync } from "node:fs";
import * as path from "node:path";
import { readManifest, trainingImages, validationImages } from "../lib/data";
import { buildBackbone } from "../lib/models";
import { groupsByPath, imageSource, Learner, loadMatchingWeights } from "../lib/train";
import { resolveWeights } from "../lib/weights";
import { pairedRow, runTorch, timeAsync, torchVersion, type Row } from "./common";

export const EPOCH_SETTING = {
  manifest: "data/splits/embedded.json",
  width: 0.5,
  size: 96,
  batch: 50,
  rates: { "features.0:18": 1e-3, "features.18": 1e-3, classifier: 3e-3 },
  augment: { brightness: 0.05 },
  seed: 42,
};

export interface EpochOptions {
  /** Threads computing each training step (Learner option parallel, lib/parallel); 1 = the single-thread Learner. */
  shares?: number;
}

/** Seconds for one cold epoch in this process (a fresh model, fresh sources, so nothing cached). */
export async function oursEpoch(options: EpochOptions = {}): Promise<{ seconds: number; train: number; valid: number }> {
  const s = EPOCH_SETTING;
  const manifest = readManifest(s.manifest);
  const classes = manifest.classes;
  const sourceOptions = { batchSize: s.batch, size: s.size, seed: s.seed, cacheBytes: 512 * 2 ** 20 };
  const train = imageSource(manifest, trainingImages(manifest), { ...sourceOptions, shuffle: true, augment: s.augment });
  const valid = imageSource(manifest, validationImages(manifest), sourceOptions);
  const model = await buildBackbone("mobilenet_v2", classes.length, { widthMultiplier: s.width, inputSize: s.size, seed: s.seed });
  await loadMatchingWeights(model, resolveWeights("embedded"));
  const shares = options.shares ?? 1;
  const learner = new Learner({ model, groups: groupsByPath(model, s.rates), train, valid, classes, parallel: shares > 1 ? { shares } : undefined });
  try {
    const { seconds } = await timeAsync(() => learner.fit(1));
    return { seconds, train: train.size, valid: valid.size };
  } finally {
    await learner.close();
    model.dispose();
  }
}

export interface EpochResult {
  rows: Row[];
  torch: string;
  images: { train: number; valid: number };
  seconds: { ours: number[]; oursParallel: number[]; torch: number[]; torch2: number[] };
}

export function epochDataReady(): boolean {
  return existsSync(path.resolve(EPOCH_SETTING.manifest));
}

export async function benchEpoch(rounds: number, shares: number, log: (line: string) => void): Promise<EpochResult> {
  const s = EPOCH_SETTING;
  const seconds: EpochResult["seconds"] = { ours: [], oursParallel: [], torch: [], torch2: [] };
  let torch = "";
  let images = { train: 0, valid: 0 };
  const torchArgs = { manifest: path.resolve(s.manifest), size: s.size, batch: s.batch, width: s.width };
  for (let i = 0; i < rounds; i++) {
    const t = runTorch("epoch", { ...torchArgs, threads: 1, workers: 0 });
    torch = torchVersion(t);
    seconds.torch.push(Number(t.seconds));
    const ours = await oursEpoch();
    images = { train: ours.train, valid: ours.valid };
    seconds.ours.push(ours.seconds);
    let line = `  epoch round ${i + 1}/${rounds}: ours ${ours.seconds.toFixed(1)} s, PyTorch 1 thread ${Number(t.seconds).toFixed(1)} s`;
    if (shares > 1) {
      seconds.oursParallel.push((await oursEpoch({ shares })).seconds);
      // PyTorch on 2 cores as it runs best here: 1 training thread and a DataLoader process decoding
      // (2 intra-op threads next to a loader process oversubscribe 2 cores and run 3x slower).
      const t2 = runTorch("epoch", { ...torchArgs, threads: 1, workers: 1 });
      seconds.torch2.push(Number(t2.seconds));
      line += `; ours ${shares} threads ${seconds.oursParallel[i].toFixed(1)} s, PyTorch 1 thread + 1 loader process ${Number(t2.seconds).toFixed(1)} s`;
    }
    log(line);
  }
  const perSecond = (xs: number[]) => xs.map((x) => (images.train + images.valid) / x);
  const setting = `notebook 05 default: MobileNetV2-0.5 @96, batch 50, ${images.train} + ${images.valid} images, cold`;
  const rows = [pairedRow("epoch, 1 thread (ours: decoding in libvips threads)", "img/s", perSecond(seconds.ours), perSecond(seconds.torch), `${setting}; PyTorch 1 thread, DataLoader num_workers=0`)];
  if (shares > 1) {
    rows.push(pairedRow(`epoch, ours ${shares} threads vs PyTorch 1 thread`, "img/s", perSecond(seconds.oursParallel), perSecond(seconds.torch), setting));
    rows.push(pairedRow(`epoch, ours 1 thread vs PyTorch 2 cores`, "img/s", perSecond(seconds.ours), perSecond(seconds.torch2), `${setting}; PyTorch 1 thread + DataLoader num_workers=1`));
    rows.push(pairedRow(`epoch, ours ${shares} threads vs PyTorch 2 cores`, "img/s", perSecond(seconds.oursParallel), perSecond(seconds.torch2), `${setting}; PyTorch 1 thread + DataLoader num_workers=1`));
  }
  return { rows, torch, images, seconds };
}
