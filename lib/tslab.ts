// The thin seam between lib code and the tslab kernel. tslab (and its TypeScript compiler) is
// loaded lazily, so command-line tools and tests that never display anything stay fast.
import type { Display } from "tslab";

interface TslabJupyter {
  lastWriteDisplayData?: unknown;
}

/** True when this code runs inside a tslab kernel that can show rich output. */
export function inKernel(): boolean {
  try {
    const jupyter = require("tslab/dist/jupyter") as TslabJupyter;
    return jupyter.lastWriteDisplayData != null;
  } catch {
    return false;
  }
}

function tslab(): typeof import("tslab") {
  return require("tslab") as typeof import("tslab");
}

/** The kernel's display; outside a kernel rich output has nowhere to go, so it is an error. */
export function display(): Display {
  if (!inKernel()) throw new Error("rich output needs a Jupyter kernel: run this from a notebook (TypeScript (charid) kernel)");
  return tslab().display;
}

/** A display entry that later calls overwrite in place (live progress, live charts). */
export function newDisplay(): Display {
  if (!inKernel()) throw new Error("live output needs a Jupyter kernel: run this from a notebook (TypeScript (charid) kernel)");
  return tslab().newDisplay();
}
