import { formatSeconds } from "../progress";

/** Per-cell progress lines on a terminal: `[3/12] cell 4 "const split = ..." 1.8s`. */
export interface Progress {
  cellStarted(position: number, total: number, index: number, firstLine: string): void;
  cellFinished(position: number, total: number, index: number, firstLine: string, seconds: number, failed: boolean): void;
  note(message: string): void;
}

export function cellLine(position: number, total: number, index: number, firstLine: string, suffix: string): string {
  return `[${position}/${total}] cell ${index} ${JSON.stringify(firstLine)} ${suffix}`;
}

export const silentProgress: Progress = { cellStarted() {}, cellFinished() {}, note() {} };

/** On a TTY the "running" line is rewritten in place when the cell finishes. */
export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  const live = stream.isTTY === true;
  return {
    cellStarted(position, total, index, firstLine) {
      if (live) stream.write(cellLine(position, total, index, firstLine, "..."));
    },
    cellFinished(position, total, index, firstLine, seconds, failed) {
      const line = cellLine(position, total, index, firstLine, formatSeconds(seconds) + (failed ? " FAILED" : ""));
      stream.write((live ? "\r\x1b[K" : "") + line + "\n");
    },
    note(message) {
      stream.write(message + "\n");
    },
  };
}
