// Any HTML page: image links (`<a href="….jpg">`, usually the full size) and images not wrapped
// in such a link (`src`, lazy-loading `data-src`, the largest `srcset` candidate). Images in the
// page's header, navigation and footer are logos and badges, not content, and are left out.
import * as cheerio from "cheerio";
import { absoluteHttpUrl, uniqueResults, type ImageResult, type SearchEngine } from "./engine";

const IMAGE_PATH = /\.(jpe?g|png|webp|gif|avif|bmp|tiff?)(?:[?#]|$)/i;

/** The URL of the widest candidate of a srcset ("a.jpg 320w, b.jpg 1024w"). */
function largestSrcset(srcset: string | undefined): string | undefined {
  if (!srcset) return undefined;
  const candidates = srcset
    .split(/,\s+/)
    .map((part) => part.trim().split(/\s+/))
    .filter((bits) => bits[0])
    .map(([url, size]) => ({ url, size: parseFloat(size ?? "1") || 1 }));
  return candidates.sort((a, b) => b.size - a.size)[0]?.url;
}

export function parseGenericPage(html: string, pageUrl: string): ImageResult[] {
  const $ = cheerio.load(html);
  const base = absoluteHttpUrl($("base[href]").attr("href"), pageUrl) ?? pageUrl;
  const results: ImageResult[] = [];
  $("a[href], img").each((_, element) => {
    const node = $(element);
    if (element.tagName === "a") {
      const href = absoluteHttpUrl(node.attr("href"), base);
      if (!href || !IMAGE_PATH.test(new URL(href).pathname)) return;
      const img = node.find("img").first();
      results.push({ imageUrl: href, pageUrl, thumbnailUrl: absoluteHttpUrl(img.attr("src"), base), title: node.attr("title") ?? img.attr("alt") ?? (node.text().trim() || undefined) });
      return;
    }
    if (node.closest("header, nav, footer").length) return;
    const link = node.closest("a[href]");
    if (link.length && IMAGE_PATH.test(link.attr("href") ?? "")) return; // the link is the full size
    const src = largestSrcset(node.attr("srcset")) ?? node.attr("data-src") ?? node.attr("data-original") ?? node.attr("src");
    const imageUrl = absoluteHttpUrl(src, base);
    if (!imageUrl) return;
    results.push({ imageUrl, pageUrl, title: node.attr("alt") || node.attr("title") || undefined, width: Number(node.attr("width")) || undefined, height: Number(node.attr("height")) || undefined });
  });
  return uniqueResults(results);
}

/** A page per query: `urlTemplate` holds `{query}` (URL-encoded into it). */
export function genericEngine(urlTemplate: string): SearchEngine {
  if (!urlTemplate.includes("{query}")) throw new Error(`generic search URL "${urlTemplate}" has no {query} placeholder`);
  return {
    name: "generic",
    site: new URL(urlTemplate.split("{query}").join("x")).origin,
    async search(query, limit, fetchText) {
      const url = urlTemplate.split("{query}").join(encodeURIComponent(query));
      return parseGenericPage(await fetchText(url), url).slice(0, limit);
    },
  };
}
