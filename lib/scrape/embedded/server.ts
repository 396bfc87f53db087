// The embedded default's search engine: an HTTP server on 127.0.0.1, started by notebook 02
// itself, answering image searches in every format the adapters parse, from a catalogue built
// out of the generator's held-back photos plus off-topic images and typical hazards.
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import sharp from "sharp";
import { hashSeed } from "../../random";
import { buildCatalogue, heldBackFolder, type CatalogueClass, type CatalogueItem } from "./catalogue";
import { irrelevantImages } from "./irrelevant";
import { bingAsyncPage, bingSearchPage, duckDuckGoJson, duckDuckGoSearchPage, galleryPage, openverseJson, type PageContext } from "./pages";

export interface EmbeddedSearchOptions {
  /** The generated dataset with held_back/ (and test/ + test_answers.csv for the near-copy hazard). */
  datasetDir: string;
  classes: readonly string[];
  /** The same search terms the queries use, so the engine recognises them. */
  terms?: Record<string, string>;
  /** Where the off-topic images are generated (once). */
  cacheDir: string;
  irrelevantPerClass?: number;
  seed?: number;
  /**
   * Port on 127.0.0.1. The result URLs contain it, so a fixed one lets a rerun recognise what it
   * downloaded before; when it is taken, any free port is used (and the rerun downloads again).
   * 0: any free port.
   */
  port?: number;
}

export const EMBEDDED_SEARCH_PORT = 47042;

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off("listening", onListening);
      reject(error);
    };
    const onListening = () => {
      server.off("error", onError);
      resolve();
    };
    server.once("error", onError);
    server.once("listening", onListening);
    server.listen(port, "127.0.0.1");
  });
}

export interface EmbeddedSearch {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  catalogue: CatalogueClass[];
  /** Requests answered so far, by path prefix. */
  requests: Record<string, number>;
  close(): Promise<void>;
}

const ROBOTS = "# The embedded search engine of charid\nUser-agent: *\nDisallow: /private/\nDisallow: /shop/\n";

/** The class whose search term the query contains (the longest such term). */
function classFor(catalogue: CatalogueClass[], query: string): CatalogueClass | undefined {
  const q = ` ${query.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim()} `;
  return catalogue.filter((c) => q.includes(` ${c.term.toLowerCase().replace(/[^a-z0-9]+/g, " ").trim()} `)).sort((a, b) => b.term.length - a.term.length)[0];
}

const vqdFor = (query: string) => `4-${hashSeed("vqd", query.toLowerCase())}${hashSeed("vqd2", query)}`;

export async function startEmbeddedSearch(options: EmbeddedSearchOptions): Promise<EmbeddedSearch> {
  heldBackFolder(options.datasetDir); // fail before generating anything
  const seed = options.seed ?? 42;
  const perClass = options.irrelevantPerClass ?? 2;
  const irrelevant = await irrelevantImages(path.join(options.cacheDir, "irrelevant"), perClass * options.classes.length, seed);
  const catalogue = await buildCatalogue({ datasetDir: options.datasetDir, classes: options.classes, terms: options.terms, irrelevant, irrelevantPerClass: perClass, seed });
  const byPath = new Map<string, CatalogueItem>(catalogue.flatMap((c) => [...c.items, ...c.hidden]).map((item) => [item.path, item]));
  const byId = new Map<string, CatalogueItem>(catalogue.flatMap((c) => c.items).map((item) => [item.id, item]));
  const flakyFailures = new Map<string, number>();
  const requests: Record<string, number> = {};

  const server = http.createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const prefix = url.pathname.split("/").slice(0, 2).join("/") || "/";
    requests[prefix] = (requests[prefix] ?? 0) + 1;
    const origin = `http://${request.headers.host}`;
    const send = (status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}) => {
      response.writeHead(status, { "Content-Type": type, "Content-Length": Buffer.byteLength(body), ...headers });
      response.end(body);
    };
    const query = url.searchParams.get("q") ?? "";
    const ctx: PageContext = { origin, query };
    const results = () => classFor(catalogue, query)?.items ?? [];
    const number = (name: string, fallback: number) => Math.max(0, Number(url.searchParams.get(name)) || fallback);
    void (async () => {
      switch (url.pathname) {
        case "/robots.txt": return send(200, "text/plain", ROBOTS);
        case "/images/search": return send(200, "text/html; charset=utf-8", bingSearchPage(ctx, results().slice(0, 35)));
        case "/images/async": {
          const first = number("first", 1);
          return send(200, "text/html; charset=utf-8", bingAsyncPage(ctx, results().slice(first - 1, first - 1 + number("count", 35)), first - 1));
        }
        case "/": return query ? send(200, "text/html; charset=utf-8", duckDuckGoSearchPage(ctx, vqdFor(query))) : send(200, "text/html", "<!doctype html><title>charid embedded search</title>");
        case "/i.js":
          if (url.searchParams.get("vqd") !== vqdFor(query)) return send(403, "application/json", '{"error":"invalid vqd"}');
          return send(200, "application/json", duckDuckGoJson(ctx, results(), number("s", 0), 100, vqdFor(query)));
        case "/v1/images/": return send(200, "application/json", openverseJson(ctx, results(), Math.max(1, number("page", 1)), Math.min(500, number("page_size", 20) || 20)));
        case "/gallery": return send(200, "text/html; charset=utf-8", galleryPage(ctx, results()));
        case "/static/logo.png": return send(200, "image/png", await sharp({ create: { width: 32, height: 32, channels: 3, background: "#3366cc" } }).png().toBuffer());
        case "/th": {
          const item = byId.get(url.searchParams.get("id") ?? "");
          if (!item || item.served.kind !== "file") return send(404, "text/plain", "no thumbnail");
          return send(200, "image/jpeg", await sharp(item.served.file).resize({ width: number("w", 230) }).jpeg().toBuffer());
        }
      }
      const item = byPath.get(url.pathname);
      if (!item) return send(404, "text/html", "<!doctype html><h1>404 Not Found</h1>");
      const served = item.served;
      switch (served.kind) {
        case "file": return send(200, served.contentType, fs.readFileSync(served.file));
        case "render": return send(200, served.contentType, await served.render());
        case "status": return send(served.status, "text/html", `<!doctype html><h1>${served.status}</h1>`);
        case "redirect": return send(302, "text/html", "", { Location: served.to });
        case "flaky": {
          const failed = flakyFailures.get(item.path) ?? 0;
          if (failed < served.failures) {
            flakyFailures.set(item.path, failed + 1);
            return send(503, "text/html", "<!doctype html><h1>503 Service Unavailable</h1>", { "Retry-After": "0" });
          }
          return send(200, "image/jpeg", fs.readFileSync(served.file));
        }
      }
    })().catch((error: Error) => send(500, "text/plain", error.message));
  });
  const port = options.port ?? EMBEDDED_SEARCH_PORT;
  try {
    await listen(server, port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || port === 0) throw error;
    console.warn(`warning: port ${port} is taken; the embedded search uses another one, so its result URLs differ from an earlier run's`);
    await listen(server, 0);
  }
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    catalogue,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
