// The off-topic results a real image search mixes in: products printed with characters that are
// none of the target classes. Drawn by the dataset generator from its pool of other characters,
// once, into a cache folder; the generator's deliberately broken files come along and serve as
// broken downloads.
import * as fs from "node:fs";
import * as path from "node:path";
import { generateDataset } from "../../generate";
import { sourceTaskClasses } from "../../generate/source-task";

export interface IrrelevantImages {
  /** Decodable images with the character they show. */
  images: { file: string; character: string }[];
  /** The generator's broken files by kind: empty, truncated, html. */
  broken: Record<string, string>;
}

export async function irrelevantImages(dir: string, count: number, seed: number): Promise<IrrelevantImages> {
  // The generator draws at least 3 images per class, and needs 3 classes for its broken files.
  const characters = sourceTaskClasses(Math.max(3, Math.ceil(count / 3)), seed);
  await generateDataset({ outDir: dir, classes: characters, imagesPerClass: 1, testSize: 0, seed, onProgress: () => {} });
  const dataset = JSON.parse(fs.readFileSync(path.join(dir, "dataset.json"), "utf8")) as { brokenFiles: { file: string; kind: string }[] };
  const broken = Object.fromEntries(dataset.brokenFiles.map((b) => [b.kind, path.join(dir, b.file)]));
  const brokenFiles = new Set(Object.values(broken));
  const images = characters
    .flatMap((c) =>
      fs
        .readdirSync(path.join(dir, "train", c.name))
        .sort()
        .map((name) => ({ file: path.join(dir, "train", c.name, name), character: c.name.replace(/^src_/, "").replace(/_/g, " ") })),
    )
    .filter((image) => !brokenFiles.has(image.file))
    .slice(0, count);
  return { images, broken };
}
