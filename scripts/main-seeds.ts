// npm start -- --seeds 42,1,2: notebook 05 trained once per seed, notebook 06 averaging the models
// (an ensemble, as `ensembleWith` does by hand). Works for the embedded default and for --data DIR.
import type { Params, ParamValue } from "../lib/runner";

/** One notebook execution of a job. */
export interface Step {
  /** The file name under notebooks/, e.g. "05-lr-schedule-training.ipynb". */
  notebook: string;
  params: Params;
  /** Appended to the run folder's name. */
  label?: string;
}

/** `--seeds 42,1,2`: distinct whole numbers, two or more. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  if (seeds.length < 2 || seeds.some((s) => !Number.isSafeInteger(s) || s < 0)) {
    throw new Error(`--seeds takes two or more whole numbers separated by commas, e.g. --seeds 42,1,2 (got "${text}")`);
  }
  if (new Set(seeds).size !== seeds.length) throw new Error(`--seeds ${text}: a seed twice trains the same model twice; give distinct seeds`);
  return seeds;
}

/** Where notebook 05 writes, as its parameters cell declares by default. */
export interface TrainingOutputs {
  checkpointDir: string;
  modelDir: string;
}

/**
 * Notebook 05's own seed keeps the usual folders, so `--seeds 42,1,2` after a plain `npm start`
 * resumes its finished run instead of training it again; any other seed gets FOLDER-seedN, never
 * resuming a checkpoint trained under another seed.
 */
export function seedOutputs(base: TrainingOutputs, seed: number, defaultSeed: number): TrainingOutputs {
  if (seed === defaultSeed) return base;
  return { checkpointDir: `${base.checkpointDir}-seed${seed}`, modelDir: `${base.modelDir}-seed${seed}` };
}

/** Notebook 05's folders: the job's parameters for it, else the notebook's own defaults. */
export function trainingOutputs(params05: Params, defaults: TrainingOutputs): TrainingOutputs {
  return { checkpointDir: folderParam(params05, "checkpointDir", defaults.checkpointDir), modelDir: folderParam(params05, "modelDir", defaults.modelDir) };
}

/**
 * Replaces notebook 05's step with one per seed, each writing its own checkpoints and model
 * (`seedOutputs`), and has notebook 06 average the first seed's model with the others'. `base`:
 * notebook 05's folders (`trainingOutputs`), also when only notebook 06 runs, on models trained before.
 */
export function withSeeds(steps: readonly Step[], seeds: readonly number[], base: TrainingOutputs, defaultSeed: number): Step[] {
  if (!steps.some((s) => s.notebook.startsWith("05-") || s.notebook.startsWith("06-"))) {
    throw new Error("--seeds trains notebook 05 once per seed for notebook 06 to average: run at least one of them");
  }
  const outputs = seeds.map((seed) => seedOutputs(base, seed, defaultSeed));
  const models = outputs.map((o) => o.modelDir);
  return steps.flatMap((step): Step[] => {
    if (step.notebook.startsWith("05-")) {
      if ("seed" in step.params) throw new Error("--seeds sets notebook 05's seed for each run: leave out -p 05:seed=…");
      return seeds.map((seed, i) => ({ notebook: step.notebook, params: { ...step.params, seed, ...outputs[i] }, label: `seed${seed}` }));
    }
    if (step.notebook.startsWith("06-")) {
      const { modelDir, ensembleWith = [] } = step.params;
      // The job's own folder (--data sets 05's and 06's alike) gives way; a different one is a contradiction.
      if (modelDir !== undefined && modelDir !== base.modelDir && modelDir !== models[0]) {
        throw new Error(`--seeds: notebook 06 averages the models notebook 05 writes (${models.join(", ")}); leave out -p 06:modelDir=… or give 05 the same`);
      }
      if (!Array.isArray(ensembleWith)) throw new Error("-p 06:ensembleWith takes a list of classifier folders");
      return [{ ...step, params: { ...step.params, modelDir: models[0], ensembleWith: [...ensembleWith, ...models.slice(1)] } }];
    }
    return [step];
  });
}

function folderParam(params: Params, name: string, fallback: string): string {
  const value: ParamValue | undefined = params[name];
  if (value === undefined) return fallback;
  if (typeof value !== "string") throw new Error(`-p 05:${name} takes a folder name`);
  return value;
}
