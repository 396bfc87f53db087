// Experiment notebooks (03 augmentation study, 04 freeze sweep): one training run per setting,
// results saved to the run folder, collected across runs, and charted.
export { headAndBody, trainOnce, unfreezeLabel, type ExperimentResult, type ExperimentSettings, type TrainOnceOptions } from "./experiments/train-once";
export { collectResults, resultRows, saveResults, summarizeByLabel, RESULTS_FILE, type CollectedResult, type SettingSummary } from "./experiments/results";
export { freezeSweepFigure, settingBarsFigure, validCurvesFigure } from "./experiments/figures";
