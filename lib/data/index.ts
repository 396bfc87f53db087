export * from "./scan";
export * from "./validate";
export * from "./split";
export * from "./manifest";
