/**
 * The prepared dataset (data stage output): `train.jsonl`, `dev.jsonl`, `test.jsonl` (one
 * `{"id","text","label"}` per line, possibly empty) and `meta.json`. Downstream stages see one row
 * table, parts concatenated in the order train, dev, test; a row's index in it is its id everywhere
 * (features, splits, predictions).
 */
import { join } from 'node:path';
import { readJsonl } from './files.js';
import { PARTS, type Part } from './params.js';

export interface PreparedRow {
  readonly id: string;
  readonly text: string;
  readonly label: 0 | 1;
}

export interface PreparedData {
  readonly rows: readonly PreparedRow[];
  /** Half-open [start, end) row ranges of each part in `rows`. */
  readonly parts: Readonly<Record<Part, readonly [number, number]>>;
  readonly labels: Uint8Array;
}

export function loadPrepared(dir: string): PreparedData {
  const rows: PreparedRow[] = [];
  const parts = {} as Record<Part, readonly [number, number]>;
  for (const part of PARTS) {
    const start = rows.length;
    rows.push(...readJsonl<PreparedRow>(join(dir, `${part}.jsonl`)));
    parts[part] = [start, rows.length];
  }
  return { rows, parts, labels: Uint8Array.from(rows, (r) => r.label) };
}

export function partIds(d: PreparedData, part: Part): number[] {
  const [s, e] = d.parts[part];
  return Array.from({ length: e - s }, (_, i) => s + i);
}
