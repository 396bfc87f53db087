/**
 * The three artwork styles ("designers") each character is drawn in, taken
 * from the emoji packages installed with the project. Each (class, style) is
 * rasterised once into a trimmed PNG; scenes embed it and rsvg resizes it.
 */
import fs from "node:fs";
import path from "node:path";
import sharp from "sharp";
import type { CharacterClass } from "./classes";

export type ArtStyle = "twemoji" | "openmoji" | "noto";
export const ART_STYLES: readonly ArtStyle[] = ["twemoji", "openmoji", "noto"];

/** Longest side of a cached artwork raster, in pixels. */
const ART_SIZE = 200;

export interface Artwork {
  style: ArtStyle;
  width: number;
  height: number;
  /** data: URI of the trimmed PNG, ready for an SVG <image>. */
  href: string;
}

function packageDir(name: string): string {
  return path.dirname(require.resolve(`${name}/package.json`));
}

interface NotoEntry {
  unified: string;
  non_qualified: string | null;
  image: string;
  has_img_google: boolean;
}

let notoIndex: Map<string, NotoEntry> | undefined;

/** Noto images are named after the fully qualified sequence (e.g. 2764-fe0f), our classes are not. */
function notoEntry(codepoint: string): NotoEntry | undefined {
  if (!notoIndex) {
    const file = path.join(packageDir("emoji-datasource-google"), "emoji.json");
    const entries = JSON.parse(fs.readFileSync(file, "utf8")) as NotoEntry[];
    notoIndex = new Map();
    for (const e of entries) {
      notoIndex.set(e.unified.toLowerCase(), e);
      if (e.non_qualified) notoIndex.set(e.non_qualified.toLowerCase(), e);
    }
  }
  return notoIndex.get(codepoint.toLowerCase());
}

/** Source file of one (codepoint, style), or undefined when the package lacks it. */
export function artworkSource(codepoint: string, style: ArtStyle): string | undefined {
  const cp = codepoint.toLowerCase();
  let file: string;
  switch (style) {
    case "twemoji":
      file = path.join(packageDir("@twemoji/svg"), `${cp}.svg`);
      break;
    case "openmoji":
      file = path.join(packageDir("openmoji"), "color", "svg", `${cp.toUpperCase()}.svg`);
      break;
    case "noto": {
      const entry = notoEntry(cp);
      if (!entry || !entry.has_img_google) return undefined;
      file = path.join(packageDir("emoji-datasource-google"), "img", "google", "64", entry.image);
      break;
    }
  }
  return fs.existsSync(file) ? file : undefined;
}

/** Throws one clear error listing every (class, style) whose artwork is missing. */
export function checkArtworkAvailable(classes: readonly CharacterClass[]): void {
  const missing: string[] = [];
  for (const cls of classes) {
    for (const style of ART_STYLES) {
      if (!artworkSource(cls.codepoint, style)) missing.push(`${cls.name} (U+${cls.codepoint.toUpperCase()}) in ${style}`);
    }
  }
  if (missing.length > 0) {
    throw new Error(
      `Embedded dataset: artwork missing for ${missing.length} class/style pair(s): ${missing.join(", ")}. ` +
        "Check that @twemoji/svg, openmoji and emoji-datasource-google are installed (npm install).",
    );
  }
}

async function rasterise(file: string, style: ArtStyle): Promise<Artwork> {
  const input = fs.readFileSync(file);
  // Vector styles are rendered large first so that trimming their padding keeps detail.
  const source =
    style === "noto"
      ? sharp(input)
      : sharp(input, { density: (72 * 320) / (style === "twemoji" ? 36 : 72) }); // viewBox sizes 36 and 72
  const trimmed = await source.ensureAlpha().trim().png().toBuffer();
  const { data, info } = await sharp(trimmed)
    .resize(ART_SIZE, ART_SIZE, { fit: "inside", kernel: "lanczos3" })
    .png({ compressionLevel: 3 })
    .toBuffer({ resolveWithObject: true });
  return { style, width: info.width, height: info.height, href: `data:image/png;base64,${data.toString("base64")}` };
}

/** Rasterises every (class, style) once; keyed by class name, in ART_STYLES order. */
export async function loadArtworks(classes: readonly CharacterClass[]): Promise<Map<string, Artwork[]>> {
  checkArtworkAvailable(classes);
  const out = new Map<string, Artwork[]>();
  for (const cls of classes) {
    const arts = await Promise.all(
      ART_STYLES.map((style) => rasterise(artworkSource(cls.codepoint, style) as string, style)),
    );
    out.set(cls.name, arts);
  }
  return out;
}
