export * from "./data/scan";
export * from "./data/validate";
export * from "./data/split";
export * from "./data/manifest";
export * from "./data/input-convention";
export * from "./data/preprocess";
export * from "./data/augment";
export * from "./data/batches";
