#!/usr/bin/python3
"""Writes notebooks/02-scraping.ipynb (without outputs): /usr/bin/python3 scripts/build-notebook-02.py"""
import hashlib
import json
import os

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

md = new_markdown_cell


def code(source, **metadata):
    cell = new_code_cell(source.strip("\n"))
    cell.metadata = metadata
    return cell


cells = [
    md("""# 02 · Extra training images by web scraping

The seed searched the web for every class (`"<class> shirt doll"`, the suffix that gave the most
relevant results), saved the full-size images, deleted the broken and the irrelevant ones and added
the rest to the training set — and it mattered a great deal for the final score. Its script broke
when the search page changed and left broken files behind. This notebook does the same carefully:

1. **Queries** per class from a template, with readable search terms and an exclusion list.
2. **Search** with adapters that parse the result pages (Bing's HTML, DuckDuckGo's JSON, Openverse's
   API, or any HTML page).
3. **Download** politely: robots.txt, a delay per host, timeouts, retries with backoff, a size cap,
   no private addresses, an honest User-Agent — and resumably: a rerun downloads nothing twice.
4. **Check** every file (it must decode completely and be big enough), normalise it to JPEG, and drop
   exact and near duplicates — above all of test and validation images.
5. **Review** a gallery per class, optionally with a trained model's opinion, keep a reject list, and
   **merge** into a new manifest for the training notebooks. The original split stays untouched.

By default (`search = "embedded"`) no network is needed: the notebook starts a small search engine on
this machine whose results are photos the dataset generator held back (same classes, new photos),
mixed with off-topic images and the hazards of a real scrape."""),
    code("""
// Parameters: the runner (npm run nb) injects overrides right after this cell.
const manifestPath = "data/splits/embedded.json";        // the split from notebook 01: classes, and the images scraped ones must not duplicate
const search: string = "embedded";                        // "embedded" (local engine from held-back photos), "live" (the engines' own sites) or a base URL
const engines = ["bing", "duckduckgo"];                   // bing, duckduckgo, openverse, or "generic:<page URL with {query}>"
const queryTemplate = "{class} shirt doll";               // the seed's best suffix
const searchTerms: Record<string, string> = {};           // class folder -> search term, where the folder name is a poor query
const exclude = ["ben"];                                  // too ambiguous to search for (the seed left "ben" out)
const resultsPerClass = 20;                               // search results downloaded per class
const outDir = "data/scraped/embedded";                   // images/<class>/*.jpg, downloads.json, reject-list.txt
const expandedManifestPath = "data/splits/embedded-expanded.json";  // give it to notebooks 03-05 as manifestPath
const concurrency = 4;                                    // downloads in flight
const hostDelayMs = 1000;                                 // politeness: gap between two requests to one host
const timeoutMs = 15000;                                  // per attempt, whole response
const retries = 2;                                        // on 5xx, 429, timeouts, dropped connections
const maxMegabytes = 20;                                  // larger downloads are abandoned
const allowPrivateNetwork = false;                        // let result links reach private/loopback addresses
const retryFailed = false;                                // try again downloads that failed for a network reason
const minSide = 64;                                       // smaller images are rejected
const nearDuplicateBits = 30;                             // perceptual-hash distance (of 256 bits) that counts as the same picture
const reviewModelDir = "data/models/05";                  // classifier for the model-assisted review ("" = none)
const minConfidence = 0.3;                                // the model flags images it is less sure about (advice)
const minClassProbability = 0.02;                         // ... and calls implausible those it gives their searched class less than this
const rejectImplausible = false;                          // leave the implausible ones out of the merge
const galleryPerClass = 8;
const seed = 42;
""", tags=["parameters"]),
    code("""
import * as fs from "fs";
import * as path from "path";
import { selectBackend } from "./lib/backend";
import { classCounts, readManifest } from "./lib/data";
import { progress } from "./lib/progress";
import { showPlot } from "./lib/plot/plotly";
import { showTable } from "./lib/plot/table";
import { buildQueries, classRows, dedupeScraped, engineFromSpec, galleryGroups, hashReferenceImages, HttpClient, keptImages, mergeScraped, readRejectList, rejectionCounts, rejectionRows, scrapeImages, showGallery, startEmbeddedSearch, writeExpandedManifest, type EmbeddedSearch } from "./lib/scrape";
import { reviewWithModel } from "./lib/scrape/model-review";
import { loadClassifier } from "./lib/train/export";
"""),
    md("""## 1. Queries

One query per class. Folder names become readable terms (`winnie_the_pooh` → "winnie the pooh");
`searchTerms` overrides a poor one, `exclude` leaves out names a search engine cannot disambiguate."""),
    code("""
const manifest = readManifest(manifestPath);
const plan = buildQueries(manifest.classes, { template: queryTemplate, terms: searchTerms, exclude: exclude, limit: resultsPerClass });
for (const skipped of plan.excluded) console.log(`not searched: ${skipped.label} (${skipped.reason})`);
showTable(plan.queries.map((q) => ({ class: q.label, query: q.query, results: q.limit })), { maxRows: 10, caption: `${plan.queries.length} queries` });
"""),
    md("""## 2. The search engine and the HTTP client

Every request goes through one client: http/https only, robots.txt obeyed, at most one request per
`hostDelayMs` to a host, retries with exponential backoff, a size cap, and links to private or
loopback addresses refused. The embedded engine is our own server on this machine, so for it alone
loopback is allowed, and neither a delay nor a long backoff is needed."""),
    code("""
let embedded: EmbeddedSearch | undefined;
if (search === "embedded") {
  embedded = await startEmbeddedSearch({ datasetDir: manifest.root, classes: manifest.classes, terms: searchTerms, cacheDir: path.join(outDir, "embedded-engine"), seed: seed });
  const listed = embedded.catalogue.reduce((n, c) => n + c.items.length, 0);
  console.log(`embedded search engine at ${embedded.url}: ${listed} results over ${embedded.catalogue.length} classes (held-back photos, off-topic images, hazards)`);
}
const base = embedded ? embedded.url : search === "live" ? undefined : search;
const client = new HttpClient({
  network: embedded ? "allow-loopback" : allowPrivateNetwork ? "allow-private" : "public-only",
  hostDelayMs: embedded ? 0 : hostDelayMs,
  backoffMs: embedded ? 50 : 1000,
  timeoutMs: timeoutMs,
  retries: retries,
  maxBytes: maxMegabytes * 1e6,
});
const searchEngines = engines.map((spec) => engineFromSpec(spec, base));
console.log(`engines: ${searchEngines.map((e) => e.name).join(", ")}${base ? ` at ${base}` : ""}\\nUser-Agent: ${client.userAgent}`);
"""),
    md("""## 3. Search and download

Per class: each engine's results (recorded, so a rerun does not search again), merged by rank, the
first `resultsPerClass` downloaded. Every body is decoded completely before it is kept — an HTML
error page saved as `.jpg`, a truncated download, an empty file or a tiny thumbnail is rejected with
its reason — and kept images are normalised to upright sRGB JPEG in `images/<class>/`.
`downloads.json` maps every source URL to its file or its rejection."""),
    code("""
const run = await scrapeImages({ outDir: outDir, queries: plan.queries, engines: searchEngines, client: client, concurrency: concurrency, retryFailed: retryFailed, checks: { minSide: minSide } });
const sum = (pick: (c: (typeof run.classes)[number]) => number) => run.classes.reduce((n, c) => n + pick(c), 0);
console.log(`${sum((c) => c.results)} results, ${sum((c) => c.fetched)} fetched in this run, ${sum((c) => c.skipped)} recorded by an earlier run; ${sum((c) => c.saved)} images pass the checks`);
for (const c of run.classes) for (const error of c.searchErrors) console.warn(`warning: search for ${c.label} failed: ${error}`);
"""),
    md("""## 4. Duplicates

Byte-identical files are dropped, and so are near duplicates: the same picture re-encoded, resized or
re-exposed, found by a 256-bit perceptual hash. Each kept image is compared with every **test**,
**validation** and training image of the dataset — a scraped copy of a test image would leak its
answer into training, one of a validation image would make the validation score lie — and with the
scraped images kept before it."""),
    code("""
const hashing = progress("hashing the dataset's images", 0, "images");
const reference = await hashReferenceImages(manifest, { cacheFile: path.join(outDir, "reference-hashes.json"), excludeDir: outDir, onProgress: (done, total) => hashing.update(done, total) });
hashing.finish(`${reference.images.length} hashed, ${reference.unreadable.length} unreadable`);
const dedupe = dedupeScraped(run.store, reference.images, { maxDistance: nearDuplicateBits, classes: manifest.classes, root: manifest.root });
console.log(`${dedupe.kept.length} scraped images kept, ${dedupe.rejected.length} rejected as duplicates in this pass`);
"""),
    md("""## 5. Every rejection and its reason"""),
    code("""
showTable(rejectionCounts(run.store), { caption: "Rejections by kind", empty: "_Nothing rejected._" });
showTable(rejectionRows(run.store), { maxRows: 60, columns: ["class", "stage", "kind", "reason", "url"] });
"""),
    code("""
showTable(classRows(run.store, manifest.classes), { maxRows: 50, caption: "Per class: results, kept, rejected at download / check / dedupe" });
"""),
    md("""## 6. Review: a gallery per class

Look through it for images that do not show the class (search engines mix in other characters and
unrelated products). Add them to `reject-list.txt` in the scrape folder — one path or URL per line —
and run the notebook again: nothing is downloaded twice, the merge below leaves them out."""),
    code("""
const kept = keptImages(run.store, manifest.classes);
await showGallery(galleryGroups(kept, galleryPerClass), { thumb: 64 });
"""),
    md("""## 7. Model-assisted review (optional)

A classifier trained by notebook 05 scores every kept image and flags the ones it predicts as another
class or is unsure about. Those flags are advice for the reviewer: a model that is right 40 % of the
time disagrees with most good images too. An image whose searched class gets a probability under
`minClassProbability` is *implausible* — with the embedded default's model that catches most
off-topic images and few good ones — and `rejectImplausible = true` leaves those out of the merge."""),
    code("""
const implausible = new Map<string, string>();
if (reviewModelDir && fs.existsSync(path.join(reviewModelDir, "classifier.json"))) {
  await selectBackend();
  const classifier = await loadClassifier(reviewModelDir);
  const verdicts = await reviewWithModel(classifier, kept, { minConfidence: minConfidence, minClassProbability: minClassProbability });
  classifier.model.dispose();
  const suspicious = verdicts.filter((v) => v.flags.length > 0);
  for (const v of verdicts) if (v.implausible) implausible.set(v.image.file, `implausible for the model: ${v.flags.join(", ")}`);
  const agree = verdicts.filter((v) => v.predicted === v.image.label).length;
  console.log(`the model agrees with the query's class on ${agree} of ${verdicts.length} images; ${suspicious.length} flagged, ${implausible.size} implausible`);
  showTable(suspicious.map((v) => ({ class: v.image.label, predicted: v.predicted, confidence: v.confidence.toFixed(2), flags: v.flags.join("; "), file: v.image.relative })), { maxRows: 40 });
  await showGallery(suspicious.slice(0, 36).map((v) => ({ title: `${v.image.label} → ${v.predicted}`, files: [v.image.file] })), { thumb: 96, columns: 6 });
} else {
  console.log(`no trained classifier in ${reviewModelDir || "(none given)"}: model-assisted review skipped (notebook 05 saves one)`);
}
"""),
    md("""## 8. Merge into an expanded training set

A new manifest: the original training images plus the kept scraped ones, minus the reject list (and
the implausible ones with `rejectImplausible`); the **validation images are the same**, so validation
accuracy with and without the scraped images compares like with like. Train on it with its own
checkpoint folder (notebook 05 resumes from the one it finds):
`npm run nb -- notebooks/05-lr-schedule-training.ipynb -p manifestPath='"data/splits/embedded-expanded.json"' -p checkpointDir='"data/checkpoints/05-expanded"' -p modelDir='"data/models/05-expanded"'`."""),
    code("""
const rejectList = readRejectList(path.join(outDir, "reject-list.txt"));
const merge = mergeScraped(manifest, kept, { baseFile: manifestPath, rejectList: rejectList, leaveOut: rejectImplausible ? implausible : undefined });
writeExpandedManifest(expandedManifestPath, merge.manifest);
console.log(`${expandedManifestPath}: ${merge.manifest.train.length} training images (${manifest.train.length} original + ${merge.added} scraped), ${merge.manifest.valid.length} validation images (unchanged)`);
showTable(merge.left, { maxRows: 40, caption: "Scraped images left out", empty: "_No scraped image left out._" });
"""),
    code("""
const original = classCounts(manifest);
showPlot({
  data: [
    { type: "bar", name: "original", x: original.map((c) => c.label), y: original.map((c) => c.train) },
    { type: "bar", name: "scraped", x: original.map((c) => c.label), y: original.map((c) => merge.perClass[c.label] ?? 0) },
  ],
  layout: { title: { text: "Training images per class, with the scraped ones" }, barmode: "stack", height: 420, xaxis: { tickangle: -45 }, margin: { b: 140 } },
});
"""),
    code("""
client.close();
if (embedded) await embedded.close();
"""),
]

nb = new_notebook(cells=cells)
nb.metadata = {
    "kernelspec": {"display_name": "TypeScript (charid)", "language": "typescript", "name": "charid"},
    "language_info": {"file_extension": ".ts", "name": "typescript"},
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "notebooks", "02-scraping.ipynb")
# Stable cell ids, so rebuilding gives the same file.
for index, cell in enumerate(nb.cells):
    cell.id = hashlib.sha1(f"02-scraping:{index}".encode()).hexdigest()[:8]
with open(out, "w", encoding="utf-8") as f:
    json.dump(nb, f, indent=1, ensure_ascii=False, sort_keys=True)
    f.write("\n")
print(f"wrote {os.path.normpath(out)}")
