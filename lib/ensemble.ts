// Entry for notebooks: `import { trainFolds } from "./lib/ensemble"` (k-fold ensembles on cached
// trunk features, TTA views, pseudo-labels; lib/ensemble/).
export * from "./ensemble/feature-bank";
export * from "./ensemble/row-source";
export * from "./ensemble/tta";
export * from "./ensemble/kfold";
export * from "./ensemble/scores";
