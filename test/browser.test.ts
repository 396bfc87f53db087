import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { figureHtml, plotlyLoaderHtml, scriptJson } from "../lib/plot/plotly-html";
import { minifiedPlotlyJs } from "../lib/plot/plotly-js";
import { runNotebook } from "../lib/runner";
import { browserCheckUnavailable, checkNotebookRendersPlots } from "./helpers/browser";

const fixture = (name: string) => path.join(__dirname, "fixtures", name);

test("scriptJson cannot close the script element and turns typed arrays into arrays", () => {
  const json = scriptJson({ label: "</script><script>alert(1)</script>", y: new Float32Array([1.5, 2]) });
  assert.ok(!json.includes("</script"));
  assert.deepEqual(JSON.parse(json), { label: "</script><script>alert(1)</script>", y: [1.5, 2] });
});

test("figureHtml draws into its own div once window.Plotly exists, with default config", () => {
  const html = figureHtml({ data: [{ type: "bar", x: ["a"], y: [1] }], config: { displayModeBar: false } }, "plot-1");
  assert.match(html, /^<div id="plot-1" class="charid-plot"><\/div>/);
  const spec = JSON.parse(/var spec = (.*);/.exec(html)![1]) as { config: Record<string, unknown>; layout: object };
  assert.deepEqual(spec.config, { responsive: true, displaylogo: false, displayModeBar: false });
  assert.deepEqual(spec.layout, {});
  assert.match(html, /window\.Plotly\.newPlot\(element, spec\.data, spec\.layout, spec\.config\)/);
});

test("plotlyLoaderHtml hides requirejs' define from plotly.js and escapes </script", () => {
  const html = plotlyLoaderHtml('var s = "</script>"; window.Plotly = {};');
  assert.equal(html.match(/<\/script>/g)?.length, 1, "only the element's own closing tag");
  assert.match(html, /\(function \(define, module, exports\) \{/);
  assert.match(html, /\}\)\.call\(window, undefined, undefined, undefined\);/);
});

test("minified plotly.js is cached and much smaller than the 10 MB bundle", () => {
  const code = minifiedPlotlyJs();
  assert.ok(code.length > 1_000_000 && code.length < 7_000_000, `unexpected size ${code.length}`);
  assert.ok(code.includes("window.Plotly"));
  assert.equal(minifiedPlotlyJs(), code);
});

const unavailable = browserCheckUnavailable();

test(
  "an executed notebook draws its bar charts as SVG in classic Notebook (headless Chromium)",
  { skip: unavailable && `browser check skipped: ${unavailable}`, timeout: 240_000 },
  async () => {
    const runsRoot = fs.mkdtempSync(path.join(os.tmpdir(), "charid-runs-"));
    try {
      const run = await runNotebook({ notebook: fixture("bar-chart.ipynb"), runsRoot, quiet: true });
      assert.equal(run.trusted, true);
      const screenshot = process.env.CHARID_SCREENSHOT;
      const drawn = await checkNotebookRendersPlots(run.executedNotebook, screenshot ? { screenshot } : {});
      assert.equal(drawn.trustIndicator, "Trusted");
      assert.deepEqual(drawn.titles, ["Fixture bars", "Epoch 3"], "the live chart keeps only its last update");
      assert.equal(drawn.barCharts, 2);
      assert.equal(drawn.bars, 3 + 2);
    } finally {
      fs.rmSync(runsRoot, { recursive: true, force: true });
    }
  },
);
