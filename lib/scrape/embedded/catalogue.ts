// What the embedded search engine "indexes": per class, the generator's held-back photos of that
// class (same classes, new photos), a few off-topic images, and the hazards a real scrape meets
// (broken files, dead links, a retry, a redirect, a copy of a test image, an exact duplicate,
// a thumbnail-sized image, a path robots.txt forbids), spread over the classes.
import * as fs from "node:fs";
import * as path from "node:path";
import sharp from "sharp";
import { mapWithConcurrency } from "../../pool";
import { hashSeed, Rng } from "../../random";
import { searchTerm } from "../queries";
import type { IrrelevantImages } from "./irrelevant";

export type Served =
  | { kind: "file"; file: string; contentType: string }
  | { kind: "render"; render: () => Promise<Buffer>; contentType: string }
  | { kind: "status"; status: number }
  | { kind: "flaky"; file: string; failures: number }
  | { kind: "redirect"; to: string };

export interface CatalogueItem {
  id: string;
  /** URL path of the full-size image. */
  path: string;
  title: string;
  /** What it is, for the server's summary: "photo", "irrelevant", "near-duplicate-test", ... */
  role: string;
  served: Served;
  width?: number;
  height?: number;
}

export interface CatalogueClass {
  label: string;
  term: string;
  /** The results, in rank order. */
  items: CatalogueItem[];
  /** Served but never listed (where a redirect leads). */
  hidden: CatalogueItem[];
}

export interface CatalogueSource {
  /** The generated dataset: held_back/<class>/*.jpg, test/, test_answers.csv. */
  datasetDir: string;
  classes: readonly string[];
  terms?: Record<string, string>;
  irrelevant: IrrelevantImages;
  irrelevantPerClass: number;
  seed: number;
}

const SHOPS = ["tee", "gift", "plush", "kids", "merch", "print", "craft", "bazaar"];

function testImagesByClass(datasetDir: string): Map<string, string[]> {
  const answers = path.join(datasetDir, "test_answers.csv");
  const byClass = new Map<string, string[]>();
  if (!fs.existsSync(answers)) return byClass;
  for (const line of fs.readFileSync(answers, "utf8").split("\n").slice(1)) {
    const [file, label] = line.trim().split(",");
    if (file && label) byClass.set(label, [...(byClass.get(label) ?? []), path.join(datasetDir, "test", file)]);
  }
  return byClass;
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The dataset's held_back/ folder; an error saying how to make it when there is none. */
export function heldBackFolder(datasetDir: string): string {
  const dir = path.join(datasetDir, "held_back");
  if (!fs.existsSync(dir)) {
    throw new Error(
      `${dir} does not exist: the embedded search serves the generator's held-back photos. ` +
        "Regenerate with them: `npm start` does, or `npm run generate -- --held-back 10 --force`.",
    );
  }
  return dir;
}

export async function buildCatalogue(source: CatalogueSource): Promise<CatalogueClass[]> {
  const heldBackDir = heldBackFolder(source.datasetDir);
  const tests = testImagesByClass(source.datasetDir);
  const spareIrrelevant = [...source.irrelevant.images];
  const catalogue = source.classes.map((label, index) => {
    const term = searchTerm(label, source.terms);
    const rng = new Rng(hashSeed(source.seed, "embedded-search", label));
    const dir = path.join(heldBackDir, label);
    const photos = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith(".jpg")).sort() : [];
    const items: CatalogueItem[] = [];
    const hidden: CatalogueItem[] = [];
    const add = (role: string, title: string, served: Served, urlPath?: string) => {
      const n = items.length + hidden.length + 1;
      items.push({ id: `${label}-${n}`, path: urlPath ?? `/img/${label}/${n}.jpg`, title, role, served });
    };
    const shop = () => `${capitalised(term)} ${rng.pick(["shirt", "T-shirt", "doll", "plush doll", "mug", "tote bag"])} | ${rng.pick(SHOPS)}shop`;
    for (const name of photos) add("photo", shop(), { kind: "file", file: path.join(dir, name), contentType: "image/jpeg" });
    for (let k = 0; k < source.irrelevantPerClass && spareIrrelevant.length; k++) {
      const other = spareIrrelevant.shift()!;
      add("irrelevant", `${capitalised(other.character)} shirt doll – ${term} fans also like`, { kind: "file", file: other.file, contentType: "image/jpeg" });
    }
    const firstPhoto = photos.length ? path.join(dir, photos[0]) : undefined;
    const test = tests.get(label)?.[0];
    if (index % 6 === 0 && test) {
      add("near-duplicate-test", shop(), { kind: "render", contentType: "image/jpeg", render: async () => sharp(test).resize({ width: Math.round(((await sharp(test).metadata()).width ?? 200) * 1.25) }).jpeg({ quality: 80 }).toBuffer() });
    }
    if (index % 6 === 3 && firstPhoto) add("exact-duplicate", shop(), { kind: "file", file: firstPhoto, contentType: "image/jpeg" }, `/mirror/${label}/copy.jpg`);
    if (index % 7 === 1 && photos.length > 1) items[1] = { ...items[1], role: "flaky", served: { kind: "flaky", file: (items[1].served as { file: string }).file, failures: 1 } };
    if (index % 7 === 2 && photos.length > 2) {
      // The listed URL redirects to where the photo now lives.
      const moved = items.splice(2, 1)[0];
      hidden.push({ ...moved, path: `/img/${label}/moved-3.jpg` });
      add("redirect", moved.title, { kind: "redirect", to: `/img/${label}/moved-3.jpg` }, `/go/${label}/3`);
    }
    HAZARDS[index % 14]?.({ add, irrelevant: source.irrelevant, photo: firstPhoto, title: shop(), label });
    return { label, term, items: rng.shuffle(items), hidden };
  });
  await readSizes(catalogue);
  return catalogue;
}

