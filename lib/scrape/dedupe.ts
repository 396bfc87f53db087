// Duplicates among the saved images: byte-identical ones (same SHA-256), and near duplicates
// (perceptual hashes a few bits apart) of a test, validation or training image or of an
// already kept scraped image. A scraped near-copy of a test image would leak the answer into
// training; one of a validation image would make the validation score lie.
import * as fs from "node:fs";
import * as path from "node:path";
import { hashWords, wordsDistance } from "./hashes";
import type { ReferenceImage, ReferenceSet } from "./reference";
import type { DownloadRecord, ScrapeStore } from "./store";

export interface DedupeOptions {
  /** Largest Hamming distance (of 256 bits) still counted as the same picture. */
  maxDistance?: number;
  /** Class order: earlier classes keep an image found for two classes. */
  classes?: readonly string[];
  /** Folder the reference paths are shown relative to. */
  root?: string;
}

export interface DedupeResult {
  kept: DownloadRecord[];
  rejected: DownloadRecord[];
}

export const DEFAULT_MAX_DISTANCE = 30;

const SET_ORDER: ReferenceSet[] = ["test", "valid", "train"];

function nearest(words: Uint32Array, candidates: { words: Uint32Array }[]): { index: number; distance: number } {
  let best = { index: -1, distance: Infinity };
  candidates.forEach((c, index) => {
    const distance = wordsDistance(words, c.words);
    if (distance < best.distance) best = { index, distance };
  });
  return best;
}

/**
 * Checks every saved image, in a fixed order: images kept by an earlier run first, then class by
 * class in result rank order, so the same downloads always give the same verdicts. Rejected
 * files are deleted and their records say why.
 */
export function dedupeScraped(store: ScrapeStore, reference: readonly ReferenceImage[], options: DedupeOptions = {}): DedupeResult {
  const maxDistance = options.maxDistance ?? DEFAULT_MAX_DISTANCE;
  const classIndex = new Map((options.classes ?? []).map((label, i) => [label, i]));
  const order = (r: DownloadRecord) => [r.keptSince ? 0 : 1, classIndex.get(r.label) ?? Infinity, r.label, r.rank] as const;
  const saved = store
    .allDownloads()
    .filter((r) => r.status === "saved")
    .sort((a, b) => {
      const x = order(a);
      const y = order(b);
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
      return 0;
    });
  const bySet = new Map(SET_ORDER.map((set) => [set, reference.filter((r) => r.set === set).map((r) => ({ file: r.file, words: hashWords(r.phash) }))]));
  const shown = (file: string) => (options.root ? path.relative(options.root, file).split(path.sep).join("/") : file);
  const keptBySha = new Map<string, DownloadRecord>();
  const kept: (DownloadRecord & { words: Uint32Array })[] = [];
  const rejected: DownloadRecord[] = [];

  const reject = (record: DownloadRecord, kind: string, reason: string) => {
    fs.rmSync(store.filePath(record), { force: true });
    const updated: DownloadRecord = { ...record, status: "rejected", file: undefined, rejection: { stage: "dedupe", kind, reason } };
    store.putDownload(updated);
    rejected.push(updated);
  };

  for (const record of saved) {
    const twin = keptBySha.get(record.sha256 ?? "");
    if (twin) {
      reject(record, "exact-duplicate", `byte-identical to ${twin.file} (${twin.url})`);
      continue;
    }
    const words = hashWords(record.phash ?? "");
    let verdict: { kind: string; reason: string } | undefined;
    for (const set of SET_ORDER) {
      const match = nearest(words, bySet.get(set)!);
      if (match.distance <= maxDistance) {
        const what = set === "test" ? "test image" : `${set === "valid" ? "validation" : "training"} image`;
        verdict = { kind: `near-duplicate-${set}`, reason: `near duplicate of ${what} ${shown(bySet.get(set)![match.index].file)} (${match.distance} of 256 bits differ)` };
        break;
      }
    }
    if (!verdict) {
      const match = nearest(words, kept);
      if (match.distance <= maxDistance) {
        const twinRecord = kept[match.index];
        verdict = { kind: "near-duplicate-scraped", reason: `near duplicate of scraped ${twinRecord.file} (${match.distance} of 256 bits differ)` };
      }
    }
    if (verdict) {
      reject(record, verdict.kind, verdict.reason);
      continue;
    }
    const keeper = record.keptSince ? record : { ...record, keptSince: new Date().toISOString() };
    store.putDownload(keeper);
    if (keeper.sha256) keptBySha.set(keeper.sha256, keeper);
    kept.push({ ...keeper, words });
  }
  store.save();
  return { kept: kept.map(({ words: _words, ...record }) => record), rejected };
}
