/**
 * The hash-state database: (path, size, mtimeMs, ino, ctimeMs) -> content hash, so an unchanged
 * file is never read twice across runs (lage's FileHasher, git's index, DVC's state db). The ctime
 * catches an in-place edit whose mtime was put back (`touch -d`, `cp -p`, tar): nobody can set it.
 *
 * Persisted at `<mlcache>/state/stat-cache.db`, one section per folder, so a run that looks at one
 * folder (a leaf change) parses that folder's entries only, and a save copies the sections it never
 * parsed as bytes (10 000 entries: parsing them all cost ~15 ms, re-serialising them all ~20 ms).
 * The file is a JSON header line `{"version":3,"gen":G,"dirs":[dir, offset, length, maxGen, kept,
 * ...]}` followed by the sections, each a JSON array of flat 7-tuples `[name, size, mtimeMs, ino,
 * hash, gen, ctimeMs, ...]` at `offset` (bytes after the header line). Folders under the project
 * root are keyed relative to it, others absolute. Loaded on first use; `save()` writes atomically
 * and only when something was recorded or forgotten.
 *
 * Racy-clean guard (git's "racy git" problem): a file can be rewritten within the same mtime tick
 * after we hashed it, keeping size and mtime. So `record()` refuses entries whose mtime is not
 * older than the moment reading began minus `racyWindowMs` (default 2 s, which covers coarse kernel
 * clocks, FAT's 2 s granularity and modest NFS clock skew). Such files are simply re-hashed next
 * run, and recorded once they are old enough. Content decides; the stat tuple is only a shortcut.
 *
 * Pruning: each save starts a new generation; entries not looked up, recorded or kept alive for
 * `maxIdleGenerations` saves are dropped, so deleted files do not accumulate forever. A section
 * this run never parsed keeps its entries' generations; keeping one of its paths alive raises the
 * section's floor (`kept`) instead of parsing it, and a section whose newest use is too old is
 * dropped whole.
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

const VERSION = 3;
const TUPLE = 7;
export const STAT_CACHE_FILE = path.join('state', 'stat-cache.db');
/** The single-JSON file of version 2: removed by the first save in the new format. */
const LEGACY_FILE = path.join('state', 'stat-cache.json');
/** Header fields per section: dir, offset, length, maxGen, kept. */
const HEAD = 5;

/** One folder's entries. */
interface Section {
  /** The flat 7-tuples as parsed (name first); undefined until first used. */
  rows: unknown[] | undefined;
  /** Name -> offset of its row in `rows`. */
  index: Map<string, number> | undefined;
  /** Where its bytes are in the loaded file, while unparsed. */
  readonly off: number;
  readonly len: number;
  /** Newest generation of any entry, as loaded (unparsed sections only). */
  readonly maxGen: number;
  /** Generation floor: every entry counts as used at least then (keepAlive without parsing). */
  kept: number;
}

export class StatCache {
  readonly #file: string | undefined;
  readonly #rootSlash: string;
  readonly #now: () => number;
  readonly #racyWindowMs: number;
  readonly #maxIdle: number;
  readonly #loadedAt: number;
  /** Folder key (relative to the root, or absolute; '' for the root itself) -> its section. */
  readonly #sections = new Map<string, Section>();
  /** The loaded file's sections, as bytes: parsed or copied on demand. */
  #body: Buffer = Buffer.alloc(0);
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

  /** Loads `<mlcacheDir>/state/stat-cache.db`; a missing, corrupt or old-version file is an empty cache. */
  static async load(mlcacheDir: string, opts: StatCacheOptions = {}): Promise<StatCache> {
    return Promise.resolve(StatCache.loadSync(mlcacheDir, opts));
  }

  /** Synchronous {@link load} (one read and the header's JSON.parse; sections are parsed when used). */
  static loadSync(mlcacheDir: string, opts: StatCacheOptions = {}): StatCache {
    const abs = path.resolve(mlcacheDir);
    const file = path.join(abs, STAT_CACHE_FILE);
    const cache = new StatCache(file, opts, path.resolve(opts.root ?? path.dirname(abs)));
    cache.#unread = file;
    return cache;
  }