type Add = (role: string, title: string, served: Served, urlPath?: string) => void;

interface HazardContext {
  add: Add;
  irrelevant: IrrelevantImages;
  photo: string | undefined;
  title: string;
  label: string;
}

function brokenFile(ctx: HazardContext, kind: string, contentType: string): void {
  const file = ctx.irrelevant.broken[kind];
  if (file) ctx.add(kind === "html" ? "html-as-jpg" : kind, ctx.title, { kind: "file", file, contentType });
}

/** One hazard each for some classes, keyed by class index modulo 14. */
const HAZARDS: Record<number, (ctx: HazardContext) => void> = {
  4: (ctx) => brokenFile(ctx, "truncated", "image/jpeg"),
  5: (ctx) => brokenFile(ctx, "html", "text/html; charset=utf-8"),
  8: (ctx) => brokenFile(ctx, "empty", "image/jpeg"),
  9: (ctx) => ctx.add("dead-link", ctx.title, { kind: "status", status: 404 }),
  10: (ctx) => {
    if (ctx.photo) ctx.add("robots-disallowed", ctx.title, { kind: "file", file: ctx.photo, contentType: "image/jpeg" }, `/private/${ctx.label}/original.jpg`);
  },
  11: (ctx) => {
    const photo = ctx.photo;
    if (photo) ctx.add("thumbnail-sized", ctx.title, { kind: "render", contentType: "image/png", render: () => sharp(photo).resize({ width: 48 }).png().toBuffer() });
  },
};

async function readSizes(catalogue: CatalogueClass[]): Promise<void> {
  const items = catalogue.flatMap((c) => [...c.items, ...c.hidden]).filter((i) => i.served.kind === "file" || i.served.kind === "flaky");
  await mapWithConcurrency(items, 8, async (item) => {
    try {
      const meta = await sharp((item.served as { file: string }).file).metadata();
      item.width = meta.width;
      item.height = meta.height;
    } catch {
      // broken files have no size
    }
  });
}
