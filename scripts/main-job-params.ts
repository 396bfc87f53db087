// The main job's settings (npm start), also read by bench/backbones.ts to measure each backbone
// with the recipe the main job uses.
import type { Params } from "../lib/runner";

/**
 * Settings of the main job that differ from a notebook's defaults, so that all notebooks finish in
 * minutes on a 2-core CPU. Run a notebook with its defaults through `npm run nb`.
 */
export const MAIN_JOB_PARAMS: Record<string, Params> = {
  // The studies at 96 px (nsfwjs MobileNetV2, 57 % after notebook 05's recipe against 85 % at 224, for
  // a fifth of the time); `npm run nb` runs them at the native size.
  "03": {
    imageSize: 96, seeds: [1], epochs: 3, draws: 1,
    settings: { "none": {}, "brightness 0.05 (seed)": { brightness: 0.05 }, "horizontal flip": { hflip: true } },
  },
  "04": { imageSize: 96, unfreezeBlocks: [0, 8], epochs: 3 },
  // nsfwjs MobileNetV2 @224, top from block.10 on cached features, the notebook's 3 brightness draws
  // (86.7 % against 84.6 % with one, for about 80 s more), 6 epochs under one cycle (the notebook's
  // default schedule); with `-p schedule='"steps"'` 3 + 2 + 1 at step-decayed rates. Label smoothing
  // 0.3: 89.6 % mean validation over three tops against 88.4 % at 0.1, 89.2 % at 0.2 and 86.9 % without
  // (`npm run bench:ensemble -- --label-smoothing X`, see the README).
  // Trained on notebook 02's expanded split (the 1,867 training images and the 504 scraped ones), as
  // the seed did: 90.4 % mean validation over three tops against 89.6 % without them. Validated (and
  // so predicted by 06) at 224 and 269 px, the notebook's default scales [1, 1.2].
  "05": { manifestPath: "data/splits/embedded-expanded.json", phaseEpochs: [3, 2, 1], labelSmoothing: 0.3 },
  // The classifier's windows (start, centre, end of the long side) and sizes, each scored alone beside
  // their average; the brightness TTA (3 more passes per window and size) with `npm run nb`.
  "06": { ttaBrightness: [] },
  // Not in the default main job (see SKIPPED_IN_MAIN_JOB); `npm start -- --only 07` after 05: k-fold on
  // notebook 05's cached features (its 3 draws), 2 folds x notebook 05's 3 + 2 + 1 epochs, twice
  // (pseudo-labels); TTA measured on 200 images. With 2 + 1 epochs the folds stopped still rising (56-62 %).
  "07": { folds: 2, phaseEpochs: [3, 2, 1], ttaSample: 200, lrFinderIterations: 40 },
};
