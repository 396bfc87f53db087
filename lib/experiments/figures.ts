// Charts of experiment results: pure functions from results to plotly figures.
import type { Data } from "plotly.js-dist";
import type { PlotFigure } from "../plot/plotly-html";
import { summarizeByLabel } from "./results";
import { unfreezeLabel, type ExperimentResult } from "./train-once";

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

/** Validation accuracy per epoch, one colour per setting, one line per run (seed). */
export function validCurvesFigure(results: readonly ExperimentResult[], title = "Validation accuracy per epoch"): PlotFigure {
  const labels = [...new Set(results.map((r) => r.label))];
  const data: Data[] = results.map((r) => {
    const colour = PALETTE[labels.indexOf(r.label) % PALETTE.length];
    return {
      type: "scatter",
      mode: "lines+markers",
      name: `${r.label} (seed ${r.seed})`,
      legendgroup: r.label,
      x: r.history.map((h) => h.epoch),
      y: r.history.map((h) => h.validAccuracy ?? null),
      line: { color: colour, dash: r.seed === results.find((o) => o.label === r.label)!.seed ? "solid" : "dot" },
    };
  });
  return {
    data,
    layout: { title: { text: title }, height: 420, xaxis: { title: { text: "epoch" }, dtick: 1 }, yaxis: { title: { text: "validation accuracy" }, tickformat: ".0%" } },
  };
}

/** Mean best validation accuracy per setting, with the spread over seeds (min to max) as error bars. */
export function settingBarsFigure(results: readonly ExperimentResult[], title = "Best validation accuracy per setting (bar: mean; whiskers: min-max over seeds)"): PlotFigure {
  const summary = summarizeByLabel(results);
  const baseline = summary.find((s) => s.label === "none");
  return {
    data: [
      {
        type: "bar",
        x: summary.map((s) => s.label),
        y: summary.map((s) => s.mean),
        marker: { color: summary.map((s) => (s === baseline ? "#7f7f7f" : "#1f77b4")) },
        error_y: { type: "data", symmetric: false, array: summary.map((s) => s.max - s.mean), arrayminus: summary.map((s) => s.mean - s.min), visible: true },
        text: summary.map((s) => `${(100 * s.mean).toFixed(1)}% (n=${s.runs})`),
        hovertemplate: "%{x}: %{y:.2%}<extra></extra>",
      },
    ],
    layout: {
      title: { text: title },
      height: 420,
      yaxis: { title: { text: "best validation accuracy" }, tickformat: ".0%" },
      shapes: baseline
        ? [{ type: "line", xref: "paper", x0: 0, x1: 1, y0: baseline.mean, y1: baseline.mean, line: { dash: "dash", color: "#7f7f7f" } }]
        : [],
    },
  };
}

/**
 * The freeze sweep in one chart: best validation accuracy (left axis, lines) and wall time (right
 * axis, bars) against the number of unfrozen blocks, one series per initialisation.
 */
export function freezeSweepFigure(results: readonly ExperimentResult[], groupOf: (r: ExperimentResult) => string, title = "Unfreeze point: accuracy and wall time"): PlotFigure {
  const groups = [...new Set(results.map(groupOf))];
  const xLabel = (r: ExperimentResult) => unfreezeLabel(r.unfreeze);
  const order = [...new Set([...results].sort((a, b) => rank(a.unfreeze) - rank(b.unfreeze)).map(xLabel))];
  const data: Data[] = groups.flatMap((group, i) => {
    const runs = results.filter((r) => groupOf(r) === group);
    const mean = (label: string, value: (r: ExperimentResult) => number) => {
      const matching = runs.filter((r) => xLabel(r) === label);
      return matching.length ? matching.reduce((s, r) => s + value(r), 0) / matching.length : null;
    };
    const colour = PALETTE[i % PALETTE.length];
    return [
      { type: "scatter", mode: "lines+markers", name: `${group}: accuracy`, x: order, y: order.map((l) => mean(l, (r) => r.bestValidAccuracy)), line: { color: colour, width: 3 }, yaxis: "y" },
      { type: "bar", name: `${group}: wall time`, x: order, y: order.map((l) => mean(l, (r) => r.seconds)), marker: { color: colour, opacity: 0.3 }, yaxis: "y2" },
    ] as Data[];
  });
  return {
    data,
    layout: {
      title: { text: title },
      height: 440,
      barmode: "group",
      xaxis: { title: { text: "trainable blocks" }, categoryorder: "array", categoryarray: order },
      yaxis: { title: { text: "best validation accuracy" }, tickformat: ".0%", rangemode: "tozero" },
      yaxis2: { title: { text: "wall time (s)" }, overlaying: "y", side: "right", rangemode: "tozero", showgrid: false },
      legend: { orientation: "h", y: -0.25 },
    },
  };
}

function rank(unfreeze: number): number {
  return unfreeze === -1 ? Number.MAX_SAFE_INTEGER : unfreeze;
}
