// The scrape folder's memory, `downloads.json`: every search made and every result URL tried,
// with the file it was saved to or why it was rejected. A rerun skips what is recorded, so the
// scrape resumes where it stopped and a finished one downloads nothing again.
import * as fs from "node:fs";
import * as path from "node:path";
import { writeJsonAtomic } from "../io";
import type { ImageResult } from "./engines/engine";

export type RejectionStage = "download" | "check" | "dedupe";

export interface Rejection {
  stage: RejectionStage;
  /** Short, countable: "http-status", "timeout", "truncated", "near-duplicate-test", ... */
  kind: string;
  reason: string;
  /** A network failure that a later run with `retryFailed` tries again. */
  retryable?: boolean;
}

export interface DownloadRecord {
  label: string;
  /** Source URL, as the search result gave it. */
  url: string;
  engine: string;
  query: string;
  /** Position in the class's merged result list (0 = best). */
  rank: number;
  pageUrl?: string;
  title?: string;
  license?: string;
  status: "saved" | "rejected";
  /** The normalised JPEG, relative to the scrape folder. */
  file?: string;
  finalUrl?: string;
  contentType?: string;
  bytes?: number;
  width?: number;
  height?: number;
  /** SHA-256 of the bytes as served. */
  sha256?: string;
  /** Perceptual hash of the picture (hex). */
  phash?: string;
  rejection?: Rejection;
  /** When it first passed the duplicate checks: it keeps priority over later finds. */
  keptSince?: string;
  at: string;
}

export interface SearchRecord {
  engine: string;
  site: string;
  query: string;
  label: string;
  at: string;
  results: ImageResult[];
  error?: string;
}

interface LogFile {
  version: 1;
  userAgent: string;
  searches: SearchRecord[];
  downloads: DownloadRecord[];
}

export const LOG_FILE = "downloads.json";

const keyOf = (label: string, url: string) => `${label}\n${url}`;
const searchKey = (engine: string, site: string, query: string) => `${engine}\n${site}\n${query}`;

export class ScrapeStore {
  readonly dir: string;
  private readonly searches = new Map<string, SearchRecord>();
  private readonly downloads = new Map<string, DownloadRecord>();

  constructor(dir: string, private readonly userAgent = "") {
    this.dir = path.resolve(dir);
    const file = path.join(this.dir, LOG_FILE);
    if (!fs.existsSync(file)) return;
    let log: LogFile;
    try {
      log = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
      throw new Error(`${file} is not valid JSON (${(error as Error).message}): delete it to start the scrape over`);
    }
    for (const s of log.searches ?? []) this.searches.set(searchKey(s.engine, s.site, s.query), s);
    for (const d of log.downloads ?? []) this.downloads.set(keyOf(d.label, d.url), d);
  }

  search(engine: string, site: string, query: string): SearchRecord | undefined {
    return this.searches.get(searchKey(engine, site, query));
  }

  putSearch(record: SearchRecord): void {
    this.searches.set(searchKey(record.engine, record.site, record.query), record);
  }

  download(label: string, url: string): DownloadRecord | undefined {
    return this.downloads.get(keyOf(label, url));
  }

  /** The record of this URL under any class, e.g. to spot one image found for two classes. */
  downloadOfUrl(url: string): DownloadRecord | undefined {
    for (const record of this.downloads.values()) if (record.url === url) return record;
    return undefined;
  }

  putDownload(record: DownloadRecord): void {
    this.downloads.set(keyOf(record.label, record.url), record);
  }

  allDownloads(): DownloadRecord[] {
    return [...this.downloads.values()];
  }

  allSearches(): SearchRecord[] {
    return [...this.searches.values()];
  }

  /** Absolute path of a saved record's file. */
  filePath(record: DownloadRecord): string {
    if (!record.file) throw new Error(`${record.url} has no saved file`);
    return path.join(this.dir, record.file);
  }

  save(): void {
    const log: LogFile = {
      version: 1,
      userAgent: this.userAgent,
      searches: this.allSearches(),
      downloads: this.allDownloads().sort((a, b) => (a.label === b.label ? a.rank - b.rank : a.label < b.label ? -1 : 1)),
    };
    writeJsonAtomic(path.join(this.dir, LOG_FILE), log);
  }
}
