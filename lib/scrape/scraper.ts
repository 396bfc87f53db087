// Search every class, download every result, check it, keep the good ones as JPEGs in
// <outDir>/images/<class>/ and record everything in downloads.json (see store.ts).
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomicAsync } from "../io";
import { mapWithConcurrency } from "../pool";
import { progress, type Progress } from "../progress";
import { checkImage, type CheckOptions } from "./checks";
import type { ImageResult, SearchEngine } from "./engines/engine";
import type { HttpClient } from "./net/client";
import type { ClassQuery } from "./queries";
import { ScrapeStore, type DownloadRecord } from "./store";

export interface ScrapeOptions {
  outDir: string;
  queries: readonly ClassQuery[];
  engines: readonly SearchEngine[];
  client: HttpClient;
  /** Downloads in flight at once (per-host politeness still applies). */
  concurrency?: number;
  checks?: CheckOptions;
  /** Try again the URLs that failed for a network reason (timeout, 5xx, dropped connection). */
  retryFailed?: boolean;
  /** Search again instead of reusing the recorded results. */
  refreshSearches?: boolean;
  /** Size cap for result pages (images use the client's cap). */
  pageMaxBytes?: number;
  /** One progress line per class (default true). */
  showProgress?: boolean;
}

export interface ClassScrape {
  label: string;
  query: string;
  results: number;
  /** Results downloaded (or tried) in this run. */
  fetched: number;
  /** Results recorded by an earlier run, not fetched again. */
  skipped: number;
  saved: number;
  rejected: number;
  searchErrors: string[];
}

export interface ScrapeRun {
  store: ScrapeStore;
  classes: ClassScrape[];
}

interface Candidate {
  label: string;
  query: string;
  engine: string;
  rank: number;
  result: ImageResult;
}

const SCRATCH = ".partial";

function urlId(url: string): string {
  return createHash("sha1").update(url).digest("hex").slice(0, 16);
}

/** Engines' lists interleaved by rank (1st of each, then 2nd of each, ...), each URL once. */
function mergeRanked(lists: { engine: string; results: ImageResult[] }[], limit: number): { engine: string; result: ImageResult }[] {
  const merged: { engine: string; result: ImageResult }[] = [];
  const seen = new Set<string>();
  const longest = Math.max(0, ...lists.map((l) => l.results.length));
  for (let i = 0; i < longest && merged.length < limit; i++) {
    for (const list of lists) {
      const result = list.results[i];
      if (result && !seen.has(result.imageUrl) && merged.length < limit) {
        seen.add(result.imageUrl);
        merged.push({ engine: list.engine, result });
      }
    }
  }
  return merged;
}

export async function scrapeImages(options: ScrapeOptions): Promise<ScrapeRun> {
  const store = new ScrapeStore(options.outDir, options.client.userAgent);
  fs.rmSync(path.join(store.dir, SCRATCH), { recursive: true, force: true }); // left by a killed run
  const classes: ClassScrape[] = [];
  for (const query of options.queries) {
    classes.push(await scrapeClass(query, store, options));
    store.save();
  }
  fs.rmSync(path.join(store.dir, SCRATCH), { recursive: true, force: true });
  return { store, classes };
}

async function searchClass(query: ClassQuery, store: ScrapeStore, options: ScrapeOptions): Promise<{ lists: { engine: string; results: ImageResult[] }[]; errors: string[] }> {
  const fetchText = async (url: string): Promise<string> => {
    const response = await options.client.get(url, { maxBytes: options.pageMaxBytes ?? 5e6 });
    if (response.ok === false) throw new Error(`${url}: ${response.reason}`);
    return response.body.toString("utf8");
  };
  const lists: { engine: string; results: ImageResult[] }[] = [];
  const errors: string[] = [];
  for (const engine of options.engines) {
    let record = store.search(engine.name, engine.site, query.query);
    if (!record || record.error || options.refreshSearches) {
      record = { engine: engine.name, site: engine.site, query: query.query, label: query.label, at: new Date().toISOString(), results: [] };
      try {
        record.results = await engine.search(query.query, query.limit, fetchText);
      } catch (error) {
        record.error = (error as Error).message;
      }
      store.putSearch(record);
    }
    if (record.error) errors.push(`${engine.name}: ${record.error}`);
    lists.push({ engine: engine.name, results: record.results });
  }
  return { lists, errors };
}

