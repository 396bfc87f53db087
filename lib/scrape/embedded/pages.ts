// The embedded engine's answers, in the formats the adapters parse: Bing's HTML result page and
// its async page fragment, DuckDuckGo's search page (with the vqd token) and its i.js JSON,
// Openverse's JSON API, and a plain HTML gallery for the generic adapter.
import { escapeHtml } from "../../plot/table";
import type { CatalogueItem } from "./catalogue";

export interface PageContext {
  origin: string;
  query: string;
}

const thumb = (ctx: PageContext, item: CatalogueItem) => `${ctx.origin}/th?id=${encodeURIComponent(item.id)}&w=230`;
const shopPage = (ctx: PageContext, item: CatalogueItem) => `${ctx.origin}/shop/${encodeURIComponent(item.id)}`;
const imageUrl = (ctx: PageContext, item: CatalogueItem) => `${ctx.origin}${item.path}`;

function bingTile(ctx: PageContext, item: CatalogueItem, index: number): string {
  const m = { cid: item.id, purl: shopPage(ctx, item), murl: imageUrl(ctx, item), turl: thumb(ctx, item), md5: item.id, shkey: "", t: item.title, mid: item.id, desc: "" };
  const size = item.width && item.height ? `${item.width} x ${item.height} · jpeg` : "";
  return `<li data-idx="${index + 1}" class="iuscp"><div class="iuscp isv"><div class="imgpt">
<a class="iusc" style="height:180px;width:237px" m="${escapeHtml(JSON.stringify(m))}" mad="{&quot;turl&quot;:&quot;${escapeHtml(thumb(ctx, item))}&quot;}" href="/images/search?view=detailV2&amp;q=${encodeURIComponent(ctx.query)}&amp;id=${encodeURIComponent(item.id)}&amp;FORM=IRPRST"><div class="img_cont hoff"><img class="mimg" style="background-color:#7c6a5a" height="180" width="237" src="${escapeHtml(thumb(ctx, item))}" alt="Image result for ${escapeHtml(ctx.query)}"/></div></a>
<div class="img_info hon"><span class="nowrap">${size}</span><div class="lnkw"><a target="_blank" href="${escapeHtml(shopPage(ctx, item))}">${escapeHtml(new URL(ctx.origin).host)}</a></div></div></div></div></li>`;
}

export function bingAsyncPage(ctx: PageContext, items: readonly CatalogueItem[], offset: number): string {
  return `<ul class="dgControl_list">${items.map((item, i) => bingTile(ctx, item, offset + i)).join("\n")}</ul>`;
}

export function bingSearchPage(ctx: PageContext, items: readonly CatalogueItem[]): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"/><title>${escapeHtml(ctx.query)} - Search Images</title>
<script type="text/javascript">//<![CDATA[
_G={Region:"US",Lang:"en-US",ST:(typeof si_ST!=='undefined'?si_ST:new Date),Mkt:"en-US"};
//]]></script></head>
<body class="b_respl"><header id="b_header"><form action="/images/search" id="sb_form"><input id="sb_form_q" name="q" value="${escapeHtml(ctx.query)}"/></form></header>
<div id="mmComponent_images_1" class="dg_b isvctrl"><div class="dgControl"><ul class="dgControl_list">
${items.map((item, i) => bingTile(ctx, item, i)).join("\n")}
</ul></div></div><footer id="b_footer"><a href="/images/search?q=${encodeURIComponent(ctx.query)}&amp;first=36">See more images</a></footer></body></html>`;
}

export function duckDuckGoSearchPage(ctx: PageContext, vqd: string): string {
  return `<!DOCTYPE html><html lang="en-US"><head><meta charset="utf-8"><title>${escapeHtml(ctx.query)} at DuckDuckGo</title></head>
<body><div id="react-layout"></div><script type="text/javascript">
DDG.ready(function () {DDG.duckbar.future_signal_tab({signal:'medium',from:'images'});});
DDG.deep.initialize('/d.js?q=${encodeURIComponent(ctx.query)}&l=us-en&s=0&dl=en&ct=US&vqd=${vqd}&p_ent=&ex=-1&sp=0');
</script><script type="text/javascript">vqd="${vqd}";</script></body></html>`;
}

export function duckDuckGoJson(ctx: PageContext, items: readonly CatalogueItem[], offset: number, pageSize: number, vqd: string): string {
  const page = items.slice(offset, offset + pageSize);
  const more = offset + pageSize < items.length;
  const q = encodeURIComponent(ctx.query);
  return JSON.stringify({
    ads: null,
    next: more ? `i.js?q=${q}&o=json&p=1&s=${offset + pageSize}&u=bing&f=,,,&l=us-en` : undefined,
    query: ctx.query,
    queryEncoded: q,
    response_type: "images",
    results: page.map((item) => ({
      height: item.height ?? 0,
      image: imageUrl(ctx, item),
      image_token: item.id,
      source: "Bing",
      thumbnail: thumb(ctx, item),
      thumbnail_token: item.id,
      title: item.title,
      url: shopPage(ctx, item),
      width: item.width ?? 0,
    })),
    vqd: { [q]: vqd },
  });
}

export function openverseJson(ctx: PageContext, items: readonly CatalogueItem[], page: number, pageSize: number): string {
  const slice = items.slice((page - 1) * pageSize, page * pageSize);
  return JSON.stringify({
    result_count: items.length,
    page_count: Math.max(1, Math.ceil(items.length / pageSize)),
    page_size: pageSize,
    page,
    results: slice.map((item) => ({
      id: item.id,
      title: item.title,
      indexed_on: "2024-05-01T00:00:00Z",
      foreign_landing_url: shopPage(ctx, item),
      url: imageUrl(ctx, item),
      creator: "charid generator",
      creator_url: null,
      license: "by",
      license_version: "4.0",
      license_url: "https://creativecommons.org/licenses/by/4.0/",
      provider: "charid",
      source: "charid",
      category: "photograph",
      filesize: null,
      filetype: "jpg",
      tags: ctx.query.split(/\s+/).map((name) => ({ accuracy: null, name })),
      attribution: `"${item.title}" by charid generator is licensed under CC BY 4.0.`,
      fields_matched: ["title"],
      mature: false,
      height: item.height ?? null,
      width: item.width ?? null,
      thumbnail: thumb(ctx, item),
      detail_url: `${ctx.origin}/v1/images/${encodeURIComponent(item.id)}/`,
      related_url: `${ctx.origin}/v1/images/${encodeURIComponent(item.id)}/related/`,
      unstable__sensitivity: [],
    })),
    warnings: [],
  });
}

export function galleryPage(ctx: PageContext, items: readonly CatalogueItem[]): string {
  const figures = items
    .map((item) => `<figure class="card"><a href="${escapeHtml(imageUrl(ctx, item))}" title="${escapeHtml(item.title)}"><img loading="lazy" src="${escapeHtml(thumb(ctx, item))}" alt="${escapeHtml(item.title)}"></a><figcaption>${escapeHtml(item.title)}</figcaption></figure>`)
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(ctx.query)} – gallery</title></head>
<body><nav><a href="/"><img src="/static/logo.png" alt="Shop logo" width="32" height="32"></a> <a href="/about">About</a></nav>
<main><h1>${escapeHtml(ctx.query)}</h1><div class="grid">
${figures}
</div></main></body></html>`;
}