  /** Reads the file and its header on first use. */
  #ready(): void {
    const file = this.#unread;
    if (file === undefined) return;
    this.#unread = undefined;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      // Missing: start empty; a version-2 file left beside it goes at the first save.
      if (fs.existsSync(path.join(path.dirname(file), path.basename(LEGACY_FILE)))) this.#dirty = true;
      return;
    }
    this.#ingest(bytes);
  }

  /** A cache that is never persisted (save() is a no-op); for tests and one-shot tools. */
  static inMemory(opts: StatCacheOptions = {}): StatCache {
    return new StatCache(undefined, opts, path.resolve(opts.root ?? '/'));
  }

  #ingest(bytes: Buffer): void {
    const nl = bytes.indexOf(10);
    let doc: unknown;
    try {
      doc = JSON.parse(bytes.toString('utf8', 0, nl === -1 ? bytes.length : nl));
    } catch {
      this.#dirty = true; // rewrite the corrupt file at the next save
      return;
    }
    const { version, gen, dirs } = (typeof doc === 'object' && doc !== null ? doc : {}) as { version?: unknown; gen?: unknown; dirs?: unknown };
    if (nl === -1 || version !== VERSION || typeof gen !== 'number' || !Array.isArray(dirs) || dirs.length % HEAD !== 0) {
      this.#dirty = true;
      return;
    }
    const body = bytes.subarray(nl + 1);
    const sections = new Map<string, Section>();
    for (let i = 0; i < dirs.length; i += HEAD) {
      const [dir, off, len, maxGen, kept] = dirs.slice(i, i + HEAD) as unknown[];
      const ints = [off, len, maxGen, kept].every((n) => Number.isSafeInteger(n) && (n as number) >= 0);
      if (typeof dir !== 'string' || !ints || (off as number) + (len as number) > body.length) {
        this.#dirty = true;
        return;
      }
      sections.set(dir, { rows: undefined, index: undefined, off: off as number, len: len as number, maxGen: maxGen as number, kept: kept as number });
    }
    this.#gen = gen + 1;
    this.#body = body;
    for (const [dir, sec] of sections) this.#sections.set(dir, sec);
  }

  /** The section's entries, parsed on first use (a corrupt one is dropped and the file rewritten). */
  #parsed(sec: Section): Map<string, number> {
    if (sec.index !== undefined) return sec.index;
    const index = new Map<string, number>();
    let rows: unknown;
    try {
      rows = JSON.parse(this.#body.toString('utf8', sec.off, sec.off + sec.len));
    } catch {
      // not an array: handled below
    }
    if (!Array.isArray(rows)) {
      rows = [];
      this.#dirty = true;
    }
    const r = rows as unknown[];
    const n = r.length - (r.length % TUPLE);
    for (let i = 0; i < n; i += TUPLE) {
      const name: unknown = r[i];
      if (typeof name !== 'string' || typeof r[i + 4] !== 'string') continue;
      index.set(name, i);
      if (!((r[i + 5] as number) >= sec.kept)) r[i + 5] = sec.kept;
    }
    sec.rows = r;
    sec.index = index;
    return index;
  }

  /** Section and name of a path: its folder's key and its base name. */
  #split(absPath: string): [string, string] {
    const key = absPath.startsWith(this.#rootSlash) ? absPath.slice(this.#rootSlash.length) : absPath;
    const at = key.lastIndexOf('/');
    return at === -1 ? ['', key] : [key.slice(0, at), key.slice(at + 1)];
  }

  #section(dir: string, create: boolean): Section | undefined {
    let sec = this.#sections.get(dir);
    if (sec === undefined && create) {
      sec = { rows: [], index: new Map(), off: 0, len: 0, maxGen: 0, kept: 0 };
      this.#sections.set(dir, sec);
    }
    return sec;
  }

  /** Entries in the cache (parses every section: for tests and tools). */
  get size(): number {
    this.#ready();
    let n = 0;
    for (const sec of this.#sections.values()) n += this.#parsed(sec).size;
    return n;
  }

  get dirty(): boolean {
    this.#ready();
    return this.#dirty;
  }

  /** The hash recorded for exactly this (path, size, mtimeMs, ino), if any. Never reads the file. */
  lookup(absPath: string, st: StatLike): ContentHash | undefined {
    this.#ready();
    const [dir, name] = this.#split(absPath);
    const sec = this.#sections.get(dir);
    if (sec === undefined) return undefined;
    const i = this.#parsed(sec).get(name);
    if (i === undefined) return undefined;
    const rows = sec.rows!;
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
    const [dir, name] = this.#split(absPath);
    if (!(st.mtimeMs < readStartMs - this.#racyWindowMs) || !((st.ctimeMs ?? 0) < readStartMs - this.#racyWindowMs)) {
      // The old entry no longer matches this stat, so lookups miss it anyway: forget it without
      // making the cache dirty (a run that only edits young files need not rewrite the whole file).
      const sec = this.#sections.get(dir);
      if (sec !== undefined) this.#parsed(sec).delete(name);
      return false;
    }
    const sec = this.#section(dir, true)!;
    const index = this.#parsed(sec);
    const rows = sec.rows!;
    const i = index.get(name);
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
      index.set(name, rows.length);
      rows.push(name, st.size, st.mtimeMs, st.ino, hash, this.#gen, ctime);
    }
    this.#dirty = true;
    return true;
  }

  /**
   * Marks the entry for `absPath` as used in this session, so pruning keeps it: for files a run
   * proved unchanged without looking them up (the fresh snapshot's tops). In a section not parsed
   * yet it raises the section's floor instead of parsing it.
   */
  keepAlive(absPath: string): void {
    this.#ready();
    const [dir, name] = this.#split(absPath);
    this.#keep(dir, name);
  }

  #keep(dir: string, name: string): void {
    const sec = this.#sections.get(dir);
    if (sec === undefined) return;
    if (sec.index === undefined) {
      sec.kept = this.#gen;
      return;
    }
    const i = sec.index.get(name);
    if (i !== undefined) sec.rows![i + 5] = this.#gen;
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
    const [dir, name] = this.#split(absPath);
    const sec = this.#sections.get(dir);
    if (sec !== undefined && this.#parsed(sec).delete(name)) this.#dirty = true;
  }

  /** The current time on this cache's clock (for callers that pass `readStartMs`). */
  now(): number {
    return this.#now();
  }

  /**
   * The file `save()` would write: sections sorted by folder, entries by name, idle ones pruned;
   * sections this run never parsed are copied as they were.
   */
  serialize(): Buffer {
    this.#ready();
    const minGen = this.#gen - this.#maxIdle;
    // Keepers only protect entries from pruning: skipped (and kept for a later save) when this save
    // prunes nothing, which spares a leaf change walking the thousands of paths the snapshot proved.
    if (this.#keepers.length > 0 && this.#prunes(minGen)) this.#resolveKeepers();
    const head: unknown[] = [];
    const parts: Buffer[] = [];
    let off = 0;
    for (const dir of [...this.#sections.keys()].sort()) {
      const sec = this.#sections.get(dir)!;
      let bytes: Buffer;
      let maxGen = 0;
      let kept = 0;
      if (sec.index === undefined) {
        if (Math.max(sec.maxGen, sec.kept) < minGen) continue;
        bytes = this.#body.subarray(sec.off, sec.off + sec.len);
        maxGen = sec.maxGen;
        kept = sec.kept;
      } else {
        const rows = sec.rows!;
        const flat: unknown[] = [];
        for (const name of [...sec.index.keys()].sort()) {
          const i = sec.index.get(name)!;
          const g = rows[i + 5] as number;
          if (g < minGen) continue;
          if (g > maxGen) maxGen = g;
          flat.push(name, rows[i + 1], rows[i + 2], rows[i + 3], rows[i + 4], g, rows[i + 6]);
        }
        if (flat.length === 0) continue;
        bytes = Buffer.from(JSON.stringify(flat), 'utf8');
      }
      head.push(dir, off, bytes.length, maxGen, kept);
      parts.push(bytes);
      off += bytes.length;
    }
    return Buffer.concat([Buffer.from(JSON.stringify({ version: VERSION, gen: this.#gen, dirs: head }) + '\n', 'utf8'), ...parts]);
  }

  #resolveKeepers(): void {
    for (const paths of this.#keepers.splice(0)) {
      // Paths come folder by folder: the rest of an unparsed folder's paths are skipped without
      // splitting them (its floor is raised once).
      let skip = '\0';
      for (const p of paths()) {
        if (p.startsWith(skip) && p.indexOf('/', skip.length) === -1) continue;
        const [dir, name] = this.#split(p);
        this.#keep(dir, name);
        skip = this.#sections.get(dir)?.index === undefined ? p.slice(0, p.lastIndexOf('/') + 1) : '\0';
      }
    }
  }

  /** Whether a save now would drop anything: a section or entry last used before `minGen`. */
  #prunes(minGen: number): boolean {
    for (const sec of this.#sections.values()) {
      if (sec.index === undefined) {
        if (Math.max(sec.maxGen, sec.kept) < minGen) return true;
        continue;
      }
      const rows = sec.rows!;
      for (const i of sec.index.values()) if ((rows[i + 5] as number) < minGen) return true;
    }
    return false;
  }

  /** Writes the cache atomically if anything changed since load; returns whether it wrote. */
  async save(): Promise<boolean> {
    this.#ready();
    if (!this.#dirty || this.#file === undefined) return false;
    // No fsync: a torn file after a crash does not parse, and is then an empty cache.
    await atomicWriteFile(this.#file, this.serialize(), { fsync: false });
    this.#saved();
    return true;
  }

  /** Synchronous {@link save}, e.g. for a signal handler on the way out. */
  saveSync(): boolean {
    this.#ready();
    if (!this.#dirty || this.#file === undefined) return false;
    atomicWriteFileSync(this.#file, this.serialize(), { fsync: false });
    this.#saved();
    return true;
  }

  #saved(): void {
    this.#dirty = false;
    fs.rmSync(path.join(path.dirname(this.#file!), path.basename(LEGACY_FILE)), { force: true });
  }
}
