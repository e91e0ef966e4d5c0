/**
 * `mlbuild.lock`: per expanded stage, the cmd, dep hashes, param values and out hashes of its last
 * successful run (DVC's dvc.lock, with xxh64 instead of md5). Committed to git, so the text is
 * canonical: `schema: '1.0'` first, stages sorted by name, a fixed key order inside an entry
 * (cmd, deps, params, outs; empty ones omitted), deps/outs sorted by path with keys path, hash,
 * size, nfiles, params keys sorted (recursively), no timestamps, a trailing newline. One entry per
 * stage keeps git diffs and merges local to the stages that changed.
 *
 * Reading, fastest first: (1) `.mlcache/state/lockfile-cache.json`, the entries of the last
 * canonical lockfile keyed by the sha1 of its text (one native JSON.parse: ~5 ms for 1000 stages
 * in a fresh process, where JIT-cold JS parsing costs 3-10x more); (2) the canonical text through
 * the strict reader in canonical-yaml.ts; (3) anything else (hand edits, merge results) through
 * the `yaml` package (~0.4-1 s for 1000 stages), which also gives the file:line:col of syntax
 * errors. Validation collects every problem as a located Diagnostic; an unknown schema version
 * is one error telling the user to upgrade mlbuild.
 *
 * Writing: `save()` renders the whole file (each entry's text is memoised, and a canonical entry
 * read from disk reuses its own text, so a no-op costs a join), compares it with the bytes on
 * disk, and only if they differ replaces the file atomically (then refreshes the cache).
 * Per-stage durability during a run is the journal's job (journal.ts), not this module's.
 *
 * It does not decide staleness or hash anything.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { stageName, type ContentHash, type StageName } from '../util/brand.js';
import { err, ok, type Result } from '../util/result.js';
import type { Diagnostic, DiagnosticCode } from '../report/diagnostic.js';
import type { LockYaml, PathSeg } from './lockfile-yaml.js';
import { atomicWriteFile, atomicWriteFileSync } from '../util/atomic-write.js';
import type { FileRecord } from '../hashing/file-hasher.js';
import { FAIL, emitMapping, parseCanonicalYaml, readKey, setOwn, yamlScalar } from './canonical-yaml.js';
import { parseTagged, stringifyTagged } from './tagged-json.js';

export interface LockEntry {
  cmd: string | string[];
  deps: FileRecord[];
  params: Record<string, unknown>;
  outs: FileRecord[];
}

export const LOCK_SCHEMA = '1.0';
/** The parsed-lockfile cache, in the cache dir (see LockfileOptions). */
export const LOCK_CACHE_FILE = 'lockfile-cache.json';

export interface LockfileOptions {
  /**
   * Where to keep `lockfile-cache.json`: the entries of the last canonical lockfile seen, keyed
   * by a hash of its text, so a fresh process reads them with one native JSON.parse (~2 ms for
   * 1000 stages) instead of parsing YAML with cold JIT (tens of ms). Default:
   * `<lockfile dir>/.mlcache/state` when `<lockfile dir>/.mlcache` exists; null turns it off.
   */
  readonly cacheDir?: string | null;
}
const HASH_RE = /^[0-9a-f]{16}(?:\.dir)?$/;
const ENTRY_KEYS = ['cmd', 'deps', 'params', 'outs'];
const RECORD_KEYS = ['path', 'hash', 'size', 'nfiles'];

type Report = (where: readonly PathSeg[], on: 'key' | 'value', code: DiagnosticCode, message: string, hint?: string) => void;

export class Lockfile {
  readonly #abs: string;
  readonly #display: string;
  readonly #cacheFile: string | undefined;
  readonly #entries = new Map<StageName, LockEntry>();
  /** Memoised text of each entry's block (`  name:\n    cmd: ...\n`). */
  readonly #blocks = new Map<StageName, string>();
  #text: string | undefined;

  private constructor(abs: string, display: string, cacheFile: string | undefined) {
    this.#abs = abs;
    this.#display = display;
    this.#cacheFile = cacheFile;
  }

