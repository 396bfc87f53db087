export * from "./train/learner";
export * from "./train/callbacks";
export * from "./train/figures";
export * from "./train/sources";
export { readCheckpoint, writeCheckpoint } from "./train/checkpoint";
