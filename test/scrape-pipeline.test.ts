// The whole scrape against the fake search site: four engines, every kind of bad response, the
// checks, de-duplication against the dataset (test and validation images above all), resuming,
// and the merge into an expanded manifest.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { readManifest } from "../lib/data";
import {
  appendToRejectList, buildQueries, dedupeScraped, engineFromSpec, hashReferenceImages, HttpClient, keptImages, LOG_FILE,
  mergeScraped, readRejectList, rejectionCounts, scrapeImages, ScrapeStore, writeExpandedManifest, type DownloadRecord, type ScrapeOptions,
} from "../lib/scrape";
import { makeReferenceDataset, type ReferenceDataset } from "./fixtures/scrape/dataset";
import { startFixtureSite, type FixtureSite } from "./fixtures/scrape/site";

const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-scrape-"));
const outDir = path.join(work, "scraped");
let site: FixtureSite;
let dataset: ReferenceDataset;
let client: HttpClient;
let options: ScrapeOptions;

function records(): Map<string, DownloadRecord> {
  return new Map(new ScrapeStore(outDir).allDownloads().map((r) => [`${r.label}:${path.basename(r.url)}`, r]));
}

test.before(async () => {
  dataset = await makeReferenceDataset(path.join(work, "dataset"));
  site = await startFixtureSite({ testImage: dataset.testImage, validImage: dataset.validImage });
  client = new HttpClient({ network: "allow-loopback", hostDelayMs: 0, timeoutMs: 300, retries: 1, backoffMs: 5, maxBytes: 500_000 });
  const engines = ["bing", "duckduckgo", "openverse", "generic:/gallery?q={query}"].map((spec) => engineFromSpec(spec, site.origin));
  options = { outDir, queries: buildQueries(["pikachu", "eevee"], { limit: 40 }).queries, engines, client, checks: { minSide: 32 }, showProgress: false };
  await scrapeImages(options);
  const reference = await hashReferenceImages(dataset.manifest, { cacheFile: path.join(outDir, "reference-hashes.json") });
  dedupeScraped(new ScrapeStore(outDir), reference.images, { classes: ["pikachu", "eevee"], root: dataset.manifest.root });
});
test.after(async () => {
  client.close();
  await site.close();
  fs.rmSync(work, { recursive: true, force: true });
});

test("good JPEG, PNG, WebP, a retried 500 and a redirected image are kept, normalised to JPEG", () => {
  const all = records();
  const kept = [...all.values()].filter((r) => r.status === "saved").map((r) => `${r.label}:${path.basename(r.url)}`).sort();
  assert.deepEqual(kept, ["eevee:eevee.jpg", ...["flaky.jpg", "good.jpg", "good.png", "good.webp", "large-srcset.jpg", "lazy.jpg", "redirect.jpg"].map((f) => `pikachu:${f}`)].sort());
  for (const name of ["pikachu:good.png", "pikachu:good.webp", "pikachu:good.jpg"]) {
    const bytes = fs.readFileSync(path.join(outDir, all.get(name)!.file!));
    assert.deepEqual([...bytes.subarray(0, 3)], [0xff, 0xd8, 0xff], `${name} saved as JPEG`);
  }
  assert.equal(all.get("pikachu:redirect.jpg")!.finalUrl, `${site.origin}/img/moved/redirected.jpg`);
  assert.equal(site.hits.get("/img/flaky.jpg"), 2, "500 then success");
  assert.equal(all.get("pikachu:good.webp")!.license, "CC BY-SA 2.0, by Kanto_Trainer");
});

test("every rejection is logged with its stage, kind and reason", () => {
  const all = records();
  const expected: Record<string, [string, string, RegExp]> = {
    "pikachu:page.jpg": ["check", "not-an-image", /not an image .*served as text\/html/],
    "pikachu:truncated.jpg": ["check", "truncated", /truncated/],
    "pikachu:tiny.png": ["check", "too-small", /20x20 is below the minimum side of 32 px/],
    "pikachu:missing.jpg": ["download", "http-status", /HTTP 404/],
    "pikachu:slow.jpg": ["download", "timeout", /no complete response within 300 ms \(2 attempts\)/],
    "pikachu:loop.jpg": ["download", "redirect-loop", /redirect loop/],
    "pikachu:huge.jpg": ["download", "too-large", /over the 500 kB limit/],
    "pikachu:secret.jpg": ["download", "robots", /disallowed by .*robots\.txt/],
    "pikachu:copy-of-good.jpg": ["dedupe", "exact-duplicate", /byte-identical to images\/pikachu\/.*good\.jpg/],
    "pikachu:near-test.jpg": ["dedupe", "near-duplicate-test", /near duplicate of test image test\/000001\.jpg \(\d+ of 256 bits differ\)/],
    "pikachu:near-valid.jpg": ["dedupe", "near-duplicate-valid", /near duplicate of validation image train\/pikachu\/0002\.jpg/],
    "eevee:good.jpg": ["dedupe", "exact-duplicate", /the same URL is a result for class pikachu too/],
  };
  const rejected = [...all.values()].filter((r) => r.status === "rejected");
  assert.deepEqual(rejected.map((r) => `${r.label}:${path.basename(r.url)}`).sort(), Object.keys(expected).sort());
  for (const [name, [stage, kind, reason]] of Object.entries(expected)) {
    const r = all.get(name)!.rejection!;
    assert.deepEqual([r.stage, r.kind], [stage, kind], name);
    assert.match(r.reason, reason, name);
    assert.equal(all.get(name)!.file, undefined, `${name} has no file`);
  }
  assert.equal(site.hits.get("/private/secret.jpg"), undefined, "robots.txt obeyed: never requested");
  assert.equal(site.hits.get("/robots.txt"), 1);
  assert.deepEqual([...site.userAgents], [client.userAgent]);
  const logged = JSON.parse(fs.readFileSync(path.join(outDir, LOG_FILE), "utf8"));
  assert.equal(logged.downloads.length, 20);
  assert.ok(logged.downloads.every((d: DownloadRecord) => d.status === "saved" || d.rejection?.reason));
  assert.equal(rejectionCounts(new ScrapeStore(outDir)).reduce((n, row) => n + row.count, 0), 12);
});

