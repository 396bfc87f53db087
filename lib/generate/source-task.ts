// The pretraining source task, our stand-in for ImageNet: many other characters from the same three
// artwork sets, drawn on the same kinds of scenes, sharing no class with the 42 targets.
import * as fs from "node:fs";
import * as path from "node:path";
import { hashSeed, Rng } from "../random";
import { ART_STYLES, artworkSource } from "./artwork";
import { type CharacterClass, EMBEDDED_CLASSES } from "./classes";

interface EmojiEntry {
  unified: string;
  short_name: string;
  category: string;
  has_img_google: boolean;
}

/** Categories whose members look alike or carry little shape (flags, keycaps, skin-tone parts). */
const LEFT_OUT = new Set(["Flags", "Component"]);

/**
 * `count` characters (seeded choice) available in all three artwork sets, without the target
 * classes, flags and skin-tone or multi-person sequences.
 */
export function sourceTaskClasses(count: number, seed = 0): CharacterClass[] {
  const file = path.join(path.dirname(require.resolve("emoji-datasource-google/package.json")), "emoji.json");
  const entries = JSON.parse(fs.readFileSync(file, "utf8")) as EmojiEntry[];
  const targets = new Set(EMBEDDED_CLASSES.map((c) => c.codepoint));
  const candidates = entries
    .filter((e) => e.has_img_google && !LEFT_OUT.has(e.category))
    .map((e) => {
      const codepoint = e.unified.toLowerCase().replace(/-fe0f/g, "");
      return { codepoint, name: e.short_name.replace(/[^a-z0-9]+/gi, "_").replace(/^_+|_+$/g, "").toLowerCase() || codepoint };
    })
    .filter((e) => !e.codepoint.includes("-") && !targets.has(e.codepoint))
    .filter((e) => ART_STYLES.every((style) => artworkSource(e.codepoint, style) !== undefined))
    .sort((a, b) => (a.codepoint < b.codepoint ? -1 : 1));
  if (candidates.length < count) throw new Error(`only ${candidates.length} source-task characters are available, ${count} asked`);
  return new Rng(hashSeed(seed, "source-task"))
    .shuffle(candidates)
    .slice(0, count)
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((e) => ({ name: `src_${e.name}`, codepoint: e.codepoint, group: "source", printsName: false }));
}
