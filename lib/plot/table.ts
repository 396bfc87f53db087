import { display } from "../tslab";

export type Cell = string | number | boolean | null | undefined;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** A plain HTML table (no scripts, so it renders in untrusted notebooks too). */
export function htmlTable(rows: readonly Record<string, Cell>[], options: { columns?: string[]; maxRows?: number; caption?: string } = {}): string {
  const columns = options.columns ?? [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const maxRows = options.maxRows ?? 200;
  const shown = rows.slice(0, maxRows);
  const cell = (value: Cell) => (value === null || value === undefined ? "" : escapeHtml(String(value)));
  const body = shown.map((row) => `<tr>${columns.map((c) => `<td style="text-align:left">${cell(row[c])}</td>`).join("")}</tr>`).join("\n");
  const more = rows.length > maxRows ? `<tr><td colspan="${columns.length}">… ${rows.length - maxRows} more rows</td></tr>` : "";
  const caption = options.caption ? `<caption style="text-align:left">${escapeHtml(options.caption)}</caption>` : "";
  return `<table>${caption}<thead><tr>${columns.map((c) => `<th style="text-align:left">${escapeHtml(c)}</th>`).join("")}</tr></thead><tbody>\n${body}${more}</tbody></table>`;
}

export function showTable(rows: readonly Record<string, Cell>[], options: { columns?: string[]; maxRows?: number; caption?: string; empty?: string } = {}): void {
  if (rows.length === 0) {
    display().markdown(options.empty ?? "_(no rows)_");
    return;
  }
  display().html(htmlTable(rows, options));
}
