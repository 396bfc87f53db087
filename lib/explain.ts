// Entry for notebooks: `import { gradCamOverlays } from "./lib/explain"` (Grad-CAM, lib/explain/).
export * from "./explain/grad-cam";
export * from "./explain/overlay";
