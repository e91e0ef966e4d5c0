/**
 * Fingerprint: the canonical, typed record of everything that determines a stage's outputs
 * (wireit fingerprint.ts, turborepo task hash): command, working directory, dep content hashes,
 * param values, declared outs with their flags, and the stage's env. Its xxh64 is the run-cache
 * key; `diffFingerprints` turns two records into reasons for `--explain`.
 *
 * Canonical means: fixed field order, every list sorted (deps/outs by path, params/env by key, in
 * JS string order), param values as canonical JSON (sorted keys, no whitespace), so the hash is
 * independent of declaration order and of map key order. `schema` is bumped whenever the meaning
 * of a field changes, which invalidates every run-cache entry at once.
 *
 * Upstream stages' fingerprints are deliberately not part of it: an upstream out is a dep, so its
 * content hash is here already, and identical upstream bytes must not force a rerun (contract §4).
 * It does no I/O: dep hashes come in as FileRecords from FileHasher.
 */
import type { Stage } from '../model/stage.js';
import { fpHash, type FpHash } from '../util/brand.js';
import type { FileRecord } from './file-hasher.js';
import type { Hasher } from './xxhash.js';

export interface FingerprintData {
  schema: 1;
  cmd: string[];
  wdir: string;
  /** Sorted by path; hash '' when a declared dep does not exist. */
  deps: [path: string, hash: string][];
  /** Sorted by key; canonical JSON of the value, '' when a declared key has no value. */
  params: [key: string, valueJson: string][];
  /** Sorted by path; flags e.g. `out`, `metric,no-cache`, `out,persist`. */
  outs: [path: string, flags: string][];
  /** Sorted by name. */
  env: [string, string][];
}

const byFirst = (a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]): number =>
  a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;

/** Builds the canonical record of a stage's inputs and its hash. */
export function computeFingerprint(
  stage: Stage,
  deps: readonly FileRecord[],
  params: Readonly<Record<string, unknown>>,
  hasher: Hasher,
): { data: FingerprintData; hash: FpHash } {
  const depMap = new Map<string, string>();
  for (const d of stage.deps) depMap.set(d.path, '');
  for (const r of deps) depMap.set(r.path, r.hash);

  const paramMap = new Map<string, string>();
  for (const p of stage.params) paramMap.set(p.key, '');
  for (const k of Object.keys(params)) {
    const v = params[k];
    if (v !== undefined) paramMap.set(k, canonicalJson(v));
  }

  const outMap = new Map<string, string>();
  for (const o of stage.outs) {
    outMap.set(o.path, o.kind + (o.cache ? '' : ',no-cache') + (o.persist ? ',persist' : ''));
  }

  const data: FingerprintData = {
    schema: 1,
    cmd: [...stage.cmd],
    wdir: stage.wdir,
    deps: [...depMap].sort(byFirst),
    params: [...paramMap].sort(byFirst),
    outs: [...outMap].sort(byFirst),
    env: Object.entries(stage.env).sort(byFirst),
  };
  return { data, hash: fingerprintHash(data, hasher) };
}

/** xxh64 of the canonical JSON of a fingerprint record. */
export function fingerprintHash(data: FingerprintData, hasher: Hasher): FpHash {
  return fpHash(hasher.hashString(canonicalJson(data)));
}

/**
 * Canonical JSON: object keys sorted (JS string order), no whitespace, `undefined` members
 * dropped (as JSON.stringify does; `null` in arrays). Numbers use JS's shortest round-trip form
 * (-0 is `0`); the non-finite numbers YAML can express are written as the bare tokens `NaN`,
 * `Infinity`, `-Infinity`, so they stay distinct from each other and from null. Maps are written
 * as objects, Dates as ISO strings, bigints as digits. Cycles, functions and symbols throw.
 */
export function canonicalJson(v: unknown): string {
  return write(v, new Set());
}

