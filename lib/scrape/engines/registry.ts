import { bingEngine } from "./bing";
import { duckDuckGoEngine } from "./duckduckgo";
import type { SearchEngine } from "./engine";
import { genericEngine } from "./generic";
import { openverseEngine } from "./openverse";

export const ENGINE_NAMES = ["bing", "duckduckgo", "openverse", "generic:<page URL with {query}>"];

/**
 * An engine from its name: "bing", "duckduckgo", "openverse", or "generic:<URL with {query}>".
 * `base` (a mirror, a test server, the embedded server) replaces the engine's own site; a generic
 * template may then be a path ("generic:/gallery?q={query}").
 */
export function engineFromSpec(spec: string, base?: string): SearchEngine {
  const origin = base?.replace(/\/+$/, "");
  if (spec.startsWith("generic:")) {
    const template = spec.slice("generic:".length);
    return genericEngine(origin && template.startsWith("/") ? origin + template : template);
  }
  switch (spec) {
    case "bing": return bingEngine(origin);
    case "duckduckgo": return duckDuckGoEngine(origin);
    case "openverse": return openverseEngine(origin);
    default: throw new Error(`unknown search engine "${spec}": use one of ${ENGINE_NAMES.join(", ")}`);
  }
}
