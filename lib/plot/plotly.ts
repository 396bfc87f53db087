import { randomUUID } from "node:crypto";
import { figureHtml, PlotFigure, plotlyLoaderHtml } from "./plotly-html";
import { minifiedPlotlyJs } from "./plotly-js";
import { display, newDisplay } from "../tslab";

export type { PlotFigure } from "./plotly-html";

export interface ShowPlotOptions {
  /**
   * Emit plotly.js again even though this kernel already did, e.g. after clearing the output that
   * carried it or reloading the page.
   */
  includePlotlyJs?: boolean;
}

/** Kept on globalThis so re-evaluating this module (a new import in a later cell) keeps the state. */
const LOADED = Symbol.for("charid.plot.plotlyJsEmitted");
type KernelGlobals = typeof globalThis & { [LOADED]?: boolean };

/**
 * The first plot of a kernel session emits plotly.js (about 5 MB, embedded so notebooks render
 * offline) as its own output; later plots only carry their figure.
 */
function ensurePlotlyJs(force = false): void {
  const globals = globalThis as KernelGlobals;
  if (globals[LOADED] && !force) return;
  display().html(plotlyLoaderHtml(minifiedPlotlyJs()));
  globals[LOADED] = true;
}

function newElementId(): string {
  return `charid-plot-${randomUUID()}`;
}

/** Shows a plotly figure inline (JupyterLab and classic Notebook; the saved notebook must be trusted). */
export function showPlot(figure: PlotFigure, opts: ShowPlotOptions = {}): void {
  ensurePlotlyJs(opts.includePlotlyJs);
  display().html(figureHtml(figure, newElementId()));
}

export interface LivePlot {
  /** Replaces the chart in its output with this figure (e.g. once per epoch). */
  update(figure: PlotFigure): void;
}

/**
 * One output that is redrawn on each update; the saved notebook keeps the last figure.
 * The output appears in the cell running the first update.
 */
export function plotDisplay(opts: ShowPlotOptions = {}): LivePlot {
  const output = newDisplay();
  let first = true;
  return {
    update(figure) {
      if (first) ensurePlotlyJs(opts.includePlotlyJs);
      first = false;
      output.html(figureHtml(figure, newElementId()));
    },
  };
}