function write(v: unknown, seen: Set<object>): string {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : String(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'undefined':
      return 'null';
    case 'object': {
      if (v === null) return 'null';
      if (v instanceof Date) return JSON.stringify(v.toISOString());
      if (seen.has(v)) throw new TypeError('canonicalJson: cyclic value');
      seen.add(v);
      let s: string;
      if (Array.isArray(v)) {
        s = '[' + v.map((x: unknown) => write(x, seen)).join(',') + ']';
      } else {
        const entries: [string, unknown][] =
          v instanceof Map ? [...(v as Map<unknown, unknown>)].map(([k, x]) => [String(k), x]) : Object.entries(v);
        const parts: string[] = [];
        for (const [k, x] of entries.sort(byFirst)) {
          if (x !== undefined) parts.push(JSON.stringify(k) + ':' + write(x, seen));
        }
        s = '{' + parts.join(',') + '}';
      }
      seen.delete(v);
      return s;
    }
    default:
      throw new TypeError(`canonicalJson: cannot encode a ${typeof v}`);
  }
}

/** One difference between two fingerprint records, for "why did it run?". */
export type FingerprintChange =
  | { readonly kind: 'schema' }
  | { readonly kind: 'cmd' }
  | { readonly kind: 'wdir' }
  | { readonly kind: 'dep-added' | 'dep-removed' | 'dep-modified'; readonly path: string }
  | { readonly kind: 'param-added' | 'param-removed' | 'param-modified'; readonly key: string }
  | { readonly kind: 'out-added' | 'out-removed' | 'out-modified'; readonly path: string }
  | { readonly kind: 'env'; readonly key: string };

/** Differences from `prev` to `next`, in field order, each list in sorted order. */
export function diffFingerprints(prev: FingerprintData, next: FingerprintData): FingerprintChange[] {
  const out: FingerprintChange[] = [];
  if (prev.schema !== next.schema) out.push({ kind: 'schema' });
  if (prev.cmd.length !== next.cmd.length || prev.cmd.some((c, i) => c !== next.cmd[i])) out.push({ kind: 'cmd' });
  if (prev.wdir !== next.wdir) out.push({ kind: 'wdir' });
  for (const [k, kind] of diffPairs(prev.deps, next.deps)) out.push({ kind: `dep-${kind}`, path: k });
  for (const [k, kind] of diffPairs(prev.params, next.params)) out.push({ kind: `param-${kind}`, key: k });
  for (const [k, kind] of diffPairs(prev.outs, next.outs)) out.push({ kind: `out-${kind}`, path: k });
  for (const [k] of diffPairs(prev.env, next.env)) out.push({ kind: 'env', key: k });
  return out;
}

function diffPairs(
  a: readonly (readonly [string, string])[],
  b: readonly (readonly [string, string])[],
): [string, 'added' | 'removed' | 'modified'][] {
  const am = new Map(a.map(([k, v]) => [k, v]));
  const bm = new Map(b.map(([k, v]) => [k, v]));
  const keys = [...new Set([...am.keys(), ...bm.keys()])].sort();
  const res: [string, 'added' | 'removed' | 'modified'][] = [];
  for (const k of keys) {
    const x = am.get(k);
    const y = bm.get(k);
    if (x === undefined) res.push([k, 'added']);
    else if (y === undefined) res.push([k, 'removed']);
    else if (x !== y) res.push([k, 'modified']);
  }
  return res;
}

/** Human text for a change, in the contract's `status` wording. */
export function describeChange(c: FingerprintChange): string {
  switch (c.kind) {
    case 'schema':
      return 'mlbuild fingerprint schema changed';
    case 'cmd':
      return 'changed cmd';
    case 'wdir':
      return 'changed wdir';
    case 'dep-added':
      return `added dep: ${c.path}`;
    case 'dep-removed':
      return `removed dep: ${c.path}`;
    case 'dep-modified':
      return `changed deps: ${c.path}`;
    case 'param-added':
      return `added param: ${c.key}`;
    case 'param-removed':
      return `removed param: ${c.key}`;
    case 'param-modified':
      return `changed params: ${c.key}`;
    case 'out-added':
      return `added out: ${c.path}`;
    case 'out-removed':
      return `removed out: ${c.path}`;
    case 'out-modified':
      return `changed out flags: ${c.path}`;
    case 'env':
      return `changed env: ${c.key}`;
  }
}
