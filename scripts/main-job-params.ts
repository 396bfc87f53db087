// The main job's settings (npm start), also read by bench/backbones.ts to measure each backbone
// with the recipe the main job uses.
import type { Params } from "../lib/runner";

/**
 * Settings of the main job that differ from a notebook's defaults, so that all notebooks finish in
 * minutes on a 2-core CPU. Run a notebook with its defaults through `npm run nb`.
 */
export const MAIN_JOB_PARAMS: Record<string, Params> = {
  "03": { seeds: [1, 2], epochs: 3, draws: 2 },
  "04": { unfreezeBlocks: [0, 1, 2, 4, -1], epochs: 3 },
  // nsfwjs MobileNetV2 @224, top from block.10 on cached features: one augmentation draw, 3 + 2 + 1 epochs.
  "05": { phaseEpochs: [3, 2, 1], draws: 1 },
  // k-fold on cached trunk features: 3 folds x (3 + 2 + 1) epochs of the top, twice (pseudo-labels); TTA measured on 300 images.
  "07": { folds: 3, phaseEpochs: [3, 2, 1], ttaSample: 300, lrFinderIterations: 60 },
};
