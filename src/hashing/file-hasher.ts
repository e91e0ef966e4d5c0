/**
 * Content hashes of files and directories, behind the stat cache (lage's FileHasher, ninja's
 * StatIfNecessary): stat first, hash only on change, each path stat'ed and hashed at most once per
 * FileHasher instance (one instance per process run).
 *
 * - File: xxh64 of the content. Files under 1 MiB are read with one `readSync` into a reused
 *   buffer; larger ones are read straight into wasm memory and hashed there (xxhash.ts inPlace,
 *   no copy per chunk). In `hash()`, files of 16 MiB or more are read asynchronously with double
 *   buffering (the next 1 MiB read, on libuv's pool, overlaps the hashing of the current one on
 *   this thread), so the event loop stays responsive while a model checkpoint is hashed.
 * - Directory: the canonical manifest of every regular file below it (symlinks followed), one line
 *   `relpath\thash\tsize\n` per file, sorted by relpath (JS string order); hash = xxh64(manifest)
 *   + `.dir`, size = sum of sizes, nfiles = count (DVC's `.dir` objects, with xxh64 for md5).
 *   Walks skip `.git`, `.hg` and `.mlcache` entries, broken symlinks, and special files (fifos,
 *   sockets, devices); a symlink cycle is an error (thrown as HashError).
 *
 * Synchronous fs calls are used on purpose: for thousands of small files `statSync` and
 * `readSync` are several times faster than the promise API, and a no-op run is dominated by stats.
 *
 * It does not decide staleness, write anything, or know about stages; paths are POSIX.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { contentHash, type ContentHash } from '../util/brand.js';
import type { Hasher } from './xxhash.js';
import type { BigFileHasher } from './hash-pool.js';
import type { StatCache } from './stat-cache.js';

export interface FileRecord {
  /** The path as given to `hash()` (project-relative, or absolute for external deps). */
  path: string;
  hash: ContentHash;
  size: number;
  /** Directories only: number of files in the manifest. */
  nfiles?: number;
}

export interface ManifestEntry {
  /** POSIX path relative to the hashed directory. */
  relpath: string;
  hash: ContentHash;
  size: number;
}

export interface FileHasherOptions {
  /** Project root; relative paths are resolved against it. */
  readonly root: string;
  readonly hasher: Hasher;
  readonly statCache: StatCache;
  /** Entry names skipped in directory walks. Default `.git`, `.hg`, `.mlcache`. */
  readonly ignoreNames?: readonly string[];
  /**
   * Hashes uncached files of at least {@link POOL_MIN_SIZE} off the main thread (a HashPool), so
   * several big files are read on several cores. Default: the main thread's async reader.
   */
  readonly bigFileHasher?: BigFileHasher;
}

/** A file-system condition that makes a path unhashable (symlink cycle, special file). */
export class HashError extends Error {
  constructor(
    readonly code: 'symlink-loop' | 'unsupported-file-type',
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'HashError';
  }
}

/** Files below this are read at once into a reused buffer (and hashed with one copy into wasm memory). */
const CHUNK = 1 << 20;
/** In `hash()`, uncached files at least this big are read asynchronously. */
const ASYNC_MIN_SIZE = 16 << 20;
/**
 * Reads of large files, straight into wasm memory. 1 MiB measured best (2 GiB, page cache warm):
 * the bytes are still in cache when they are hashed; 4 MiB reads cost 15 % more CPU in total.
 */
const ASYNC_CHUNK = 1 << 20;
const SYNC_CHUNK = 1 << 20;
/** Files this big go to `bigFileHasher` when there is one: a worker's start is small beside the read. */
export const POOL_MIN_SIZE = 64 << 20;
/** Uncached big files read on the main thread at the same time (see #bigLimit). */
const BIG_AT_ONCE = 2;
let sharedBuf: Buffer | undefined;

interface Content {
  hash: ContentHash;
  size: number;
}
interface Rec extends Content {
  nfiles?: number;
}
/**
 * What the hasher keeps of a stat. Retaining fs.Stats objects (each with four Dates on Node 20) for
 * every file of a 10k-file project made them survive scavenges: most of a no-op's GC time.
 */
export interface PathStat {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  readonly ctimeMs: number;
}

/** Every regular file below a directory, in manifest order, as parallel arrays (fewer objects). */
interface DirScan {
  rel: string[];
  abs: string[];
  st: PathStat[];
}
interface DirResult extends Rec {
  nfiles: number;
  /** The manifest, built on demand (hashing a directory only needs its text). */
  entries?: ManifestEntry[];
}

