// Bing Images: the HTML result page. Each result is an anchor `a.iusc` whose `m` attribute holds
// JSON with the full-size image (`murl`), the page (`purl`), the thumbnail (`turl`) and the title
// (`t`). The first page is /images/search; further ones come from /images/async with `first`.
import * as cheerio from "cheerio";
import { absoluteHttpUrl, collectPages, stringOrUndefined, type ImageResult, type SearchEngine } from "./engine";

export const BING_BASE = "https://www.bing.com";
const PAGE_SIZE = 35;

export function parseBingPage(html: string, pageUrl: string): ImageResult[] {
  const $ = cheerio.load(html);
  const results: ImageResult[] = [];
  $("a.iusc[m]").each((_, anchor) => {
    let metadata: Record<string, unknown>;
    try {
      metadata = JSON.parse($(anchor).attr("m") ?? "");
    } catch {
      return; // a result whose metadata does not parse is skipped, not fatal
    }
    const imageUrl = absoluteHttpUrl(stringOrUndefined(metadata.murl), pageUrl);
    if (!imageUrl) return;
    const size = $(anchor).closest("li, .imgpt").find(".img_info .nowrap").first().text().match(/(\d+)\s*[x×]\s*(\d+)/);
    results.push({
      imageUrl,
      pageUrl: absoluteHttpUrl(stringOrUndefined(metadata.purl), pageUrl),
      thumbnailUrl: absoluteHttpUrl(stringOrUndefined(metadata.turl), pageUrl),
      title: stringOrUndefined(metadata.t) ?? stringOrUndefined(metadata.desc),
      width: size ? Number(size[1]) : undefined,
      height: size ? Number(size[2]) : undefined,
    });
  });
  return results;
}

export function bingEngine(base = BING_BASE): SearchEngine {
  return {
    name: "bing",
    site: base,
    search(query, limit, fetchText) {
      return collectPages(limit, 10, async (page, found) => {
        const q = encodeURIComponent(query);
        const url = page === 0 ? `${base}/images/search?q=${q}&form=HDRSC2&first=1` : `${base}/images/async?q=${q}&first=${found + 1}&count=${PAGE_SIZE}&mmasync=1`;
        return parseBingPage(await fetchText(url), url);
      });
    },
  };
}
