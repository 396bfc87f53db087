import type { Config, Data, Layout } from "plotly.js-dist";

/** A plotly figure, typed by plotly.js's own declarations (a misspelt trace property is a compile error). */
export interface PlotFigure {
  data: Data[];
  layout?: Partial<Layout>;
  config?: Partial<Config>;
}

const DEFAULT_CONFIG: Partial<Config> = { responsive: true, displaylogo: false };

/** How long a figure waits for plotly.js before saying it is missing. */
const WAIT_FOR_PLOTLY_MS = 30_000;

/**
 * JSON that is safe inside a <script> element: `<` is escaped so data can never close the
 * element, and typed arrays (tensor.dataSync()) become plain arrays instead of index objects.
 */
export function scriptJson(value: unknown): string {
  const json = JSON.stringify(value, (_key, v: unknown) =>
    ArrayBuffer.isView(v) && !(v instanceof DataView) ? Array.from(v as unknown as ArrayLike<number>) : v,
  );
  return json.replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/**
 * A <script> that evaluates plotly.js and leaves it on window.Plotly. Parameters named `define`,
 * `module` and `exports` hide Notebook's requirejs `define` (and any CommonJS globals) from the UMD
 * wrapper, which would otherwise register an AMD module instead of setting window.Plotly.
 */
export function plotlyLoaderHtml(plotlyJs: string): string {
  const code = plotlyJs.replace(/<\/script/gi, "<\\/script");
  return [
    `<script type="text/javascript">`,
    `if (!window.Plotly) {`,
    `(function (define, module, exports) {`,
    code,
    `}).call(window, undefined, undefined, undefined);`,
    `}`,
    `</script>`,
  ].join("\n");
}

/**
 * A <div> and a script that draws the figure into it once window.Plotly exists (the loader's
 * output may render after this one, and JupyterLab runs scripts before attaching the output).
 */
export function figureHtml(figure: PlotFigure, elementId: string): string {
  const spec = {
    data: figure.data,
    layout: figure.layout ?? {},
    config: { ...DEFAULT_CONFIG, ...figure.config },
  };
  return `<div id="${elementId}" class="charid-plot"></div>
<script type="text/javascript">
(function () {
  var spec = ${scriptJson(spec)};
  var started = Date.now();
  function draw() {
    var element = document.getElementById(${scriptJson(elementId)});
    if (element && window.Plotly) {
      window.Plotly.newPlot(element, spec.data, spec.layout, spec.config);
    } else if (Date.now() - started < ${WAIT_FOR_PLOTLY_MS}) {
      setTimeout(draw, 50);
    } else if (element) {
      element.textContent = "plotly.js is not loaded in this page: re-run with showPlot(figure, { includePlotlyJs: true }) or restart the kernel.";
    }
  }
  draw();
})();
</script>`;
}
