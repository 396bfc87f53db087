export * from "./train/learner";
export * from "./train/callbacks";
export * from "./train/figures";
export * from "./train/sources";
export * from "./train/export";
export * from "./train/predict";
export * from "./train/feature-cache";
export { readCheckpoint, writeCheckpoint } from "./train/checkpoint";
export { foldedInference, type FoldedModel, type FoldOptions } from "./backends/folded-inference";
