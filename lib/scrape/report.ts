// Tables for the notebook: what was kept and rejected per class, and every rejection with its reason.
import type { DownloadRecord, ScrapeStore } from "./store";

export interface RejectionRow {
  class: string;
  url: string;
  stage: string;
  kind: string;
  reason: string;
}

export function rejectionRows(store: ScrapeStore): RejectionRow[] {
  return store
    .allDownloads()
    .filter((r) => r.status === "rejected" && r.rejection)
    .sort((a, b) => (a.label === b.label ? a.rank - b.rank : a.label < b.label ? -1 : 1))
    .map((r) => ({ class: r.label, url: r.url, stage: r.rejection!.stage, kind: r.rejection!.kind, reason: r.rejection!.reason }));
}

/** Rejections counted by stage and kind, most frequent first, with one example reason each. */
export function rejectionCounts(store: ScrapeStore): { stage: string; kind: string; count: number; example: string }[] {
  const counts = new Map<string, { stage: string; kind: string; count: number; example: string }>();
  for (const row of rejectionRows(store)) {
    const key = `${row.stage}/${row.kind}`;
    const entry = counts.get(key) ?? { stage: row.stage, kind: row.kind, count: 0, example: row.reason };
    entry.count++;
    counts.set(key, entry);
  }
  return [...counts.values()].sort((a, b) => b.count - a.count || (a.kind < b.kind ? -1 : 1));
}

/** Per class: results found, images kept, rejections by stage. */
export function classRows(store: ScrapeStore, classes: readonly string[]): { class: string; results: number; kept: number; download: number; check: number; dedupe: number }[] {
  const byClass = new Map<string, DownloadRecord[]>();
  for (const record of store.allDownloads()) byClass.set(record.label, [...(byClass.get(record.label) ?? []), record]);
  return classes
    .filter((label) => byClass.has(label))
    .map((label) => {
      const records = byClass.get(label)!;
      const rejectedAt = (stage: string) => records.filter((r) => r.status === "rejected" && r.rejection?.stage === stage).length;
      return { class: label, results: records.length, kept: records.filter((r) => r.status === "saved").length, download: rejectedAt("download"), check: rejectedAt("check"), dedupe: rejectedAt("dedupe") };
    });
}
