import { transformSync } from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../io";

/**
 * plotly.js from node_modules/plotly.js-dist, minified (10 MB -> 5 MB) once per plotly version
 * and cached in node_modules/.cache/charid/. Nothing is fetched from a CDN.
 */
export function minifiedPlotlyJs(): string {
  const packageJson = require.resolve("plotly.js-dist/package.json");
  const { version } = JSON.parse(fs.readFileSync(packageJson, "utf8")) as { version: string };
  const nodeModules = path.dirname(path.dirname(packageJson));
  const cached = path.join(nodeModules, ".cache", "charid", `plotly-${version}.min.js`);
  if (fs.existsSync(cached)) return fs.readFileSync(cached, "utf8");

  const source = fs.readFileSync(path.join(path.dirname(packageJson), "plotly.js"), "utf8");
  const { code } = transformSync(source, { minify: true, legalComments: "eof" });
  writeFileAtomic(cached, code);
  return code;
}
