export * from "./data/scan";
export * from "./data/validate";
export * from "./data/split";
export * from "./data/manifest";
