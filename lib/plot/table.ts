import { display } from "../tslab";

export interface TableOptions<T> {
  /** Columns in order; default: every key that occurs in the rows. */
  columns?: (keyof T & string)[];
  maxRows?: number;
  caption?: string;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A plain HTML table (no scripts, so it renders in untrusted notebooks too). */
export function htmlTable<T extends object>(rows: readonly T[], options: TableOptions<T> = {}): string {
  const columns: string[] = options.columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const maxRows = options.maxRows ?? 200;
  const shown = rows.slice(0, maxRows);
  const cell = (row: T, column: string) => {
    const value = (row as Record<string, unknown>)[column];
    return value === null || value === undefined ? "" : escapeHtml(String(value));
  };
  const body = shown.map((row) => `<tr>${columns.map((c) => `<td style="text-align:left">${cell(row, c)}</td>`).join("")}</tr>`).join("\n");
  const more = rows.length > maxRows ? `<tr><td colspan="${columns.length}">… ${rows.length - maxRows} more rows</td></tr>` : "";
  const caption = options.caption ? `<caption style="text-align:left">${escapeHtml(options.caption)}</caption>` : "";
  return `<table>${caption}<thead><tr>${columns.map((c) => `<th style="text-align:left">${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>\n${body}${more}</tbody></table>`;
}

export function showTable<T extends object>(rows: readonly T[], options: TableOptions<T> & { empty?: string } = {}): void {
  if (rows.length === 0) {
    display().markdown(options.empty ?? "_(no rows)_");
    return;
  }
  display().html(htmlTable(rows, options));
}
