// Openverse: the public JSON API of openly licensed images (/v1/images/?q=&page=&page_size=).
// Results carry the full-size `url`, the `foreign_landing_url` and the licence with its creator.
import { collectPages, jsonResult, numberOrUndefined, parseJsonResults, stringOrUndefined, type ImageResult, type SearchEngine } from "./engine";

export const OPENVERSE_BASE = "https://api.openverse.org";
const PAGE_SIZE = 20;

function licence(item: Record<string, unknown>): string | undefined {
  const name = stringOrUndefined(item.license);
  if (!name) return undefined;
  const version = stringOrUndefined(item.license_version);
  const creator = stringOrUndefined(item.creator);
  return `CC ${name.toUpperCase()}${version ? ` ${version}` : ""}${creator ? `, by ${creator}` : ""}`;
}

export function parseOpenverseJson(text: string, endpointUrl: string): { results: ImageResult[]; pageCount?: number } {
  const { data, items } = parseJsonResults(text, "the API");
  const results = items
    .filter((item) => item.mature !== true)
    .flatMap((item) => {
      const result = jsonResult(item, { image: "url", page: "foreign_landing_url" }, endpointUrl);
      return result ? [{ ...result, license: licence(item) }] : [];
    });
  return { results, pageCount: numberOrUndefined(data.page_count) };
}

export function openverseEngine(base = OPENVERSE_BASE): SearchEngine {
  return {
    name: "openverse",
    site: base,
    search(query, limit, fetchText) {
      let pageCount = Infinity;
      return collectPages(limit, 10, async (page) => {
        if (page >= pageCount) return [];
        const url = `${base}/v1/images/?q=${encodeURIComponent(query)}&page=${page + 1}&page_size=${PAGE_SIZE}`;
        const parsed = parseOpenverseJson(await fetchText(url), url);
        pageCount = parsed.pageCount ?? Infinity;
        return parsed.results;
      });
    },
  };
}
