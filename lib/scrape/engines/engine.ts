// What every search adapter implements. Adding an engine is one file with a factory returning
// a SearchEngine, plus a line in registry.ts.

/** One image found by a search: `imageUrl` is the full-size image to download. */
export interface ImageResult {
  imageUrl: string;
  /** The page showing the image. */
  pageUrl?: string;
  thumbnailUrl?: string;
  title?: string;
  width?: number;
  height?: number;
  /** Licence and attribution, when the engine reports them. */
  license?: string;
}

/** Fetches a result page or endpoint as text; throws with a readable message on failure. */
export type FetchText = (url: string) => Promise<string>;

export interface SearchEngine {
  readonly name: string;
  /** The site searched (its origin); recorded searches are kept per engine and site. */
  readonly site: string;
  /** Up to `limit` results for the query, best first, fetching pages as needed. */
  search(query: string, limit: number, fetchText: FetchText): Promise<ImageResult[]>;
}

/** An absolute http(s) URL for a link found on a page, or undefined for anything else. */
export function absoluteHttpUrl(raw: string | undefined, base: string): string | undefined {
  if (!raw) return undefined;
  try {
    const url = new URL(raw.trim(), base);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps the first result for each image URL, in order. */
export function uniqueResults(results: readonly ImageResult[]): ImageResult[] {
  const seen = new Set<string>();
  return results.filter((r) => !seen.has(r.imageUrl) && seen.add(r.imageUrl));
}

/**
 * Page-by-page collection for engines with numbered pages: stops at the limit, at an empty page,
 * at a page that adds nothing new (some engines repeat their last page), or after `maxPages`.
 */
export async function collectPages(limit: number, maxPages: number, fetchPage: (page: number, found: number) => Promise<ImageResult[]>): Promise<ImageResult[]> {
  let results: ImageResult[] = [];
  for (let page = 0; page < maxPages && results.length < limit; page++) {
    const before = results.length;
    results = uniqueResults([...results, ...(await fetchPage(page, results.length))]);
    if (results.length === before) break;
  }
  return results.slice(0, limit);
}

export function numberOrUndefined(value: unknown): number | undefined {
  const n = Number(value);
  return value !== null && value !== undefined && value !== "" && Number.isFinite(n) ? n : undefined;
}

export function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

/** A JSON endpoint's answer as an object, with its list of result items. */
export function parseJsonResults(text: string, what: string): { data: Record<string, unknown>; items: Record<string, unknown>[] } {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${what} did not answer JSON (starts with ${JSON.stringify(text.slice(0, 60))})`);
  }
  const items = Array.isArray(data.results) ? (data.results as Record<string, unknown>[]) : [];
  return { data, items };
}

/** A result from a JSON item, given the names of its image and page fields; undefined without an image. */
export function jsonResult(item: Record<string, unknown>, fields: { image: string; page: string }, base: string): ImageResult | undefined {
  const imageUrl = absoluteHttpUrl(stringOrUndefined(item[fields.image]), base);
  if (!imageUrl) return undefined;
  return {
    imageUrl,
    pageUrl: absoluteHttpUrl(stringOrUndefined(item[fields.page]), base),
    thumbnailUrl: absoluteHttpUrl(stringOrUndefined(item.thumbnail), base),
    title: stringOrUndefined(item.title),
    width: numberOrUndefined(item.width),
    height: numberOrUndefined(item.height),
  };
}