  static #create(file: string, displayCwd: string, opts: LockfileOptions): Lockfile {
    const abs = path.resolve(file);
    return new Lockfile(abs, displayPath(abs, displayCwd), cacheFileFor(abs, opts));
  }

  /** An empty lockfile that will be written to `file`. */
  static empty(file: string, displayCwd: string = process.cwd(), opts: LockfileOptions = {}): Lockfile {
    return Lockfile.#create(file, displayCwd, opts);
  }

  /**
   * Reads and validates the lockfile. A missing file is an empty lockfile; bad YAML, a wrong
   * shape or an unknown schema version are located Diagnostics (all of them, not just the first).
   */
  static async load(file: string, displayCwd: string = process.cwd(), opts: LockfileOptions = {}): Promise<Result<Lockfile, Diagnostic[]>> {
    const lock = Lockfile.#create(file, displayCwd, opts);
    let text: string;
    try {
      text = fs.readFileSync(lock.#abs, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return ok(lock);
      throw e;
    }
    lock.#text = text;
    const digest = textDigest(text);
    if (lock.#readCache(text, digest)) return ok(lock);
    const r = await lock.#parseInto(text);
    if (r.ok && lock.serialize() === text) lock.#writeCache(text, digest);
    return r;
  }

  /** Parses lockfile text that belongs at `file` (no cache involved). */
  static async parse(text: string, file: string, displayCwd: string = process.cwd()): Promise<Result<Lockfile, Diagnostic[]>> {
    return Lockfile.#create(file, displayCwd, { cacheDir: null }).#parseInto(text);
  }

  /** Adopts the cached entries when the cache was written for exactly this (canonical) text. */
  #readCache(text: string, digest: string): boolean {
    if (this.#cacheFile === undefined) return false;
    let doc: { v?: unknown; hash?: unknown; entries?: unknown };
    try {
      doc = parseTagged(fs.readFileSync(this.#cacheFile, 'utf8')) as typeof doc;
    } catch {
      return false;
    }
    if (doc?.v !== 1 || doc.hash !== digest || !isRecord(doc.entries)) return false;
    const entries = new Map<string, Validated>();
    for (const [name, entry] of Object.entries(doc.entries)) entries.set(name, { entry: entry as LockEntry, canonical: true });
    for (const [name, v] of entries) this.#entries.set(stageName(name), v.entry);
    if (!this.#adoptLengths(text, (doc as { blocks?: unknown }).blocks)) this.#adoptBlocks(text, entries);
    return true;
  }

  /**
   * Cuts the memoised blocks out of the (canonical, cached) text by the lengths the cache recorded
   * for it, in name order: no per-line scan and key parse (~5 ms at 1000 stages, cold). Refused,
   * for the scan to decide, unless the lengths add up to the text and each block starts with its
   * stage's plain key.
   */
  #adoptLengths(text: string, lens: unknown): boolean {
    const header = `schema: '${LOCK_SCHEMA}'\nstages:\n`;
    if (!Array.isArray(lens) || !text.startsWith(header)) return false;
    const names = this.names();
    if (lens.length !== names.length) return false;
    let total = header.length;
    for (const n of lens) {
      if (!Number.isSafeInteger(n) || (n as number) <= 0) return false;
      total += n as number;
    }
    if (total !== text.length) return false;
    const blocks: string[] = [];
    let at = header.length;
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const end = at + (lens[i] as number);
      if (!text.startsWith(name, at + 2) || text.charCodeAt(at) !== 0x20 || text.charCodeAt(at + 1) !== 0x20 || text.charCodeAt(at + 2 + name.length) !== 0x3a || text.charCodeAt(end - 1) !== 0x0a) return false;
      blocks.push(text.slice(at, end));
      at = end;
    }
    for (let i = 0; i < names.length; i++) this.#blocks.set(names[i]!, blocks[i]!);
    return true;
  }

  /** Best effort (it is a cache): never fsynced, never fatal. Only for canonical text. */
  #writeCache(text: string, digest = textDigest(text)): void {
    if (this.#cacheFile === undefined) return;
    const entries: Record<string, LockEntry> = {};
    for (const [name, e] of this.#entries) setOwn(entries as Record<string, unknown>, name, e);
    // `text` is serialize()'s, so every block is memoised: their lengths, in name order, let the
    // next load cut them out without scanning (#adoptLengths).
    const blocks = this.#entries.size > 0 ? this.names().map((n) => this.#blocks.get(n)?.length ?? 0) : undefined;
    try {
      atomicWriteFileSync(this.#cacheFile, stringifyTagged({ v: 1, hash: digest, entries, ...(blocks ? { blocks } : {}) }), { fsync: false });
    } catch {
      // read-only checkout, full disk: the next load parses the YAML instead
    }
  }

  async #parseInto(text: string): Promise<Result<Lockfile, Diagnostic[]>> {
    const fast = parseCanonicalYaml(text);
    if (fast !== FAIL) {
      let bad = false;
      const entries = validate(fast, () => (bad = true));
      if (!bad && entries) {
        for (const [k, v] of entries) this.#entries.set(stageName(k), v.entry);
        this.#adoptBlocks(text, entries);
        return ok(this);
      }
    }
    // Loaded only here: most runs never need the yaml package.
    const { parseLockYaml } = await import('./lockfile-yaml.js');
    return this.#parseSlow(parseLockYaml(text, this.#display));
  }

  /**
   * Reuses the text of canonical entries as their memoised blocks, so a no-op run re-renders
   * nothing: serialize() is then a join that reproduces the file byte for byte.
   */
  #adoptBlocks(text: string, entries: Map<string, Validated>): void {
    const header = `schema: '${LOCK_SCHEMA}'\nstages:\n`;
    if (!text.startsWith(header)) return;
    const starts: number[] = [];
    for (const m of text.slice(header.length).matchAll(/^ {2}(?! )/gm)) starts.push(header.length + m.index);
    starts.push(text.length);
    for (let i = 0; i + 1 < starts.length; i++) {
      const from = starts[i]!;
      const block = text.slice(from, starts[i + 1]);
      const kv = readKey(block.slice(0, block.indexOf('\n')), 2);
      const v = kv && kv[1] === '' ? entries.get(kv[0]) : undefined;
      if (v?.canonical) this.#blocks.set(stageName(kv![0]), block);
    }
  }

  #parseSlow(doc: LockYaml): Result<Lockfile, Diagnostic[]> {
    if (doc.errors.length > 0) {
      return err(
        doc.errors.map((e) => ({
          severity: 'error' as const,
          code: 'lock-syntax' as const,
          message: `invalid YAML in lockfile: ${e.message}`,
          location: e.location,
          hint: 'fix the YAML by hand (e.g. resolve merge conflict markers), or delete the file and run `mlbuild repro` to regenerate it',
        })),
      );
    }
    if (doc.empty) return ok(this); // empty or comment-only file
    const diags: Diagnostic[] = [];
    const entries = validate(doc.js, (where, on, code, message, hint) => {
      diags.push({
        severity: 'error',
        code,
        message,
        location: doc.locateNode(where, on),
        ...(hint ? { hint } : {}),
      });
    });
    if (diags.length > 0 || !entries) return err(diags);
    for (const [k, v] of entries) this.#entries.set(stageName(k), v.entry);
    return ok(this);
  }

  /** Absolute path of the lockfile. */
  get path(): string {
    return this.#abs;
  }

  get(name: StageName): LockEntry | undefined {
    return this.#entries.get(name);
  }

  /** Stores a normalised copy of `e` (sorted deps/outs/params). */
  set(name: StageName, e: LockEntry): void {
    const n = normalizeEntry(e);
    const block = emitBlock(name, n);
    if (this.#blocks.get(name) === block) return;
    this.#entries.set(name, n);
    this.#blocks.set(name, block);
  }

  delete(name: StageName): void {
    this.#entries.delete(name);
    this.#blocks.delete(name);
  }

  /** Stage names, sorted. */
  names(): StageName[] {
    return [...this.#entries.keys()].sort(compare);
  }

  /**
   * The file's text as this object last read, wrote or found it unchanged on disk; undefined while
   * there is no file. What the entries were compared against (the fresh snapshot records its hash).
   */
  get diskText(): string | undefined {
    return this.#text;
  }

  /** The canonical file text. */
  serialize(): string {
    if (this.#entries.size === 0) return `schema: '${LOCK_SCHEMA}'\nstages: {}\n`;
    let s = `schema: '${LOCK_SCHEMA}'\nstages:\n`;
    for (const name of this.names()) {
      let b = this.#blocks.get(name);
      if (b === undefined) {
        b = emitBlock(name, this.#entries.get(name)!);
        this.#blocks.set(name, b);
      }
      s += b;
    }
    return s;
  }

  #unchanged(text: string): boolean {
    let disk: string | undefined;
    try {
      disk = fs.readFileSync(this.#abs, 'utf8');
    } catch {
      disk = undefined;
    }
    // Never create a lockfile that records nothing.
    if (disk === text) this.#text = text;
    return disk === text || (disk === undefined && this.#entries.size === 0);
  }

  /**
   * Writes the file atomically unless its bytes would be unchanged; returns whether it wrote.
   * `interim`: a save during a run that only keeps the file current for readers (the journal makes
   * the finished stages durable, and the run's last save is a full one): not flushed to disk, and
   * the read cache is left for the last save, which replaces it anyway. (A run of 1000 stages
   * saved every second, each time fsyncing the file and its folder while the stages' cache objects
   * were being created, and re-serializing every entry into the cache.)
   */
  async save(opts: { readonly interim?: boolean } = {}): Promise<boolean> {
    const text = this.serialize();
    if (this.#unchanged(text)) return false;
    await atomicWriteFile(this.#abs, text, { fsync: !opts.interim });
    this.#text = text;
    if (!opts.interim) this.#writeCache(text);
    return true;
  }

  /** Synchronous {@link save}. */
  saveSync(): boolean {
    const text = this.serialize();
    if (this.#unchanged(text)) return false;
    atomicWriteFileSync(this.#abs, text);
    this.#text = text;
    this.#writeCache(text);
    return true;
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const INDEX_KEY = /^(?:0|[1-9][0-9]{0,8})$/;
/**
 * The order JS enumerates an object's keys once they are inserted sorted: integer-like keys
 * first, numerically, then the rest in string order. Params are written in this order.
 */
function compareKeys(a: string, b: string): number {
  const ai = INDEX_KEY.test(a);
  const bi = INDEX_KEY.test(b);
  if (ai && bi) return Number(a) - Number(b);
  if (ai !== bi) return ai ? -1 : 1;
  return compare(a, b);
}

function cacheFileFor(lockAbs: string, opts: LockfileOptions): string | undefined {
  if (opts.cacheDir === null) return undefined;
  if (opts.cacheDir !== undefined) return path.join(path.resolve(opts.cacheDir), LOCK_CACHE_FILE);
  const mlcache = path.join(path.dirname(lockAbs), '.mlcache');
  return fs.existsSync(mlcache) ? path.join(mlcache, 'state', LOCK_CACHE_FILE) : undefined;
}

/** Identifies the exact lockfile text the cache was written for (native, no async init). */
function textDigest(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

function displayPath(abs: string, cwd: string): string {
  const rel = path.relative(cwd, abs);
  return rel === '' ? path.basename(abs) : rel.startsWith('..' + path.sep) && rel.length > abs.length ? abs : rel;
}

function sortRecords(rs: readonly FileRecord[]): FileRecord[] {
  return rs
    .map((r) =>
      r.nfiles === undefined
        ? { path: r.path, hash: r.hash, size: r.size }
        : { path: r.path, hash: r.hash, size: r.size, nfiles: r.nfiles },
    )
    .sort((a, b) => compare(a.path, b.path));
}

/** Deep copy with every mapping's keys sorted (param values are compared by content, not order). */
export function sortKeysDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeysDeep);
  if (typeof v !== 'object' || v === null || v instanceof Date) return v;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(v).sort(compareKeys)) setOwn(out, k, sortKeysDeep((v as Record<string, unknown>)[k]));
  return out;
}

function normalizeEntry(e: LockEntry): LockEntry {
  return {
    cmd: Array.isArray(e.cmd) ? [...(e.cmd as string[])] : e.cmd,
    deps: sortRecords(e.deps),
    params: sortKeysDeep(e.params) as Record<string, unknown>,
    outs: sortRecords(e.outs),
  };
}

/** The canonical text of one stage's entry (`  name:\n    cmd: ...\n`), as the file holds it. */
export function entryBlock(name: string, e: LockEntry): string {
  return emitBlock(name, normalizeEntry(e));
}

function emitBlock(name: string, e: LockEntry): string {
  const obj: Record<string, unknown> = { cmd: e.cmd };
  if (e.deps.length > 0) obj.deps = e.deps;
  if (Object.keys(e.params).length > 0) obj.params = e.params;
  if (e.outs.length > 0) obj.outs = e.outs;
  const lines = [`  ${yamlScalar(name)}:`];
  emitMapping(obj, 4, lines);
  return lines.join('\n') + '\n';
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const REGEN = 'fix the entry by hand, or delete it (the stage then reruns) and run `mlbuild repro`';

interface Validated {
  entry: LockEntry;
  /** The parsed entry was already in canonical order (so its text is canonical too). */
  canonical: boolean;
}

/** Checks the plain-JS document; returns the entries, or undefined after reporting a fatal problem. */
function validate(root: unknown, report: Report): Map<string, Validated> | undefined {
  if (!isRecord(root)) {
    report([], 'value', 'lock-invalid', `lockfile must be a mapping with 'schema' and 'stages'`, REGEN);
    return undefined;
  }
  const schema = root.schema;
  if (schema === undefined) {
    report([], 'value', 'lock-invalid', `lockfile has no 'schema' key`, `add "schema: '${LOCK_SCHEMA}'" as the first line`);
  } else if (schema !== LOCK_SCHEMA && schema !== 1) {
    report(
      ['schema'],
      'value',
      'lock-version',
      `lockfile schema ${JSON.stringify(schema)} is not supported by this version of mlbuild (it reads '${LOCK_SCHEMA}')`,
      'upgrade mlbuild (npm install -g mlbuild@latest), or use a lockfile written by this version',
    );
    return undefined; // a newer format may differ anywhere; say nothing more
  }
  for (const k of Object.keys(root)) {
    if (k !== 'schema' && k !== 'stages') report([k], 'key', 'lock-invalid', `unknown key '${k}' in lockfile`, `expected 'schema' and 'stages'`);
  }
  const entries = new Map<string, Validated>();
  const stages = root.stages ?? {};
  if (!isRecord(stages)) {
    report(['stages'], 'value', 'lock-invalid', `'stages' must be a mapping from stage name to entry`, REGEN);
    return undefined;
  }
  for (const name of Object.keys(stages)) {
    const e = validateEntry(name, stages[name], report);
    if (e) entries.set(name, e);
  }
  return entries;
}

function validateEntry(name: string, v: unknown, report: Report): Validated | undefined {
  const at = ['stages', name];
  if (!isRecord(v)) {
    report(at, 'value', 'lock-invalid', `stage '${name}': expected a mapping with cmd, deps, params, outs`, REGEN);
    return undefined;
  }
  let ok = true;
  for (const k of Object.keys(v)) {
    if (!ENTRY_KEYS.includes(k)) {
      report([...at, k], 'key', 'lock-invalid', `stage '${name}': unknown key '${k}'`, 'expected cmd, deps, params, outs');
      ok = false;
    }
  }
  const cmd = v.cmd;
  if (!(typeof cmd === 'string' || (Array.isArray(cmd) && cmd.every((c) => typeof c === 'string')))) {
    report(cmd === undefined ? at : [...at, 'cmd'], cmd === undefined ? 'key' : 'value', 'lock-invalid',
      `stage '${name}': 'cmd' must be a string or a list of strings`, REGEN);
    ok = false;
  }
  const deps = validateRecords(name, 'deps', v.deps, report);
  const outs = validateRecords(name, 'outs', v.outs, report);
  const params = v.params ?? {};
  if (!isRecord(params)) {
    report([...at, 'params'], 'value', 'lock-invalid', `stage '${name}': 'params' must be a mapping from key to value`, REGEN);
    ok = false;
  }
  if (!ok || !deps || !outs || !isRecord(params)) return undefined;
  // A freshly parsed entry already in canonical form is adopted as is (no copy, no re-sort).
  if (isCanonicalEntry(v)) return { entry: v as unknown as LockEntry, canonical: true };
  return { entry: normalizeEntry({ cmd: cmd as string | string[], deps, params, outs }), canonical: false };
}

/** Key order cmd, deps, params, outs with empty ones omitted; records canonical and sorted; params sorted. */
function isCanonicalEntry(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v);
  let k = 0;
  if (keys[k++] !== 'cmd') return false;
  for (const f of ['deps', 'params', 'outs']) {
    if (v[f] === undefined) continue;
    if (keys[k++] !== f) return false;
  }
  if (k !== keys.length) return false;
  if (v.deps !== undefined && !canonicalRecords(v.deps as FileRecord[])) return false;
  if (v.outs !== undefined && !canonicalRecords(v.outs as FileRecord[])) return false;
  if (v.params === undefined) {
    v.params = {};
  } else if (Object.keys(v.params as object).length === 0 || !sortedDeep(v.params)) {
    return false;
  }
  v.deps ??= [];
  v.outs ??= [];
  return true;
}

function canonicalRecords(rs: readonly FileRecord[]): boolean {
  if (rs.length === 0) return false; // the writer omits empty lists
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    const keys = Object.keys(r);
    if (keys[0] !== 'path' || keys[1] !== 'hash' || keys[2] !== 'size' || keys.length !== (r.nfiles === undefined ? 3 : 4)) return false;
    if (i > 0 && compare(rs[i - 1]!.path, r.path) > 0) return false;
  }
  return true;
}

function sortedDeep(v: unknown): boolean {
  if (Array.isArray(v)) return v.every(sortedDeep);
  if (typeof v !== 'object' || v === null) return true;
  const keys = Object.keys(v);
  for (let i = 1; i < keys.length; i++) if (compareKeys(keys[i - 1]!, keys[i]!) > 0) return false;
  return keys.every((k) => sortedDeep((v as Record<string, unknown>)[k]));
}

function validateRecords(name: string, field: 'deps' | 'outs', v: unknown, report: Report): FileRecord[] | undefined {
  const at = ['stages', name, field];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    report(at, 'value', 'lock-invalid', `stage '${name}': '${field}' must be a list of {path, hash, size}`, REGEN);
    return undefined;
  }
  const out: FileRecord[] = [];
  let ok = true;
  v.forEach((r: unknown, i: number) => {
    const here = [...at, i];
    if (!isRecord(r)) {
      report(here, 'value', 'lock-invalid', `stage '${name}': ${field}[${i}] must be a mapping with path, hash, size`, REGEN);
      ok = false;
      return;
    }
    const bad = (k: string, what: string): void => {
      report(r[k] === undefined ? here : [...here, k], 'value', 'lock-invalid', `stage '${name}': ${field}[${i}].${k} ${what}`, REGEN);
      ok = false;
    };
    for (const k of Object.keys(r)) {
      if (!RECORD_KEYS.includes(k)) {
        report([...here, k], 'key', 'lock-invalid', `stage '${name}': unknown key '${k}' in ${field}[${i}]`, 'expected path, hash, size, nfiles');
        ok = false;
      }
    }
    if (typeof r.path !== 'string' || r.path === '') bad('path', 'must be a non-empty string');
    if (typeof r.hash !== 'string' || !HASH_RE.test(r.hash)) bad('hash', 'must be 16 lowercase hex digits, with .dir for a directory');
    if (!isCount(r.size)) bad('size', 'must be a non-negative integer');
    if (r.nfiles !== undefined && !isCount(r.nfiles)) bad('nfiles', 'must be a non-negative integer');
    if (ok) {
      const rec: FileRecord = { path: r.path as string, hash: r.hash as ContentHash, size: r.size as number };
      if (r.nfiles !== undefined) rec.nfiles = r.nfiles as number;
      out.push(rec);
    }
  });
  return ok ? out : undefined;
}
