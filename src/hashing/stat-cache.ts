/**
 * The hash-state database: (path, size, mtimeMs, ino, ctimeMs) -> content hash, so an unchanged
 * file is never read twice across runs (lage's FileHasher, git's index, DVC's state db). The ctime
 * catches an in-place edit whose mtime was put back (`touch -d`, `cp -p`, tar): nobody can set it.
 *
 * Persisted at `<mlcache>/state/stat-cache.json` as one compact JSON object whose `entries` is a
 * flat array of 7-tuples `[relpath, size, mtimeMs, ino, hash, gen, ctimeMs, ...]` (one JSON.parse, no
 * per-entry objects in the file: ~3 ms for 10k entries). Paths under the project root are stored
 * relative to it, others absolute. Loaded once; `save()` writes atomically and only when something
 * was recorded or forgotten.
 *
 * Racy-clean guard (git's "racy git" problem): a file can be rewritten within the same mtime tick
 * after we hashed it, keeping size and mtime. So `record()` refuses entries whose mtime is not
 * older than the moment reading began minus `racyWindowMs` (default 2 s, which covers coarse kernel
 * clocks, FAT's 2 s granularity and modest NFS clock skew). Such files are simply re-hashed next
 * run, and recorded once they are old enough. Content decides; the stat tuple is only a shortcut.
 *
 * Pruning: each save starts a new generation; entries not looked up or recorded for
 * `maxIdleGenerations` saves are dropped, so deleted files do not accumulate forever.
 *
 * It does not stat or read files itself (FileHasher does), and is not safe against two processes
 * saving at once (the last atomic rename wins, which only loses cache entries, never correctness).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ContentHash } from '../util/brand.js';
import { atomicWriteFile, atomicWriteFileSync } from '../util/atomic-write.js';

/** The part of fs.Stats the cache keys on. */
export interface StatLike {
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  /** Compared (and checked against the racy window) when given; callers that stat always give it. */
  readonly ctimeMs?: number;
}

export interface StatCacheOptions {
  /** Project root; paths under it are stored relative. Default: the parent of the mlcache dir. */
  readonly root?: string;
  /** Clock (ms since epoch); injectable for tests. Default Date.now. */
  readonly now?: () => number;
  /** mtimes this close to (or after) the hashing time are not recorded. Default 2000. */
  readonly racyWindowMs?: number;
  /** Entries untouched for this many saves are dropped. Default 16. */
  readonly maxIdleGenerations?: number;
}

const VERSION = 2;
const TUPLE = 7;
export const STAT_CACHE_FILE = path.join('state', 'stat-cache.json');

export class StatCache {
  readonly #file: string | undefined;
  readonly #rootSlash: string;
  readonly #now: () => number;
  readonly #racyWindowMs: number;
  readonly #maxIdle: number;
  readonly #loadedAt: number;
  /**
   * Key (path relative to the root, or absolute) -> offset of its row in #rows. Rows are the
   * file's flat 7-tuples, kept as parsed: no per-entry objects and no path concatenation at load.
   */
  readonly #index = new Map<string, number>();
  #rows: unknown[] = [];
  /** Generation of this process's session (one more than the last saved). */
  #gen = 1;
  #dirty = false;
  /** The file to read on first use (a run whose paths were all proved by the fresh snapshot never reads it). */
  #unread: string | undefined;
  /** Paths to keep alive, resolved only when a save prunes (see keepAliveLater). */
  readonly #keepers: (() => Iterable<string>)[] = [];

  private constructor(file: string | undefined, opts: StatCacheOptions, root: string) {
    this.#file = file;
    this.#rootSlash = root.endsWith(path.sep) ? root : root + path.sep;
    this.#now = opts.now ?? Date.now;
    this.#racyWindowMs = opts.racyWindowMs ?? 2000;
    this.#maxIdle = opts.maxIdleGenerations ?? 16;
    this.#loadedAt = this.#now();
  }

  /** Loads `<mlcacheDir>/state/stat-cache.json`; a missing, corrupt or old-version file is an empty cache. */
  static async load(mlcacheDir: string, opts: StatCacheOptions = {}): Promise<StatCache> {
    return Promise.resolve(StatCache.loadSync(mlcacheDir, opts));
  }

  /** Synchronous {@link load} (it is one read and one JSON.parse). */
  static loadSync(mlcacheDir: string, opts: StatCacheOptions = {}): StatCache {
    const abs = path.resolve(mlcacheDir);
    const file = path.join(abs, STAT_CACHE_FILE);
    const cache = new StatCache(file, opts, path.resolve(opts.root ?? path.dirname(abs)));
    cache.#unread = file;
    return cache;
  }

