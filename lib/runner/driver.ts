import { spawn } from "node:child_process";
import * as path from "node:path";
import * as readline from "node:readline";
import { findPython } from "../jupyter/kernelspec";

/** What lib/runner/nbexec.py reports, one JSON object per stdout line. */
export type DriverEvent =
  | { event: "start"; codeCells: number }
  | { event: "cell_start"; index: number }
  | { event: "cell_done"; index: number; seconds: number }
  | { event: "cell_error"; index: number; seconds: number; text: string }
  | { event: "failed"; index: number | null; message: string }
  | { event: "kernel_retry"; attempt: number; message: string }
  | { event: "saved"; path: string; trusted?: boolean; trustError?: string };

export interface DriverOptions {
  input: string;
  output: string;
  kernel: string;
  /** Seconds per cell; null waits forever. */
  timeoutPerCell: number | null;
  startupTimeout: number;
  /** Sign the saved notebook for this user, like `jupyter trust`. */
  trust: boolean;
  /** The environment of the driver, which the kernel inherits. */
  env: NodeJS.ProcessEnv;
  cwd: string;
  onEvent: (event: DriverEvent) => void;
}

export interface DriverExit {
  code: number;
  /** The driver's own stderr (Jupyter's logs), for failures that happen outside any cell. */
  stderr: string;
}

/** Executes a notebook file with nbclient through lib/runner/nbexec.py. */
export function executeWithNbclient(opts: DriverOptions): Promise<DriverExit> {
  const args = JSON.stringify({
    input: opts.input,
    output: opts.output,
    kernel: opts.kernel,
    timeout: opts.timeoutPerCell,
    startupTimeout: opts.startupTimeout,
    trust: opts.trust,
    parentPid: process.pid,
  });
  const child = spawn(findPython(), [path.join(__dirname, "nbexec.py"), args], {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  readline.createInterface({ input: child.stdout }).on("line", (line) => {
    let event: DriverEvent;
    try {
      event = JSON.parse(line) as DriverEvent;
    } catch {
      stderr += line + "\n";
      return;
    }
    opts.onEvent(event);
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stderr }));
  });
}