/** Returned by the collecting pass when big uncached files must be hashed asynchronously first. */
const NEED_ASYNC = Symbol('need-async');
type BigList = { abs: string; st: PathStat }[];

export class FileHasher {
  readonly #root: string;
  readonly #rootSlash: string;
  readonly #hasher: Hasher;
  readonly #cache: StatCache;
  readonly #ignore: ReadonlySet<string>;
  readonly #bigFileHasher: BigFileHasher | undefined;
  readonly #stats = new Map<string, PathStat | null>();
  readonly #contents = new Map<string, Content>();
  readonly #scans = new Map<string, DirScan>();
  readonly #dirs = new Map<string, DirResult>();
  readonly #bigInFlight = new Map<string, Promise<Content>>();
  /** The stats `prime` seeded: a path whose memo still holds one was neither re-stat'ed nor re-hashed. */
  readonly #primedStats = new WeakSet<PathStat>();
  /**
   * Big files read on this thread at once, first come first served: a directory of a thousand
   * checkpoints would otherwise hold a thousand read buffers, and the first files' stages would
   * wait for the last file. Two measured best on 2 cores (this thread hashes all of them).
   */
  readonly #bigLimit = pLimit(BIG_AT_ONCE);
  /**
   * Directory -> the memoised paths directly inside it, so `invalidate` (several times per executed
   * stage) is proportional to the subtree it forgets, not to everything memoised. Built on the
   * first `invalidate` from #stats (every memo key is stat'ed first), then kept up to date: a
   * no-op run never invalidates and so never pays for it.
   */
  #children: Map<string, Set<string>> | undefined;

  constructor(opts: FileHasherOptions) {
    this.#root = path.resolve(opts.root);
    this.#rootSlash = this.#root.endsWith('/') ? this.#root : this.#root + '/';
    this.#hasher = opts.hasher;
    this.#cache = opts.statCache;
    this.#ignore = new Set(opts.ignoreNames ?? ['.git', '.hg', '.mlcache']);
    this.#bigFileHasher = opts.bigFileHasher;
  }

  /** The xxh64 hasher this one reads files with (cache writes verify objects with it too). */
  get hasher(): Hasher {
    return this.#hasher;
  }

  /** The content hash of `bytes` (what `hash` records for a file holding exactly them). */
  hashBytes(bytes: Uint8Array): string {
    return this.#hasher.hashBytes(bytes);
  }

