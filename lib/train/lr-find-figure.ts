// The range test's chart: smoothed loss against rate on a log axis, the suggestions marked.
import type { Data } from "plotly.js-dist";
import type { PlotFigure } from "../plot/plotly-html";
import type { LrFindResult, LrSuggestions } from "./lr-find";

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];
const MARKERS = { valley: "circle", steep: "triangle-down", minimum: "square" } as const;

/** One curve per result (e.g. per parameter group); y is cut off where the loss has clearly diverged. */
export function lrFindFigure(results: readonly LrFindResult[], title = "Learning-rate range test"): PlotFigure {
  const data: Data[] = [];
  results.forEach((r, i) => {
    const colour = COLOURS[i % COLOURS.length];
    data.push({ type: "scatter", mode: "lines", name: `${r.group}: smoothed loss`, x: r.lrs, y: r.smoothed, line: { color: colour } });
    for (const [kind, lr] of Object.entries(r.suggestions) as [keyof LrSuggestions, number][]) {
      if (!Number.isFinite(lr)) continue;
      data.push({
        type: "scatter",
        mode: "markers",
        name: `${r.group}: ${kind} ${lr.toExponential(1)}`,
        x: [lr],
        y: [lossAt(r, lr)],
        marker: { color: colour, size: 11, symbol: MARKERS[kind] },
      });
    }
  });
  const finite = results.flatMap((r) => r.smoothed.filter(Number.isFinite));
  const low = Math.min(...finite);
  const high = Math.min(Math.max(...finite), Math.max(...results.map((r) => r.smoothed[0] ?? low)) * 1.5);
  return {
    data,
    layout: {
      title: { text: title },
      height: 380,
      xaxis: { title: { text: "learning rate" }, type: "log" },
      yaxis: { title: { text: "smoothed training loss" }, range: finite.length ? [low - 0.05 * (high - low), high] : undefined },
    },
  };
}

/** The smoothed loss at the recorded rate nearest `lr` (log scale). */
function lossAt(r: LrFindResult, lr: number): number {
  let best = 0;
  r.lrs.forEach((x, i) => (Math.abs(Math.log(x / lr)) < Math.abs(Math.log(r.lrs[best] / lr)) ? (best = i) : undefined));
  return r.smoothed[best];
}

/** Rows for a table: one per result, the three suggestions and why the test stopped. */
export function lrFindRows(results: readonly LrFindResult[]): Record<string, string>[] {
  return results.map((r) => ({
    group: r.group,
    steps: String(r.lrs.length),
    stopped: r.diverged ? `diverged at ${r.lrs[r.lrs.length - 1].toExponential(1)}` : "all steps",
    "valley (suggested)": r.suggestions.valley.toExponential(1),
    steep: r.suggestions.steep.toExponential(1),
    "minimum / 10": r.suggestions.minimum.toExponential(1),
    seconds: r.seconds.toFixed(1),
  }));
}
