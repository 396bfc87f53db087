/**
 * Decides every file of the dataset before anything is drawn: uneven class
 * sizes, artwork style per image, test labels and shuffled test names, and
 * which training files are deliberately broken. Each image gets its own seed
 * (from the dataset seed and its split/class/index), so the result does not
 * depend on the order images are rendered in.
 */
import { ART_STYLES } from "./artwork";
import type { CharacterClass } from "./classes";
import { Rng, hashSeed } from "../random";

export type Split = "train" | "test" | "held_back";
export type BrokenKind = "empty" | "truncated" | "html";

export interface ImageJob {
  /** Path relative to the output folder, with forward slashes. */
  file: string;
  split: Split;
  classIndex: number;
  styleIndex: number;
  seed: number;
  /** Write only the first part of the JPEG (a deliberately broken file). */
  truncate?: number;
}

export interface BrokenFile {
  file: string;
  kind: BrokenKind;
}

export interface Plan {
  jobs: ImageJob[];
  /** Broken files other than truncated JPEGs (those are jobs with `truncate`). */
  staticBroken: BrokenFile[];
  broken: BrokenFile[];
  trainCounts: number[];
  testAnswers: { file: string; label: string }[];
}

export interface PlanOptions {
  seed: number;
  imagesPerClass: number;
  testSize: number;
  heldBackPerClass: number;
}

const pad = (i: number, width: number) => String(i).padStart(width, "0");

export function planDataset(opts: PlanOptions, classes: readonly CharacterClass[]): Plan {
  const rng = new Rng(hashSeed(opts.seed, "plan"));
  const jobs: ImageJob[] = [];

  // At least 3 per class, so that every artwork style shows up in training.
  const trainCounts = classes.map(() => Math.max(3, Math.round(opts.imagesPerClass * (0.5 + rng.next()))));
  classes.forEach((cls, c) => {
    const firstStyle = rng.int(0, ART_STYLES.length - 1);
    for (let i = 0; i < trainCounts[c]; i++) {
      jobs.push({
        file: `train/${cls.name}/${pad(i + 1, 4)}.jpg`,
        split: "train",
        classIndex: c,
        styleIndex: (firstStyle + i) % ART_STYLES.length,
        seed: hashSeed(opts.seed, "train", cls.name, i),
      });
    }
  });

  // Broken files, each in a different class, numbered after the class's real images.
  const brokenClasses = rng.shuffle(classes.map((_, c) => c)).slice(0, 3);
  const [emptyC, truncC, htmlC] = brokenClasses;
  const brokenName = (c: number) => `train/${classes[c].name}/${pad(trainCounts[c] + 1, 4)}.jpg`;
  const staticBroken: BrokenFile[] = [
    { file: brokenName(emptyC), kind: "empty" },
    { file: brokenName(htmlC), kind: "html" },
  ];
  jobs.push({
    file: brokenName(truncC),
    split: "train",
    classIndex: truncC,
    styleIndex: rng.int(0, ART_STYLES.length - 1),
    seed: hashSeed(opts.seed, "broken", classes[truncC].name),
    truncate: rng.float(0.35, 0.65),
  });
  const broken: BrokenFile[] = [...staticBroken, { file: brokenName(truncC), kind: "truncated" as const }].sort((a, b) =>
    a.file < b.file ? -1 : 1,
  );

  // Test labels follow the (uneven) training distribution; names are shuffled indices.
  const weights = classes.map((_, c) => [c, trainCounts[c]] as const);
  const testRng = new Rng(hashSeed(opts.seed, "test"));
  const testClasses = Array.from({ length: opts.testSize }, () => testRng.weighted(weights));
  const order = testRng.shuffle(testClasses.map((_, i) => i));
  const testAnswers: { file: string; label: string }[] = [];
  order.forEach((draw, position) => {
    const c = testClasses[draw];
    const file = `test/${pad(position, 6)}.jpg`;
    jobs.push({
      file,
      split: "test",
      classIndex: c,
      styleIndex: testRng.int(0, ART_STYLES.length - 1),
      seed: hashSeed(opts.seed, "test", draw),
    });
    testAnswers.push({ file: file.slice("test/".length), label: classes[c].name });
  });

  classes.forEach((cls, c) => {
    for (let i = 0; i < opts.heldBackPerClass; i++) {
      jobs.push({
        file: `held_back/${cls.name}/${pad(i + 1, 4)}.jpg`,
        split: "held_back",
        classIndex: c,
        styleIndex: (c + i) % ART_STYLES.length,
        seed: hashSeed(opts.seed, "held_back", cls.name, i),
      });
    }
  });

  return { jobs, staticBroken, broken, trainCounts, testAnswers };
}