  /** Absolute form of a project-relative or absolute path. */
  resolve(p: string): string {
    // Fast path for the normalised project-relative paths config/ produces (one per dep, per run).
    if (p !== '' && p !== '.' && p.charCodeAt(0) !== 47 && !p.includes('..') && !p.includes('./') && !p.includes('//') && !p.endsWith('/')) {
      return this.#rootSlash + p;
    }
    return path.resolve(this.#root, p);
  }

  /**
   * Hash of a file or directory; undefined when it does not exist. Memoised until `invalidate`.
   * Throws HashError for a symlink cycle or a special file, and fs errors such as EACCES.
   */
  async hash(p: string): Promise<FileRecord | undefined> {
    const abs = this.resolve(p);
    for (;;) {
      const big: BigList = [];
      const r = this.#compute(abs, big);
      if (r !== NEED_ASYNC) return r === null ? undefined : toRecord(p, r);
      // Together, so a pool hashes them on several cores.
      await Promise.all(big.map((b) => this.#hashBigAsync(b.abs, b.st)));
    }
  }

  /**
   * {@link hash} without a promise when no large file has to be read (the common case: stat-cache
   * hits and small files); `'async'` when the caller must `await hash(p)` instead.
   */
  hashNow(p: string): FileRecord | undefined | 'async' {
    const r = this.#compute(this.resolve(p), []);
    if (r === NEED_ASYNC) return 'async';
    return r === null ? undefined : toRecord(p, r);
  }

  /** Synchronous {@link hash} (large files are hashed synchronously too). */
  hashSync(p: string): FileRecord | undefined {
    const r = this.#compute(this.resolve(p), undefined);
    return r === null || r === NEED_ASYNC ? undefined : toRecord(p, r);
  }

  /** The sorted manifest of a directory; undefined when the path is missing or not a directory. */
  async manifest(p: string): Promise<ManifestEntry[] | undefined> {
    const abs = this.resolve(p);
    const st = this.#stat(abs);
    if (!st?.isDirectory) return undefined;
    await this.hash(abs); // hashes big files asynchronously; the rest is then memoised
    return this.manifestSync(p);
  }

  /** Synchronous {@link manifest}. */
  manifestSync(p: string): ManifestEntry[] | undefined {
    const abs = this.resolve(p);
    const st = this.#stat(abs);
    if (!st?.isDirectory) return undefined;
    const r = this.#dir(abs, st, undefined);
    if (r === NEED_ASYNC) throw new Error('Internal error: synchronous directory hash deferred');
    if (r.entries === undefined) {
      const scan = this.#scan(abs, st, new Set());
      r.entries = scan.rel.map((relpath, i) => {
        const c = this.#file(scan.abs[i]!, scan.st[i]!, undefined)!;
        return { relpath, hash: c.hash, size: c.size };
      });
    }
    return r.entries;
  }

  /**
   * Seeds the memo with a path an earlier run hashed and this one proved unchanged since (the fresh
   * snapshot, run/fresh-snapshot.ts): `st` and `rec` then stand for what `stat` and `hash` would
   * compute, so the path is neither stat'ed nor walked again. A path already memoised is left as is.
   */
  prime(p: string, st: PathStat, rec: { readonly hash: ContentHash; readonly size: number; readonly nfiles?: number }): void {
    const abs = this.resolve(p);
    if (this.#stats.has(abs) || (!st.isFile && !st.isDirectory)) return;
    this.#stats.set(abs, st);
    this.#primedStats.add(st);
    if (this.#children !== undefined) addChild(this.#children, abs);
    if (st.isDirectory) this.#dirs.set(abs, { hash: rec.hash, size: rec.size, nfiles: rec.nfiles ?? 0 });
    else this.#contents.set(abs, { hash: rec.hash, size: rec.size });
  }

  /**
   * Whether `p` still stands as `prime` seeded it: not invalidated (or re-primed) since, so its
   * hash is the primed one without asking. The fresh snapshot's re-record skips such paths.
   */
  stillPrimed(p: string): boolean {
    const st = this.#stats.get(this.resolve(p));
    return st !== undefined && st !== null && this.#primedStats.has(st);
  }

  /** Memoised `stat` (symlinks followed); undefined when missing. */
  stat(p: string): PathStat | undefined {
    return this.#stat(this.resolve(p)) ?? undefined;
  }

  /**
   * Forgets everything memoised about `p`, the paths under it and its ancestor directories
   * (whose manifests include it). Call after a stage rewrites or removes its outs.
   */
  invalidate(p: string): void {
    const abs = this.resolve(p);
    const children = (this.#children ??= this.#indexChildren());
    this.#forgetTree(abs, children);
    const parent = parentOf(abs);
    children.get(parent)?.delete(abs);
    for (let d = parent; d !== ''; d = parentOf(d)) {
      // Their listings and hashes include `abs`; their stats go too (a stage may have created
      // a missing parent). Other memoised children of theirs stay.
      this.#stats.delete(d);
      this.#scans.delete(d);
      this.#dirs.delete(d);
    }
  }

  #indexChildren(): Map<string, Set<string>> {
    const children = new Map<string, Set<string>>();
    for (const abs of this.#stats.keys()) addChild(children, abs);
    return children;
  }

  #forgetTree(abs: string, children: Map<string, Set<string>>): void {
    this.#stats.delete(abs);
    this.#contents.delete(abs);
    this.#scans.delete(abs);
    this.#dirs.delete(abs);
    const kids = children.get(abs);
    if (kids === undefined) return;
    children.delete(abs);
    for (const k of kids) this.#forgetTree(k, children);
  }

  /** Memoised stat. */
  #stat(abs: string): PathStat | null {
    let st = this.#stats.get(abs);
    if (st === undefined) {
      st = statOrNull(abs);
      this.#stats.set(abs, st);
      if (this.#children !== undefined) addChild(this.#children, abs);
    }
    return st;
  }

  /** `big` undefined: hash everything synchronously. Otherwise collect big uncached files into it. */
  #compute(abs: string, big: BigList | undefined): Rec | null | typeof NEED_ASYNC {
    const st = this.#stat(abs);
    if (st === null) return null;
    if (st.isDirectory) return this.#dir(abs, st, big);
    if (st.isFile) return this.#file(abs, st, big) ?? NEED_ASYNC;
    throw new HashError('unsupported-file-type', abs, `cannot hash ${abs}: not a regular file or directory`);
  }

  /** Content of a regular file, from memo, stat cache, or by reading it. Undefined = queued in `big`. */
  #file(abs: string, st: PathStat, big: BigList | undefined): Content | undefined {
    let c = this.#contents.get(abs);
    if (c !== undefined) return c;
    const cached = this.#cache.lookup(abs, st);
    if (cached !== undefined) {
      c = { hash: cached, size: st.size };
    } else if (big !== undefined && st.size >= ASYNC_MIN_SIZE) {
      big.push({ abs, st });
      return undefined;
    } else {
      c = this.#readHashSync(abs, st);
    }
    this.#contents.set(abs, c);
    return c;
  }

  #readHashSync(abs: string, st: PathStat): Content {
    const readStart = this.#cache.now();
    if (st.size >= CHUNK) return this.#readHashSyncLarge(abs, st, readStart);
    const buf = (sharedBuf ??= Buffer.allocUnsafe(CHUNK));
    const fd = fs.openSync(abs, 'r');
    let total = 0;
    let hash: string;
    try {
      let n = fs.readSync(fd, buf, 0, CHUNK, null);
      total = n;
      if (n < CHUNK && n === st.size) {
        hash = this.#hasher.hashBytes(buf.subarray(0, n));
      } else {
        // It grew since the stat: stream the rest (the size mismatch keeps it out of the stat cache).
        const s = this.#hasher.stream();
        while (n > 0) {
          s.update(n === CHUNK ? buf : buf.subarray(0, n));
          n = fs.readSync(fd, buf, 0, CHUNK, null);
          total += n;
        }
        hash = s.digest();
      }
    } finally {
      fs.closeSync(fd);
    }
    return this.#finishFile(abs, st, hash, total, readStart);
  }

  /** Read straight into wasm memory and hashed there (no copy per chunk). */
  #readHashSyncLarge(abs: string, st: PathStat, readStart: number): Content {
    const s = this.#hasher.inPlace(SYNC_CHUNK, 1);
    const region = s.regions[0]!;
    let total = 0;
    let fd: number | undefined;
    try {
      fd = fs.openSync(abs, 'r');
      for (let n; (n = fs.readSync(fd, region, 0, SYNC_CHUNK, null)) > 0; total += n) s.update(0, n);
    } catch (e) {
      s.release();
      throw e;
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
    return this.#finishFile(abs, st, s.digest(), total, readStart);
  }

  #hashBigAsync(abs: string, st: PathStat): Promise<Content> {
    let p = this.#bigInFlight.get(abs);
    if (p === undefined) {
      p = this.#readHashAsync(abs, st).finally(() => this.#bigInFlight.delete(abs));
      this.#bigInFlight.set(abs, p);
    }
    return p;
  }

  async #readHashAsync(abs: string, st: PathStat): Promise<Content> {
    if (this.#bigFileHasher !== undefined && st.size >= POOL_MIN_SIZE) {
      // The pool queues its own jobs. A failed worker (or a file error, which the main thread then
      // reports itself) falls back below.
      const readStart = this.#cache.now();
      const d = await this.#bigFileHasher(abs).catch(() => undefined);
      if (d !== undefined) {
        const c = this.#finishFile(abs, st, d.hex, d.bytes, readStart);
        this.#contents.set(abs, c);
        return c;
      }
    }
    return this.#bigLimit(() => this.#readHashHere(abs, st));
  }