  /** Reads and parses the file on first use. */
  #ready(): void {
    const file = this.#unread;
    if (file === undefined) return;
    this.#unread = undefined;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return; // missing or unreadable: start empty
    }
    this.#ingest(text);
  }

  /** A cache that is never persisted (save() is a no-op); for tests and one-shot tools. */
  static inMemory(opts: StatCacheOptions = {}): StatCache {
    return new StatCache(undefined, opts, path.resolve(opts.root ?? '/'));
  }

  #ingest(text: string): void {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      this.#dirty = true; // rewrite the corrupt file at the next save
      return;
    }
    const { version, gen, entries } = (typeof doc === 'object' && doc !== null ? doc : {}) as {
      version?: unknown;
      gen?: unknown;
      entries?: unknown;
    };
    if (version !== VERSION || typeof gen !== 'number' || !Array.isArray(entries)) {
      this.#dirty = true;
      return;
    }
    this.#gen = gen + 1;
    this.#rows = entries;
    const index = this.#index;
    const n = entries.length - (entries.length % TUPLE);
    for (let i = 0; i < n; i += TUPLE) {
      const p: unknown = entries[i];
      if (typeof p === 'string' && typeof entries[i + 4] === 'string') index.set(p, i);
    }
  }

  #key(absPath: string): string {
    return absPath.startsWith(this.#rootSlash) ? absPath.slice(this.#rootSlash.length) : absPath;
  }

  get size(): number {
    this.#ready();
    return this.#index.size;
  }

  get dirty(): boolean {
    this.#ready();
    return this.#dirty;
  }

  /** The hash recorded for exactly this (path, size, mtimeMs, ino), if any. Never reads the file. */
  lookup(absPath: string, st: StatLike): ContentHash | undefined {
    this.#ready();
    const i = this.#index.get(this.#key(absPath));
    if (i === undefined) return undefined;
    const rows = this.#rows;
    if (rows[i + 1] !== st.size || rows[i + 2] !== st.mtimeMs || rows[i + 3] !== st.ino || rows[i + 6] !== (st.ctimeMs ?? null)) return undefined;
    rows[i + 5] = this.#gen;
    return rows[i + 4] as ContentHash;
  }

  /**
   * Remembers `hash` for the file as it was when `st` was taken. `readStartMs` is when reading of
   * the content began (taken before the stat); it defaults to when this cache was loaded, which is
   * always safe. Racy entries (see module comment) are not recorded, and any older entry for the
   * path is forgotten. Returns whether the entry was recorded.
   */
  record(absPath: string, st: StatLike, hash: ContentHash, readStartMs: number = this.#loadedAt): boolean {
    this.#ready();
    const key = this.#key(absPath);
    if (!(st.mtimeMs < readStartMs - this.#racyWindowMs) || !((st.ctimeMs ?? 0) < readStartMs - this.#racyWindowMs)) {
      // The old entry no longer matches this stat, so lookups miss it anyway: forget it without
      // making the cache dirty (a run that only edits young files need not rewrite the whole file).
      this.#index.delete(key);
      return false;
    }
    const rows = this.#rows;
    const i = this.#index.get(key);
    const ctime = st.ctimeMs ?? null;
    if (i !== undefined && rows[i + 1] === st.size && rows[i + 2] === st.mtimeMs && rows[i + 3] === st.ino && rows[i + 6] === ctime && rows[i + 4] === hash) {
      rows[i + 5] = this.#gen;
      return true;
    }
    if (i !== undefined) {
      rows[i + 1] = st.size;
      rows[i + 2] = st.mtimeMs;
      rows[i + 3] = st.ino;
      rows[i + 4] = hash;
      rows[i + 5] = this.#gen;
      rows[i + 6] = ctime;
    } else {
      this.#index.set(key, rows.length);
      rows.push(key, st.size, st.mtimeMs, st.ino, hash, this.#gen, ctime);
    }
    this.#dirty = true;
    return true;
  }

  /**
   * Marks the entry for `absPath` as used in this session, so pruning keeps it: for files a run
   * proved unchanged without looking them up (the fresh snapshot's tops).
   */
  keepAlive(absPath: string): void {
    this.#ready();
    const i = this.#index.get(this.#key(absPath));
    if (i !== undefined) this.#rows[i + 5] = this.#gen;
  }

  /**
   * {@link keepAlive} for many paths, resolved only if and when a save prunes: a run that saves
   * nothing (a no-op, a leaf change) pays nothing for the thousands of paths it proved unchanged.
   */
  keepAliveLater(absPaths: () => Iterable<string>): void {
    this.#keepers.push(absPaths);
  }

  /** Drops the entry for one path. */
  forget(absPath: string): void {
    this.#ready();
    if (this.#index.delete(this.#key(absPath))) this.#dirty = true;
  }

  /** The current time on this cache's clock (for callers that pass `readStartMs`). */
  now(): number {
    return this.#now();
  }

  /** The file text `save()` would write (entries sorted by path, idle ones pruned). */
  serialize(): string {
    this.#ready();
    for (const paths of this.#keepers.splice(0)) for (const p of paths()) this.keepAlive(p);
    const minGen = this.#gen - this.#maxIdle;
    const rows = this.#rows;
    const keys = [...this.#index.keys()].sort();
    const flat: unknown[] = [];
    for (const k of keys) {
      const i = this.#index.get(k)!;
      if ((rows[i + 5] as number) < minGen) continue;
      flat.push(k, rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], rows[i + 5], rows[i + 6]);
    }
    return JSON.stringify({ version: VERSION, gen: this.#gen, entries: flat }) + '\n';
  }

  /** Writes the cache atomically if anything changed since load; returns whether it wrote. */
  async save(): Promise<boolean> {
    this.#ready();
    if (!this.#dirty || this.#file === undefined) return false;
    // No fsync: a torn file after a crash does not parse, and is then an empty cache.
    await atomicWriteFile(this.#file, this.serialize(), { fsync: false });
    this.#dirty = false;
    return true;
  }

  /** Synchronous {@link save}, e.g. for a signal handler on the way out. */
  saveSync(): boolean {
    this.#ready();
    if (!this.#dirty || this.#file === undefined) return false;
    atomicWriteFileSync(this.#file, this.serialize(), { fsync: false });
    this.#dirty = false;
    return true;
  }
}
