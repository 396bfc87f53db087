// Entry for notebooks: `import { loadBackbone } from "./lib/backbone"` (a model, its input and its
// provenance as one value; see lib/models/backbone.ts).
export * from "./models/backbone";
