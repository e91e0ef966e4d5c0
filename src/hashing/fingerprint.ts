/**
 * Fingerprint: the canonical, typed record of everything that determines a stage's outputs
 * (wireit fingerprint.ts, turborepo task hash): command, working directory, dep content hashes,
 * param values, declared outs with their flags, and the stage's env. Its xxh64 is the run-cache
 * key. Why a stage is stale comes from run/freshness.ts (lock entry against workspace), not from
 * a diff of two fingerprints.
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
