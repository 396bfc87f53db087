import { inKernel, newDisplay } from "./tslab";

export interface Progress {
  /** Reports `done` of the total; cheap to call on every item (output is throttled). */
  update(done: number, total?: number): void;
  /** Prints the final line with the elapsed time. */
  finish(note?: string): void;
}

/**
 * One progress line for long work: a single output that updates in place in a notebook, a
 * carriage-return line on a terminal. Shows count, percentage, rate and ETA.
 */
export function progress(label: string, total = 0, unit = "items"): Progress {
  const started = Date.now();
  const live = inKernel() ? newDisplay() : undefined;
  let lastShown = 0;
  let count = 0;
  const line = (done: number): string => {
    const seconds = (Date.now() - started) / 1000;
    const rate = seconds > 0 ? done / seconds : 0;
    const part = total > 0 ? `${done}/${total} (${Math.floor((100 * done) / total)}%)` : `${done}`;
    const eta = total > 0 && rate > 0 && done < total ? `, ETA ${formatSeconds((total - done) / rate)}` : "";
    return `${label}: ${part} ${unit}, ${rate.toFixed(1)} ${unit}/s${eta}`;
  };
  // In a log (no TTY) a line every 10 % or 10 s; elsewhere the one line is redrawn.
  const inLog = !live && !process.stderr.isTTY;
  let lastTenth = 0;
  const show = (text: string, final: boolean): void => {
    if (live) live.text(text);
    else if (inLog) process.stderr.write(`${text}\n`);
    else process.stderr.write(`\r${text}${final ? "\n" : ""}`);
  };
  return {
    update(done, newTotal) {
      count = done;
      if (newTotal !== undefined) total = newTotal;
      const now = Date.now();
      const tenth = total > 0 ? Math.floor((10 * done) / total) : 0;
      const due = inLog ? tenth > lastTenth || now - lastShown >= 10_000 : now - lastShown >= 200 || done === total;
      if (!due || (inLog && done === total)) return;
      lastShown = now;
      lastTenth = tenth;
      show(line(done), false);
    },
    finish(note) {
      const elapsed = formatSeconds((Date.now() - started) / 1000);
      show(`${label}: ${count}${total ? `/${total}` : ""} ${unit} in ${elapsed}${note ? ` (${note})` : ""}`, true);
    },
  };
}

export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}
