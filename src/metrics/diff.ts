/**
 * Pure helpers of `metrics`/`params` show and diff: parsing a metrics file, flattening a tree into
 * dotted keys, and comparing two flattened trees. No I/O.
 */
import { parse as parseYaml } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { parseLenientJson } from './lenient-json.js';

export type Scalar = number | string | boolean;
/** Dotted key -> value, in document order. */
export type Flat = Map<string, Scalar>;

/**
 * Flattens nested maps and lists into dotted keys (`a.b.c`, lists by index: `a.0`). Only numbers,
 * strings and booleans are kept; null and other values are skipped.
 */
export function flatten(value: unknown, prefix = '', into: Flat = new Map()): Flat {
  if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') {
    if (prefix !== '') into.set(prefix, value);
    return into;
  }
  const join = (k: string) => (prefix === '' ? k : `${prefix}.${k}`);
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, join(String(i)), into));
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, join(k), into);
  }
  return into;
}

/** Extensions of the files a metrics folder contributes (DVC reads JSON, YAML and TOML metrics). */
export const METRICS_EXTENSIONS = ['.json', '.yaml', '.yml', '.toml'] as const;

export const isMetricsFile = (file: string): boolean => METRICS_EXTENSIONS.some((e) => file.toLowerCase().endsWith(e));

/**
 * Parses a metrics file's text: JSON for `.json` (with Python's NaN/Infinity, lenient-json.ts),
 * YAML for `.yaml`/`.yml`, TOML for `.toml`, else JSON then YAML. Throws on bad input.
 */
export function parseMetricsText(text: string, file: string): unknown {
  const lower = file.toLowerCase();
  if (lower.endsWith('.json')) return parseLenientJson(text);
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return parseYaml(text) as unknown;
  if (lower.endsWith('.toml')) return parseToml(text) as unknown;
  try {
    return parseLenientJson(text);
  } catch {
    return parseYaml(text) as unknown;
  }
}

export interface DiffRow {
  readonly key: string;
  /** undefined: missing on that side. */
  readonly old: Scalar | undefined;
  readonly new: Scalar | undefined;
  /** new - old, only when both are finite numbers. */
  readonly diff: number | undefined;
}

/** Removes floating-point noise from a difference (0.9 - 0.8 = 0.1, not 0.09999999999999998). */
const clean = (n: number): number => Number(n.toPrecision(12));

/**
 * Compares two flattened trees key by key: keys of `a` in order, then keys only in `b`. Without
 * `all`, only keys whose value differs (or that are missing on one side).
 */
export function diffFlat(a: Flat | undefined, b: Flat | undefined, all: boolean): DiffRow[] {
  const keys = [...new Set([...(a?.keys() ?? []), ...(b?.keys() ?? [])])];
  const rows: DiffRow[] = [];
  for (const key of keys) {
    const o = a?.get(key);
    const n = b?.get(key);
    // Object.is: NaN on both sides is no change.
    if (!all && Object.is(o, n)) continue;
    const diff = typeof o === 'number' && typeof n === 'number' && Number.isFinite(o) && Number.isFinite(n) ? clean(n - o) : undefined;
    rows.push({ key, old: o, new: n, diff });
  }
  return rows;
}
