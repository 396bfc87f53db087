// The embedded search engine of the main job: built from a generated dataset's held-back photos,
// answering in every format the adapters parse, with off-topic images and each hazard leading to
// the rejection it should.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { buildManifest, scanDataset, stratifiedSplit } from "../lib/data";
import { generateDataset } from "../lib/generate";
import {
  buildQueries, dedupeScraped, engineFromSpec, hashReferenceImages, HttpClient, scrapeImages, ScrapeStore, startEmbeddedSearch, type EmbeddedSearch, type FetchText,
} from "../lib/scrape";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-embedded-search-"));
const datasetDir = path.join(work, "dataset");
let search: EmbeddedSearch;
let classes: string[];
const client = new HttpClient({ network: "allow-loopback", hostDelayMs: 0, backoffMs: 5, timeoutMs: 5000 });
const fetchText: FetchText = async (url) => {
  const response = await client.get(url);
  if (response.ok === false) throw new Error(response.reason);
  return response.body.toString("utf8");
};

test.before(async () => {
  await generateDataset({ outDir: datasetDir, imagesPerClass: 3, testSize: 40, heldBackPerClass: 3, seed: 4, onProgress: () => {} });
  classes = fs.readdirSync(path.join(datasetDir, "train")).sort();
  search = await startEmbeddedSearch({ datasetDir, classes, cacheDir: path.join(work, "engine"), irrelevantPerClass: 1, seed: 4, port: 0 });
});
test.after(async () => {
  client.close();
  await search.close();
  fs.rmSync(work, { recursive: true, force: true });
});

test("every format answers a class's query with that class's results, in rank order", async () => {
  const redHeart = search.catalogue.find((c) => c.label === "red_heart")!;
  const expected = redHeart.items.map((item) => `${search.url}${item.path}`);
  assert.ok(redHeart.items.filter((i) => i.role === "photo").length === 3 && redHeart.items.some((i) => i.role === "irrelevant"));
  for (const spec of ["bing", "duckduckgo", "openverse", "generic:/gallery?q={query}"]) {
    const results = await engineFromSpec(spec, search.url).search("red heart shirt doll", 50, fetchText);
    assert.deepEqual(results.map((r) => r.imageUrl), expected, spec);
  }
  assert.deepEqual(await engineFromSpec("bing", search.url).search("qwxyz shirt doll", 50, fetchText), [], "a query matching no class finds nothing");
  const photos = search.catalogue.flatMap((c) => c.items).filter((i) => i.role === "photo");
  assert.ok(photos.every((p) => p.served.kind !== "file" || p.served.file.includes(`${path.sep}held_back${path.sep}`)), "photos are held-back images");
});

test("scraping it: photos and off-topic images kept, every hazard rejected with its reason", async () => {
  const scan = await scanDataset(datasetDir);
  const manifest = buildManifest(scan, stratifiedSplit(scan.images, { validFraction: 0.3, seed: 1 }), { seed: 1, validFraction: 0.3 });
  const outDir = path.join(work, "scraped");
  const queries = buildQueries(classes, { limit: 20 }).queries.slice(0, 12);
  await scrapeImages({ outDir, queries, engines: [engineFromSpec("bing", search.url)], client, showProgress: false });
  const reference = await hashReferenceImages(manifest);
  dedupeScraped(new ScrapeStore(outDir), reference.images, { classes, root: datasetDir });

  const roles = new Map(search.catalogue.flatMap((c) => [...c.items, ...c.hidden]).map((item) => [`${search.url}${item.path}`, item.role]));
  const outcome = new Map<string, Set<string>>();
  for (const record of new ScrapeStore(outDir).allDownloads()) {
    const role = roles.get(record.url)!;
    const verdict = record.status === "saved" ? "kept" : `${record.rejection!.stage}/${record.rejection!.kind}`;
    outcome.set(role, new Set([...(outcome.get(role) ?? []), verdict]));
  }
  const expected: Record<string, string[]> = {
    photo: ["kept", "dedupe/exact-duplicate"], // the exact duplicate's twin may rank first
    irrelevant: ["kept"],
    flaky: ["kept"],
    redirect: ["kept"],
    "near-duplicate-test": ["dedupe/near-duplicate-test"],
    "exact-duplicate": ["dedupe/exact-duplicate", "kept"],
    truncated: ["check/truncated"],
    "html-as-jpg": ["check/not-an-image"],
    empty: ["check/empty"],
    "dead-link": ["download/http-status"],
    "robots-disallowed": ["download/robots"],
    "thumbnail-sized": ["check/too-small"],
  };
  assert.deepEqual([...outcome.keys()].sort(), Object.keys(expected).sort());
  for (const [role, verdicts] of outcome) {
    for (const verdict of verdicts) assert.ok(expected[role].includes(verdict), `${role}: ${verdict}`);
  }
  const pairs = new ScrapeStore(outDir).allDownloads().filter((r) => ["exact-duplicate", "photo"].includes(roles.get(r.url)!) && r.rejection?.kind === "exact-duplicate");
  assert.equal(pairs.length, 2, "one image of each duplicated pair (classes 3 and 9) is dropped");
});

test("a dataset without held-back photos gets a message saying how to make them", async () => {
  const bare = path.join(work, "bare");
  fs.mkdirSync(path.join(bare, "train", "x"), { recursive: true });
  await assert.rejects(startEmbeddedSearch({ datasetDir: bare, classes: ["x"], cacheDir: path.join(work, "engine"), irrelevantPerClass: 1, seed: 4, port: 0 }), /held_back does not exist.*--held-back 10/);
});
