/**
 * Text renderings of metrics/params show and diff: an aligned plain table, a GitHub pipe table
 * (`--md`) and JSON (NaN and ±Infinity as the strings "NaN", "Infinity", "-Infinity"). Pure: returns strings; the command writes them through the Terminal.
 */
import type { DiffRow, Flat, Scalar } from './diff.js';
import { toJson } from './lenient-json.js';

export type Format = 'table' | 'md' | 'json';

/** One file's (or the params tree's) diff rows; `path` is '' for params. */
export interface DiffSection {
  readonly path: string;
  readonly rows: readonly DiffRow[];
}

/**
 * A number rounded to `precision` decimal digits (trailing zeros dropped; no rounding without a
 * precision); other values as is; '-' when missing.
 */
export function formatValue(v: Scalar | undefined, precision?: number): string {
  if (v === undefined) return '-';
  if (typeof v === 'number' && precision !== undefined) {
    if (!Number.isFinite(v) || Number.isInteger(v)) return String(v);
    return String(Number(v.toFixed(precision)));
  }
  return String(v);
}

/** Columns padded to their widest cell, two spaces apart, no trailing spaces. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd() + '\n').join('');
}

const mdCell = (s: string): string => s.replace(/\|/g, '\\|');

/** A GitHub-flavoured pipe table. */
export function renderMarkdown(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (r: readonly string[]) => `| ${r.map(mdCell).join(' | ')} |\n`;
  return line(header) + `|${header.map(() => '---').join('|')}|\n` + rows.map(line).join('');
}

const renderAs = (format: Exclude<Format, 'json'>, header: readonly string[], rows: readonly (readonly string[])[]): string =>
  rows.length === 0 ? '' : format === 'md' ? renderMarkdown(header, rows) : renderTable(header, rows);

/** `metrics show`: Path Metric Value, or `{path: {key: value}}`. */
export function renderShow(files: readonly { path: string; values: Flat }[], format: Format, precision = 5): string {
  if (format === 'json') {
    const doc: Record<string, Record<string, Scalar>> = {};
    for (const f of files) doc[f.path] = Object.fromEntries(f.values);
    return toJson(doc) + '\n';
  }
  const rows = files.flatMap((f) => [...f.values].map(([k, v]) => [f.path, k, formatValue(v, precision)]));
  return renderAs(format, ['Path', 'Metric', 'Value'], rows);
}

const jsonRow = (r: DiffRow): Record<string, Scalar | null> => ({
  old: r.old ?? null,
  new: r.new ?? null,
  ...(r.diff !== undefined ? { diff: r.diff } : {}),
});

/** `metrics diff`: Path Metric A B Change, or `{path: {key: {old, new, diff}}}`. */
export function renderMetricsDiff(sections: readonly DiffSection[], names: readonly [string, string], format: Format, precision: number): string {
  if (format === 'json') {
    const doc: Record<string, Record<string, unknown>> = {};
    for (const s of sections) {
      if (s.rows.length > 0) doc[s.path] = Object.fromEntries(s.rows.map((r) => [r.key, jsonRow(r)]));
    }
    return toJson(doc) + '\n';
  }
  const rows = sections.flatMap((s) =>
    s.rows.map((r) => [s.path, r.key, formatValue(r.old, precision), formatValue(r.new, precision), formatValue(r.diff, precision)]),
  );
  return renderAs(format, ['Path', 'Metric', names[0], names[1], 'Change'], rows);
}

/** `params diff`: Param A B (no Change column), or `{key: {old, new, diff}}`. */
export function renderParamsDiff(rows: readonly DiffRow[], names: readonly [string, string], format: Format, precision?: number): string {
  if (format === 'json') return toJson(Object.fromEntries(rows.map((r) => [r.key, jsonRow(r)]))) + '\n';
  return renderAs(
    format,
    ['Param', names[0], names[1]],
    rows.map((r) => [r.key, formatValue(r.old, precision), formatValue(r.new, precision)]),
  );
}