function needsFetch(existing: DownloadRecord | undefined, store: ScrapeStore, retryFailed: boolean): boolean {
  if (!existing) return true;
  if (existing.status === "saved") return !fs.existsSync(store.filePath(existing));
  return Boolean(retryFailed && existing.rejection?.retryable);
}

async function scrapeClass(query: ClassQuery, store: ScrapeStore, options: ScrapeOptions): Promise<ClassScrape> {
  const { lists, errors } = await searchClass(query, store, options);
  const candidates: Candidate[] = mergeRanked(lists, query.limit).map((m, rank) => ({ label: query.label, query: query.query, engine: m.engine, rank, result: m.result }));
  const todo = candidates.filter((c) => needsFetch(store.download(c.label, c.result.imageUrl), store, options.retryFailed ?? false));
  const bar: Progress | undefined = options.showProgress === false ? undefined : progress(query.label, todo.length, "images");
  await mapWithConcurrency(todo, options.concurrency ?? 4, (candidate) => fetchCandidate(candidate, store, options), (done) => bar?.update(done));
  const records = candidates.map((c) => store.download(c.label, c.result.imageUrl)!);
  const summary: ClassScrape = {
    label: query.label,
    query: query.query,
    results: candidates.length,
    fetched: todo.length,
    skipped: candidates.length - todo.length,
    saved: records.filter((r) => r.status === "saved").length,
    rejected: records.filter((r) => r.status === "rejected").length,
    searchErrors: errors,
  };
  bar?.finish(`${summary.saved} kept, ${summary.rejected} rejected${summary.skipped ? `, ${summary.skipped} done before` : ""}${errors.length ? `, search failed: ${errors.join("; ")}` : ""}`);
  return summary;
}

async function fetchCandidate(candidate: Candidate, store: ScrapeStore, options: ScrapeOptions): Promise<void> {
  const { label, result } = candidate;
  const base: DownloadRecord = {
    label,
    url: result.imageUrl,
    engine: candidate.engine,
    query: candidate.query,
    rank: candidate.rank,
    pageUrl: result.pageUrl,
    title: result.title,
    license: result.license,
    status: "rejected",
    at: new Date().toISOString(),
  };
  const elsewhere = store.downloadOfUrl(result.imageUrl);
  if (elsewhere && elsewhere.label !== label) {
    const reason = `the same URL is a result for class ${elsewhere.label} too (kept there): an image cannot be both`;
    store.putDownload({ ...base, rejection: { stage: "dedupe", kind: "exact-duplicate", reason } });
    return;
  }
  const response = await options.client.get(result.imageUrl);
  if (response.ok === false) {
    store.putDownload({ ...base, rejection: { stage: "download", kind: response.kind, reason: response.reason, retryable: response.retryable } });
    return;
  }
  const id = urlId(result.imageUrl);
  const fetched = { ...base, finalUrl: response.finalUrl === result.imageUrl ? undefined : response.finalUrl, contentType: response.contentType, bytes: response.body.length };
  const check = await checkImage(response.body, path.join(store.dir, SCRATCH, `${id}.bin`), response.contentType, options.checks);
  if (check.ok === false) {
    store.putDownload({ ...fetched, rejection: { stage: "check", kind: check.kind, reason: check.reason } });
    return;
  }
  const file = `images/${label}/${id}.jpg`;
  fs.mkdirSync(path.join(store.dir, "images", label), { recursive: true });
  await writeFileAtomicAsync(path.join(store.dir, file), check.jpeg);
  store.putDownload({ ...fetched, status: "saved", file, width: check.width, height: check.height, sha256: check.sha256, phash: check.phash });
}
