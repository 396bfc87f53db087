import * as cheerio from "cheerio";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { findPython, jupyterEnv } from "../../lib/jupyter/kernelspec";
import { freePort } from "./ports";

const CHROMIUM_CANDIDATES = ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

/** What a browser drew for a notebook's outputs. */
export interface RenderedPlots {
  /** Notebook's own indicator: "Trusted" or "Not Trusted". */
  trustIndicator: string;
  /** Plotly charts drawn as SVG inside output areas. */
  charts: number;
  /** Of those, charts with a bar trace. */
  barCharts: number;
  /** Bar rectangles (SVG paths) over all charts. */
  bars: number;
  /** The title text of each drawn chart, in page order. */
  titles: string[];
}

export function findChromium(): string | undefined {
  return CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
}

/** Why the browser check cannot run here, or undefined when it can. */
export function browserCheckUnavailable(): string | undefined {
  if (!findChromium()) return `no Chromium (looked for ${CHROMIUM_CANDIDATES.join(", ")})`;
  try {
    execFileSync(findPython(), ["-c", "from notebook.notebookapp import NotebookApp"], { stdio: "ignore" });
  } catch {
    return "no classic Jupyter Notebook server (python module notebook.notebookapp)";
  }
  return undefined;
}

/**
 * Serves the notebook with the classic Notebook server, loads it in headless Chromium and
 * reports the plotly charts drawn as SVG in its output areas. Server and browser are always
 * stopped before this returns.
 */
export async function checkNotebookRendersPlots(
  executedIpynb: string,
  opts: { screenshot?: string; virtualTimeMs?: number } = {},
): Promise<RenderedPlots> {
  const chromium = findChromium();
  if (!chromium) throw new Error(browserCheckUnavailable());
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "charid-browser-"));
  const notebookDir = path.join(work, "notebooks");
  fs.mkdirSync(notebookDir);
  const name = path.basename(executedIpynb);
  fs.copyFileSync(executedIpynb, path.join(notebookDir, name));

  const port = await freePort();
  const server = spawn(
    findPython(),
    [
      "-m", "notebook", "--no-browser", "--ip=127.0.0.1", `--port=${port}`,
      "--NotebookApp.token=", "--NotebookApp.password=", "--allow-root",
      `--notebook-dir=${notebookDir}`,
    ],
    { env: jupyterEnv(), stdio: ["ignore", "ignore", "pipe"], detached: true },
  );
  let serverLog = "";
  server.stderr?.setEncoding("utf8").on("data", (chunk: string) => (serverLog = (serverLog + chunk).slice(-10_000)));
  try {
    await waitForHttp(`http://127.0.0.1:${port}/api`, server, 30_000).catch((err: Error) => {
      throw new Error(`${err.message}\nNotebook server log:\n${serverLog}`);
    });
    const url = `http://127.0.0.1:${port}/notebooks/${encodeURIComponent(name)}`;
    const budget = `--virtual-time-budget=${opts.virtualTimeMs ?? 20_000}`;
    const profile = (tag: string) => `--user-data-dir=${path.join(work, `chromium-${tag}`)}`;
    const dom = await runChromium(chromium, [profile("dom"), budget, "--dump-dom", url]);
    if (opts.screenshot) {
      await runChromium(chromium, [profile("shot"), budget, "--window-size=1200,1600", `--screenshot=${opts.screenshot}`, url]);
    }
    return parseRenderedPlots(dom);
  } finally {
    await stopProcessGroup(server);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

export function parseRenderedPlots(dom: string): RenderedPlots {
  const $ = cheerio.load(dom);
  const drawn = $(".output_area .js-plotly-plot").filter((_, el) => $(el).find("svg.main-svg").length > 0);
  const withBars = drawn.filter((_, el) => $(el).find("g.trace.bars").length > 0);
  return {
    trustIndicator: $("#notification_trusted").text().trim(),
    charts: drawn.length,
    barCharts: withBars.length,
    bars: withBars.find("g.trace.bars g.point path").length,
    titles: drawn.map((_, el) => $(el).find(".gtitle").first().text()).get(),
  };
}

const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** Runs Chromium to completion (killing its whole process group afterwards) and returns stdout. */
async function runChromium(chromium: string, args: string[], timeoutMs = 120_000): Promise<string> {
  const child = spawn(chromium, [...CHROMIUM_FLAGS, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const stdout: Buffer[] = [];
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr = (stderr + chunk).slice(-5_000)));
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), timeoutMs);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`chromium exited with ${code}:\n${stderr}`);
    return Buffer.concat(stdout).toString("utf8");
  } finally {
    clearTimeout(timer);
    killGroup(child, "SIGKILL");
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group is already gone
  }
}

/** SIGTERM lets the Notebook server shut down the kernels it started (they run in their own sessions). */
async function stopProcessGroup(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child, "SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitForHttp(url: string, server: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`the Notebook server exited with ${server.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      http.get(url, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the Notebook server did not answer ${url} within ${timeoutMs} ms`);
}
