// Search adapters: each parses its realistic result-page fixture, and pages through the fake
// search site on 127.0.0.1 the way it would through the real engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { engineFromSpec, extractVqd, HttpClient, parseBingPage, parseDuckDuckGoJson, parseGenericPage, parseOpenverseJson, type FetchText } from "../lib/scrape";
import { makeReferenceDataset } from "./fixtures/scrape/dataset";
import { startFixtureSite, type FixtureSite } from "./fixtures/scrape/site";

const FIXTURES = path.join(__dirname, "fixtures", "scrape");
const ORIGIN = "http://127.0.0.1:9";
const page = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8").split("{{ORIGIN}}").join(ORIGIN);
const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-engines-"));
let site: FixtureSite;
let client: HttpClient;
let fetchText: FetchText;

test.before(async () => {
  const dataset = await makeReferenceDataset(path.join(work, "dataset"));
  site = await startFixtureSite({ testImage: dataset.testImage, validImage: dataset.validImage });
  client = new HttpClient({ network: "allow-loopback", hostDelayMs: 0, backoffMs: 5 });
  fetchText = async (url) => {
    const response = await client.get(url);
    if (response.ok === false) throw new Error(response.reason);
    return response.body.toString("utf8");
  };
});
test.after(async () => {
  client.close();
  await site.close();
  fs.rmSync(work, { recursive: true, force: true });
});

test("Bing: full-size URLs, pages and titles from the m attribute; a malformed one is skipped", () => {
  const results = parseBingPage(page("bing-search.html"), "https://www.bing.com/images/search?q=pikachu");
  assert.deepEqual(results.map((r) => r.imageUrl), ["good.jpg", "page.jpg", "truncated.jpg", "missing.jpg"].map((f) => `${ORIGIN}/img/${f}`));
  assert.equal(results[0].pageUrl, "https://www.pokemoncenter.example/product/701-04911/pikachu-tee");
  assert.equal(results[0].title, "Pikachu Graphic Tee – Pokémon Center");
  assert.match(results[0].thumbnailUrl ?? "", /^https:\/\/tse\d\.mm\.bing\.net\/th\/id\/OIP\.a1f3/);
  assert.deepEqual([results[0].width, results[0].height], [1200, 900]);
  assert.equal(results[1].title, 'Pikachu Plush Doll 8"');
  assert.deepEqual(parseBingPage(page("bing-empty.html"), ORIGIN), []);
});

test("DuckDuckGo: the vqd token from the search page, results and the next link from i.js", () => {
  assert.equal(extractVqd(page("duckduckgo-search.html")), "4-211418574871352207846254862127735118521");
  assert.equal(extractVqd("<html>no token</html>"), undefined);
  const first = parseDuckDuckGoJson(page("duckduckgo-i.json"), "https://duckduckgo.com/i.js?q=x");
  assert.deepEqual(first.results.map((r) => r.imageUrl), [`${ORIGIN}/img/good.png`, `${ORIGIN}/img/loop.jpg`]);
  assert.equal(first.results[0].pageUrl, "https://www.redbubble.example/shop/pikachu+shirt");
  assert.deepEqual([first.results[0].width, first.results[0].height], [1000, 1000]);
  assert.match(first.next ?? "", /^i\.js\?q=pikachu.*s=100/);
  assert.equal(parseDuckDuckGoJson(page("duckduckgo-i-2.json"), "https://duckduckgo.com/").next, undefined);
  assert.throws(() => parseDuckDuckGoJson("<html>blocked</html>", "https://duckduckgo.com/"), /did not answer JSON/);
});

test("Openverse: image URLs with their licence and creator; mature results are left out", () => {
  const { results, pageCount } = parseOpenverseJson(page("openverse.json"), "https://api.openverse.org/v1/images/");
  assert.equal(pageCount, 1);
  assert.deepEqual(results.map((r) => r.imageUrl.replace(ORIGIN, "")), ["/img/good.webp", "/img/near-test.jpg", "/img/near-valid.jpg", "/private/secret.jpg"]);
  assert.equal(results[0].license, "CC BY-SA 2.0, by Kanto_Trainer");
  assert.equal(results[0].pageUrl, "https://www.flickr.example/photos/kanto_trainer/4bc43a04");
});

test("generic page: image links, lazy and srcset images, relative to <base>; no logos, data: URIs or non-image links", () => {
  const results = parseGenericPage(page("generic.html"), "https://fancrafts.example/pikachu");
  assert.deepEqual(results.map((r) => r.imageUrl.replace(ORIGIN, "")), ["/img/redirect.jpg", "/img/tiny.png", "/img/lazy.jpg", "/img/large-srcset.jpg", "/img/good.jpg"]);
  assert.equal(results[0].title, "Hand-painted Pikachu shirt");
  assert.equal(results[0].thumbnailUrl, `${ORIGIN}/gallery/thumbs/redirect-300x225.jpg`);
});

test("engines page through the site: Bing's async pages, DuckDuckGo's vqd and next, Openverse's pages", async () => {
  const bing = await engineFromSpec("bing", site.origin).search("pikachu shirt doll", 50, fetchText);
  assert.deepEqual(bing.map((r) => path.basename(r.imageUrl)), ["good.jpg", "page.jpg", "truncated.jpg", "missing.jpg", "flaky.jpg", "slow.jpg"]);
  assert.equal(site.hits.get("/images/async"), 2, "page 2 from /images/async, then an empty page ends it");
  assert.equal((await engineFromSpec("bing", site.origin).search("pikachu shirt doll", 3, fetchText)).length, 3, "the limit");

  const ddg = await engineFromSpec("duckduckgo", site.origin).search("pikachu shirt doll", 50, fetchText);
  assert.deepEqual(ddg.map((r) => path.basename(r.imageUrl)), ["good.png", "loop.jpg", "huge.jpg", "copy-of-good.jpg"]);
  assert.equal(site.hits.get("/i.js"), 2);

  const openverse = await engineFromSpec("openverse", site.origin).search("pikachu shirt doll", 50, fetchText);
  assert.equal(openverse.length, 4);
  assert.equal(site.hits.get("/v1/images/"), 1, "page_count 1: no second page requested");

  const generic = await engineFromSpec("generic:/gallery?q={query}", site.origin).search("eevee shirt doll", 50, fetchText);
  assert.deepEqual(generic.map((r) => path.basename(r.imageUrl)), ["eevee.jpg", "good.jpg"]);
  assert.deepEqual(await engineFromSpec("bing", site.origin).search("qwxyz", 10, fetchText), []);
});

test("engine names: unknown ones and generic templates without {query} are refused", () => {
  assert.throws(() => engineFromSpec("altavista"), /unknown search engine "altavista"/);
  assert.throws(() => engineFromSpec("generic:https://example.org/search"), /no \{query\} placeholder/);
  assert.equal(engineFromSpec("bing").site, "https://www.bing.com");
  assert.equal(engineFromSpec("generic:https://example.org/s?q={query}").site, "https://example.org");
});
