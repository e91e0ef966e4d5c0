/**
 * The `exp show` table, built from rows of already-read values: which params columns to show (the
 * ones that differ between rows, or all), metric columns, sorting, and cell text. Pure: reading
 * git and files is the command's job, rendering text is metrics/render.ts's.
 */
import type { Flat, Scalar } from '../metrics/diff.js';
import { formatValue } from '../metrics/render.js';
import { formatDuration } from '../report/terminal.js';
import { type Result, ok, err } from '../util/result.js';

export interface ExpRow {
  /** Experiment name, or `workspace` / the HEAD branch for the baseline rows. */
  readonly name: string;
  /** The baseline rows stay on top, unsorted. */
  readonly baseline: boolean;
  readonly base: string | undefined;
  readonly created: string | undefined;
  readonly status: string | undefined;
  readonly durationS: number | undefined;
  readonly cpuS: number | undefined;
  readonly params: Flat | undefined;
  /** metrics file -> flattened values. */
  readonly metrics: ReadonlyMap<string, Flat>;
}

export interface TableOptions {
  readonly all: boolean;
  readonly sortBy: string | undefined;
  readonly sortOrder: 'asc' | 'desc';
  readonly precision: number;
}

export interface Column {
  readonly title: string;
  readonly value: (r: ExpRow) => Scalar | undefined;
}

/** One column per metric key; titled `key` when unique across files, else `file:key`. */
function metricColumns(rows: readonly ExpRow[]): Column[] {
  const keys: [string, string][] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    for (const [file, flat] of r.metrics) {
      for (const k of flat.keys()) {
        if (!seen.has(`${file}\0${k}`)) {
          seen.add(`${file}\0${k}`);
          keys.push([file, k]);
        }
      }
    }
  }
  const files = new Map<string, number>();
  for (const [, k] of keys) files.set(k, (files.get(k) ?? 0) + 1);
  return keys.map(([file, k]) => ({ title: files.get(k)! > 1 ? `${file}:${k}` : k, value: (r) => r.metrics.get(file)?.get(k) }));
}

/** Params columns: every key, or only those whose value is not the same in every row. */
function paramColumns(rows: readonly ExpRow[], all: boolean): Column[] {
  const keys = [...new Set(rows.flatMap((r) => [...(r.params?.keys() ?? [])]))];
  return keys
    .filter((k) => all || new Set(rows.map((r) => r.params?.get(k))).size > 1)
    .map((k) => ({ title: k, value: (r: ExpRow) => r.params?.get(k) }));
}

/** Missing values (and NaN, which has no order) sort last; numbers numerically; otherwise as text. */
function compare(x: Scalar | undefined, y: Scalar | undefined): number {
  const a = Number.isNaN(x) ? undefined : x;
  const b = Number.isNaN(y) ? undefined : y;
  if (a === undefined || b === undefined) return a === b ? 0 : a === undefined ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b));
}

export interface ExpTable {
  readonly header: string[];
  readonly cells: string[][];
  /** The rows in table order (for --json). */
  readonly rows: ExpRow[];
}

const FIXED = ['Experiment', 'Base', 'Created', 'Status', 'Duration', 'CPU'];

export function buildExpTable(rows: readonly ExpRow[], opts: TableOptions): Result<ExpTable, string> {
  const params = paramColumns(rows, opts.all);
  const metrics = metricColumns(rows);
  let ordered = [...rows];
  if (opts.sortBy !== undefined) {
    // A param or metric, by its column title or (for a metric) its bare key.
    const all = [...metrics, ...paramColumns(rows, true), ...metricColumns(rows)];
    const col = all.find((c) => c.title === opts.sortBy) ?? all.find((c) => c.title.endsWith(`:${opts.sortBy}`));
    if (!col) return err(`--sort-by '${opts.sortBy}' is neither a param nor a metric of these experiments`);
    const sign = opts.sortOrder === 'desc' ? -1 : 1;
    const experiments = rows.filter((r) => !r.baseline).sort((a, b) => {
      const c = compare(col.value(a), col.value(b));
      // Missing values stay last in either order.
      const missing = (v: Scalar | undefined): boolean => v === undefined || Number.isNaN(v);
      return missing(col.value(a)) || missing(col.value(b)) ? c : sign * c;
    });
    ordered = [...rows.filter((r) => r.baseline), ...experiments];
  }
  const dash = (s: string | undefined): string => s ?? '-';
  const cells = ordered.map((r) => [
    r.name,
    dash(r.base?.slice(0, 7)),
    dash(r.created?.replace('T', ' ').slice(0, 16)),
    dash(r.status),
    r.durationS === undefined ? '-' : formatDuration(r.durationS * 1000),
    r.cpuS === undefined ? '-' : formatDuration(r.cpuS * 1000),
    ...params.map((c) => formatValue(c.value(r), opts.precision)),
    ...metrics.map((c) => formatValue(c.value(r), opts.precision)),
  ]);
  return ok({ header: [...FIXED, ...params.map((c) => c.title), ...metrics.map((c) => c.title)], cells, rows: ordered });
}
