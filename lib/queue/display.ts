// What the submitter shows while it waits: one line per job (state, worker, running cell) and an
// overall progress line. On a terminal the block is redrawn in place; otherwise a line is printed
// whenever something changes.
import { formatSeconds } from "../progress";

export type JobState = "waiting" | "delayed" | "active" | "completed" | "failed" | "missing";

export interface JobView {
  state: JobState;
  worker?: string;
  /** "cell 3/9" while a cell runs. */
  cell?: string;
  attempt?: number;
  /** The first line of the failure. */
  error?: string;
}

const WORDS: Record<JobState, string> = {
  waiting: "waiting",
  delayed: "retry soon",
  active: "running",
  completed: "done",
  failed: "FAILED",
  missing: "GONE",
};

export class SweepDisplay {
  private readonly views = new Map<string, JobView>();
  private readonly printed = new Map<string, string>();
  private drawnLines = 0;
  private lastOverall = "";
  private note = "";
  private lastNote = "";
  private readonly started = Date.now();

  constructor(
    private readonly title: string,
    private readonly jobs: readonly { id: string; label: string }[],
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean } = process.stderr,
  ) {}

  update(id: string, view: JobView): void {
    this.views.set(id, view);
  }

  /** A line about the connection (Redis unreachable) shown under the block until cleared with "". */
  setNote(note: string): void {
    this.note = note;
  }

  jobLine(job: { id: string; label: string }): string {
    const view = this.views.get(job.id) ?? { state: "waiting" };
    const parts = [`${job.id.slice(0, 11)}  ${job.label.padEnd(24)}  ${WORDS[view.state]}`];
    if (view.worker && view.state !== "waiting") parts.push(`on ${view.worker}`);
    if (view.state === "active" && view.cell) parts.push(view.cell);
    if (view.attempt && view.attempt > 1) parts.push(`attempt ${view.attempt}`);
    if (view.state === "failed" && view.error) parts.push(`— ${view.error}`);
    return parts.join("  ");
  }

  overallLine(): string {
    const count = (state: JobState) => this.jobs.filter((j) => (this.views.get(j.id)?.state ?? "waiting") === state).length;
    const finished = count("completed") + count("failed") + count("missing");
    const failed = count("failed") + count("missing");
    return (
      `${this.title}: ${finished}/${this.jobs.length} finished` +
      (failed ? ` (${failed} failed)` : "") +
      ` · ${count("active")} running · ${count("waiting") + count("delayed")} waiting · ${formatSeconds((Date.now() - this.started) / 1000)}`
    );
  }

  render(): void {
    if (this.stream.isTTY) return this.redraw();
    for (const job of this.jobs) {
      const line = this.jobLine(job);
      if (this.printed.get(job.id) !== line) {
        this.printed.set(job.id, line);
        this.stream.write(line + "\n");
      }
    }
    // The clock alone changing is no reason for a line.
    const overall = this.overallLine().replace(/ · [^·]+$/, "");
    if (overall !== this.lastOverall) this.stream.write(this.overallLine() + "\n");
    if (this.note !== this.lastNote && this.note) this.stream.write(this.note + "\n");
    this.lastOverall = overall;
    this.lastNote = this.note;
  }

  private redraw(): void {
    // A line wider than the terminal wraps and would throw off the count of lines to go back up.
    const width = (this.stream as { columns?: number }).columns ?? 200;
    const lines = [...this.jobs.map((job) => this.jobLine(job)), this.overallLine(), ...(this.note ? [this.note] : [])].map((line) => line.slice(0, width - 1));
    const up = this.drawnLines ? `\x1b[${this.drawnLines}F` : "";
    this.stream.write(up + lines.map((line) => `\x1b[2K${line}`).join("\n") + "\n" + (this.drawnLines > lines.length ? "\x1b[J" : ""));
    this.drawnLines = lines.length;
  }
}
