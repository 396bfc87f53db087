export * from "./train/learner";
export * from "./train/callbacks";
export * from "./train/figures";
export * from "./train/sources";
export * from "./train/export";
export * from "./train/predict";
export { readCheckpoint, writeCheckpoint } from "./train/checkpoint";