  /** Double-buffered: the next read runs on libuv's pool while this thread hashes the last one. */
  async #readHashHere(abs: string, st: PathStat): Promise<Content> {
    const readStart = this.#cache.now();
    const fh = await fsp.open(abs, 'r');
    // Two regions of wasm memory: the next read lands in one while the other is hashed in place.
    const s = this.#hasher.inPlace(ASYNC_CHUNK, 2);
    let total = 0;
    let pending: Promise<{ bytesRead: number }> | undefined;
    let hex: string;
    try {
      let cur = 0;
      pending = fh.read(s.regions[0]!, 0, ASYNC_CHUNK, 0);
      for (;;) {
        const { bytesRead } = await pending;
        pending = undefined;
        if (bytesRead === 0) break;
        total += bytesRead;
        pending = fh.read(s.regions[1 - cur]!, 0, ASYNC_CHUNK, total);
        s.update(cur, bytesRead);
        cur = 1 - cur;
      }
      hex = s.digest();
    } catch (e) {
      // A read still in flight writes into the regions: let it finish before they are reused.
      await pending?.catch(ignore);
      s.release();
      throw e;
    } finally {
      await fh.close();
    }
    const c = this.#finishFile(abs, st, hex, total, readStart);
    this.#contents.set(abs, c);
    return c;
  }

  #finishFile(abs: string, st: PathStat, hex: string, total: number, readStart: number): Content {
    const hash = contentHash(hex);
    // A size mismatch means the file changed under us: use what we read, but do not cache it.
    if (total === st.size) this.#cache.record(abs, st, hash, readStart);
    return { hash, size: total };
  }

  #dir(abs: string, st: PathStat, big: BigList | undefined): DirResult | typeof NEED_ASYNC {
    const memo = this.#dirs.get(abs);
    if (memo !== undefined) return memo;
    const scan = this.#scan(abs, st, new Set());
    const n = scan.rel.length;
    const lines = new Array<string>(n);
    let size = 0;
    let missing = false;
    for (let i = 0; i < n; i++) {
      const c = this.#file(scan.abs[i]!, scan.st[i]!, big);
      if (c === undefined) {
        missing = true;
        continue;
      }
      lines[i] = `${scan.rel[i]!}\t${c.hash}\t${c.size}\n`;
      size += c.size;
    }
    if (missing) return NEED_ASYNC;
    const r: DirResult = { hash: contentHash(this.#hasher.hashString(lines.join('')) + '.dir'), size, nfiles: n };
    this.#dirs.set(abs, r);
    return r;
  }

  /**
   * Every regular file below `abs`, in manifest order. Sorting each level by `name` for files and
   * `name + '/'` for directories yields exactly the order of the full relpaths, so the flattened
   * list needs no global sort. Every entry is stat'ed anyway (files for the cache key, directories
   * for cycle detection), so plain `readdir` names suffice. `onStack` holds dev:ino of the
   * directories being walked.
   */
  #scan(abs: string, st: PathStat, onStack: Set<string>): DirScan {
    const memo = this.#scans.get(abs);
    if (memo !== undefined) return memo;
    const id = `${st.dev}:${st.ino}`;
    if (onStack.has(id)) {
      throw new HashError('symlink-loop', abs, `cannot hash ${abs}: symbolic link cycle`);
    }
    onStack.add(id);
    const items: { key: string; name: string; abs: string; st: PathStat; dir: boolean }[] = [];
    const names = fs.readdirSync(abs);
    for (const name of names) {
      if (this.#ignore.has(name)) continue;
      const childAbs = abs + '/' + name;
      const cst = this.#stat(childAbs);
      if (cst === null) continue; // vanished, or a broken symlink
      if (cst.isFile) items.push({ key: name, name, abs: childAbs, st: cst, dir: false });
      else if (cst.isDirectory) items.push({ key: name + '/', name, abs: childAbs, st: cst, dir: true });
      // anything else (fifo, socket, device) is skipped
    }
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const out: DirScan = { rel: [], abs: [], st: [] };
    for (const it of items) {
      if (!it.dir) {
        out.rel.push(it.name);
        out.abs.push(it.abs);
        out.st.push(it.st);
        continue;
      }
      const sub = this.#scan(it.abs, it.st, onStack);
      const prefix = it.key;
      for (let i = 0; i < sub.rel.length; i++) {
        out.rel.push(prefix + sub.rel[i]!);
        out.abs.push(sub.abs[i]!);
        out.st.push(sub.st[i]!);
      }
    }
    onStack.delete(id);
    this.#scans.set(abs, out);
    return out;
  }
}

const ignore = (): void => undefined;

/** POSIX parent of an absolute path ('' for the root itself). */
function parentOf(abs: string): string {
  const i = abs.lastIndexOf('/');
  return i > 0 ? abs.slice(0, i) : i === 0 && abs.length > 1 ? '/' : '';
}

function toRecord(p: string, r: Rec): FileRecord {
  return r.nfiles === undefined
    ? { path: p, hash: r.hash, size: r.size }
    : { path: p, hash: r.hash, size: r.size, nfiles: r.nfiles };
}

function addChild(children: Map<string, Set<string>>, abs: string): void {
  const parent = parentOf(abs);
  const kids = children.get(parent);
  if (kids === undefined) children.set(parent, new Set([abs]));
  else kids.add(abs);
}

function statOrNull(abs: string): PathStat | null {
  try {
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (st === undefined) return null;
    return { isFile: st.isFile(), isDirectory: st.isDirectory(), size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev, ctimeMs: st.ctimeMs };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return null;
    throw e;
  }
}
