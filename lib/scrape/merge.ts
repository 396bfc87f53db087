// The expanded training set as a new split manifest: the original training images plus the kept
// scraped ones, the validation images unchanged. No image is moved or copied, the original
// manifest is not touched; training notebooks take the new file through `manifestPath`.
import * as path from "node:path";
import { MANIFEST_VERSION, type SplitManifest } from "../data/manifest";
import type { LabelledImage } from "../data/scan";
import { writeJsonAtomic } from "../io";
import { isRejected, type ScrapedImage } from "./review";

export interface ExpandedManifest extends SplitManifest {
  /** The manifest this one extends. */
  expandedFrom: string;
  /** The scraped images among `train`. */
  scraped: LabelledImage[];
}

export interface MergeResult {
  manifest: ExpandedManifest;
  added: number;
  /** Scraped images left out, with the reason. */
  left: { file: string; label: string; reason: string }[];
  /** Added images per class. */
  perClass: Record<string, number>;
}

function commonAncestor(dirs: string[]): string {
  const split = dirs.map((d) => path.resolve(d).split(path.sep));
  const common: string[] = [];
  for (let i = 0; i < split[0].length && split.every((parts) => parts[i] === split[0][i]); i++) common.push(split[0][i]);
  return common.join(path.sep) || path.sep;
}

const slash = (p: string) => p.split(path.sep).join("/");

export interface MergeOptions {
  /** Path of the base manifest, recorded in the result. */
  baseFile: string;
  /** Paths or URLs on the reject list (see readRejectList). */
  rejectList?: ReadonlySet<string>;
  /** Absolute paths of further images to leave out, with the reason (e.g. model flags). */
  leaveOut?: ReadonlyMap<string, string>;
}

/** Re-roots the base manifest at the folder holding both the dataset and the scraped images. */
export function mergeScraped(base: SplitManifest, images: readonly ScrapedImage[], options: MergeOptions): MergeResult {
  if ((base as Partial<ExpandedManifest>).expandedFrom) {
    throw new Error(`${options.baseFile} is already an expanded manifest (from ${(base as ExpandedManifest).expandedFrom}): merge into the original split`);
  }
  const known = new Set(base.classes);
  const left: MergeResult["left"] = [];
  const chosen = images.filter((image) => {
    const why = !known.has(image.label)
      ? `class ${image.label} is not in the base manifest`
      : options.rejectList && isRejected(options.rejectList, image)
        ? "on the reject list"
        : options.leaveOut?.get(image.file);
    if (why) left.push({ file: image.relative, label: image.label, reason: why });
    return !why;
  });
  const root = commonAncestor([base.root, ...chosen.map((i) => path.dirname(i.file))]);
  const rebase = (image: LabelledImage): LabelledImage => ({ file: slash(path.relative(root, path.join(base.root, image.file))), label: image.label });
  const scraped = chosen.map((image) => ({ file: slash(path.relative(root, image.file)), label: image.label }));
  const perClass: Record<string, number> = {};
  for (const image of scraped) perClass[image.label] = (perClass[image.label] ?? 0) + 1;
  const manifest: ExpandedManifest = {
    version: MANIFEST_VERSION,
    root,
    trainDir: slash(path.relative(root, path.join(base.root, base.trainDir))),
    testDir: base.testDir === undefined ? undefined : slash(path.relative(root, path.join(base.root, base.testDir))),
    seed: base.seed,
    validFraction: base.validFraction,
    mergedValidation: base.mergedValidation,
    classes: base.classes,
    train: [...base.train.map(rebase), ...scraped],
    valid: base.valid.map(rebase),
    rejected: base.rejected.map((r) => ({ ...r, file: slash(path.relative(root, path.join(base.root, r.file))) })),
    expandedFrom: path.resolve(options.baseFile),
    scraped,
  };
  return { manifest, added: scraped.length, left, perClass };
}

export function writeExpandedManifest(file: string, manifest: ExpandedManifest): void {
  writeJsonAtomic(file, manifest);
}