test("nothing broken is left behind: only the kept images are in the folder", () => {
  const files = fs.readdirSync(path.join(outDir, "images"), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  assert.equal(files, 8);
  assert.equal(fs.existsSync(path.join(outDir, ".partial")), false);
});

test("a second run downloads nothing; retryFailed tries the network failures again", async () => {
  const before = site.totalHits();
  const again = await scrapeImages(options);
  assert.equal(site.totalHits(), before, "no search, no download");
  assert.deepEqual(again.classes.map((c) => [c.label, c.fetched, c.skipped]), [["pikachu", 0, 18], ["eevee", 0, 2]]);

  const slowBefore = site.hits.get("/img/slow.jpg")!;
  const retried = await scrapeImages({ ...options, retryFailed: true });
  assert.equal(retried.classes[0].fetched, 1, "only the timed-out download is retryable");
  assert.equal(site.hits.get("/img/slow.jpg"), slowBefore + 2);
  assert.equal(site.hits.get("/img/missing.jpg"), 1, "a 404 is not retried");
});

test("a kept image deleted by hand is downloaded again", async () => {
  const record = records().get("pikachu:lazy.jpg")!;
  fs.rmSync(path.join(outDir, record.file!));
  await scrapeImages(options);
  assert.ok(fs.existsSync(path.join(outDir, record.file!)));
  assert.equal(site.hits.get("/img/lazy.jpg"), 2);
});

test("de-duplication is stable: a second pass rejects nothing more", async () => {
  const reference = await hashReferenceImages(dataset.manifest, { cacheFile: path.join(outDir, "reference-hashes.json") });
  const second = dedupeScraped(new ScrapeStore(outDir), reference.images, { classes: ["pikachu", "eevee"] });
  assert.equal(second.rejected.length, 0);
  assert.equal(second.kept.length, 8);
});

test("merge: original training images plus the kept scraped ones, minus the reject list; validation unchanged", () => {
  const store = new ScrapeStore(outDir);
  const kept = keptImages(store, ["eevee", "pikachu"]);
  const rejectList = path.join(outDir, "reject-list.txt");
  const lazy = kept.find((i) => i.url.endsWith("/lazy.jpg"))!;
  const large = kept.find((i) => i.url.endsWith("/large-srcset.jpg"))!;
  assert.equal(appendToRejectList(rejectList, [{ entry: lazy.relative, comment: "a drawing, not a product photo" }, { entry: large.url }]), 2);
  assert.equal(appendToRejectList(rejectList, [{ entry: lazy.relative }]), 0, "entries are not repeated");
  const flaky = kept.find((i) => i.url.endsWith("/flaky.jpg"))!;
  const result = mergeScraped(dataset.manifest, kept, { baseFile: dataset.manifestFile, rejectList: readRejectList(rejectList), leaveOut: new Map([[flaky.file, "flagged by the model"]]) });
  assert.equal(result.added, 5);
  assert.deepEqual(result.left.map((l) => l.reason).sort(), ["flagged by the model", "on the reject list", "on the reject list"]);
  const file = path.join(work, "expanded.json");
  writeExpandedManifest(file, result.manifest);
  const expanded = readManifest(file);
  assert.equal(expanded.root, work, "the folder holding the dataset and the scrape");
  const abs = (m: typeof expanded, list: typeof expanded.valid) => list.map((i) => path.join(m.root, i.file)).sort();
  assert.deepEqual(abs(expanded, expanded.valid), abs(dataset.manifest, dataset.manifest.valid), "the same validation images");
  assert.equal(expanded.train.length, dataset.manifest.train.length + 5);
  for (const image of expanded.train) assert.ok(fs.existsSync(path.join(expanded.root, image.file)), image.file);
  assert.deepEqual(JSON.parse(fs.readFileSync(dataset.manifestFile, "utf8")), dataset.manifest, "the original manifest is untouched");
  assert.throws(() => mergeScraped(result.manifest, kept, { baseFile: file }), /already an expanded manifest/);
});
