// DuckDuckGo Images: a JSON endpoint (/i.js) that needs the `vqd` token the HTML search page
// embeds for the query. Each JSON page has `results` ({ image, thumbnail, url, title, width,
// height }) and, when there is more, a relative `next` link.
import { absoluteHttpUrl, jsonResult, parseJsonResults, stringOrUndefined, uniqueResults, type ImageResult, type SearchEngine } from "./engine";

export const DUCKDUCKGO_BASE = "https://duckduckgo.com";

/** The token from the search page: `vqd="4-1234…"`, `vqd='…'` or `vqd=4-1234&` in a URL. */
export function extractVqd(html: string): string | undefined {
  return html.match(/vqd\s*[=:]\s*["']?([\d-]{6,})["'&,]?/)?.[1];
}

export function parseDuckDuckGoJson(text: string, endpointUrl: string): { results: ImageResult[]; next?: string } {
  const { data, items } = parseJsonResults(text, "the image endpoint");
  const results = items.flatMap((item) => jsonResult(item, { image: "image", page: "url" }, endpointUrl) ?? []);
  return { results, next: stringOrUndefined(data.next) };
}

export function duckDuckGoEngine(base = DUCKDUCKGO_BASE): SearchEngine {
  return {
    name: "duckduckgo",
    site: base,
    async search(query, limit, fetchText) {
      const q = encodeURIComponent(query);
      const page = await fetchText(`${base}/?q=${q}&iax=images&ia=images`);
      const vqd = extractVqd(page);
      if (!vqd) throw new Error("no vqd token on the search page (the page format changed?)");
      let url: string | undefined = `${base}/i.js?l=us-en&o=json&q=${q}&vqd=${vqd}&f=,,,,,&p=1`;
      let results: ImageResult[] = [];
      for (let pages = 0; url && pages < 10 && results.length < limit; pages++) {
        const parsed = parseDuckDuckGoJson(await fetchText(url), url);
        const before = results.length;
        results = uniqueResults([...results, ...parsed.results]);
        if (results.length === before) break;
        url = parsed.next ? absoluteHttpUrl(`${parsed.next}${parsed.next.includes("vqd=") ? "" : `&vqd=${vqd}`}`, `${base}/`) : undefined;
      }
      return results.slice(0, limit);
    },
  };
}
