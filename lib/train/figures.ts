// Plotly figures for training: pure functions of the history, shown by callbacks and notebooks.
import type { PlotFigure } from "../plot/plotly-html";
import type { EpochRecord } from "./callback";

/** Loss (left) and accuracy (right) per epoch, train and validation. */
export function curvesFigure(history: readonly EpochRecord[], title = "Training curves"): PlotFigure {
  const epochs = history.map((r) => r.epoch);
  const line = (name: string, y: (number | undefined)[], axis: 1 | 2, dash: "solid" | "dot") => ({
    type: "scatter" as const,
    mode: "lines+markers" as const,
    name,
    x: epochs,
    y: y.map((v) => (v === undefined ? null : v)),
    xaxis: axis === 1 ? "x" : "x2",
    yaxis: axis === 1 ? "y" : "y2",
    line: { dash, color: name.startsWith("train") ? "#1f77b4" : "#d62728" },
  });
  return {
    data: [
      line("train loss", history.map((r) => r.trainLoss), 1, "solid"),
      line("valid loss", history.map((r) => r.validLoss), 1, "solid"),
      line("train accuracy", history.map((r) => r.trainAccuracy), 2, "dot"),
      line("valid accuracy", history.map((r) => r.validAccuracy), 2, "dot"),
    ],
    layout: {
      title: { text: title },
      height: 360,
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: { title: { text: "epoch" }, dtick: 1 },
      xaxis2: { title: { text: "epoch" }, dtick: 1 },
      yaxis: { title: { text: "cross-entropy" } },
      yaxis2: { title: { text: "accuracy" }, range: [0, 1] },
    },
  };
}

/** counts[true][predicted] */
export function confusionMatrix(labels: ArrayLike<number>, predictions: ArrayLike<number>, numClasses: number): number[][] {
  const counts = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let i = 0; i < labels.length; i++) counts[labels[i]][predictions[i]]++;
  return counts;
}

/** Rows normalised to the share of each true class, so small classes read as clearly as big ones. */
export function confusionFigure(counts: number[][], classes: readonly string[], title = "Confusion matrix (share of each true class)"): PlotFigure {
  const shares = counts.map((row) => {
    const total = row.reduce((a, b) => a + b, 0);
    return row.map((c) => (total ? c / total : 0));
  });
  return {
    data: [
      {
        type: "heatmap",
        z: shares,
        x: [...classes],
        y: [...classes],
        text: counts.map((row) => row.map(String)) as unknown as string[],
        hovertemplate: "true %{y}<br>predicted %{x}<br>%{text} images (%{z:.0%})<extra></extra>",
        colorscale: "Blues",
        zmin: 0,
        zmax: 1,
      },
    ],
    layout: {
      title: { text: title },
      height: 260 + 16 * classes.length,
      xaxis: { title: { text: "predicted" }, tickangle: -60, automargin: true },
      yaxis: { title: { text: "true" }, autorange: "reversed", automargin: true },
    },
  };
}
