/**
 * The local content-addressed cache in `.mlcache/`:
 *   objects/<2 hex>/<14 hex>        file contents, read-only, named by their xxh64
 *   objects/<2 hex>/<14 hex>.dir    directory manifests (`relpath\thash\tsize\n` lines, the exact
 *                                   text whose hash names the directory, so it is self-verifying)
 *   runs/<fp>.jsonl                 run-cache: one line per build of a fingerprint, newest last
 * Every write goes to a temp name in the same folder and is renamed into place, so a killed run
 * leaves at most a stray temp file (the next run that takes over its lock, or gc, removes them),
 * never a corrupt object or a run entry whose objects are missing (objects are saved before the
 * entry is appended); a failed write (ENOSPC) removes its temp file itself.
 *
 * Restores are verified: every object is hashed as it is placed (integrity.ts), and one whose
 * content does not match its name is quarantined and reported, never put in the workspace.
 *
 * Creating a file is the expensive part of saving a small out (ext4 allocates an inode: ~0.25 ms of
 * kernel time, more right after many deletions, as in a build from clean), so small objects and
 * run-cache lines are written on libuv's thread pool, not on the event loop: the bytes are read and
 * re-hashed synchronously (cheap), the create + write + rename run in the background, and `save()`
 * / `recordRun()` resolve once they are on disk. The order guarantees stay: a caller that awaits
 * `save()` before `recordRun()` and before journaling the lock entry never records a missing object.
 *
 * Outs are placed in the workspace by reflink, else copy; `MLBUILD_CACHE_TYPE=hardlink,copy` (DVC's
 * `cache.type`) links instead, for instant restores of big outs. Objects are read-only, so a
 * hardlinked out is not edited in place by accident; stages rewrite outs after they are removed,
 * and `persist` outs are saved by copy and unprotected before their stage runs.
 *
 * Big outs are saved by reflink, else by a copy hashed as it is written, a link read back once: a
 * same-size edit since hashing is refused, never stored under the old name. Root can still edit a
 * hardlinked out in place, which is why hardlinks are opt-in (the restore that verifies the object
 * then quarantines it).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileRecord, FileHasher, ManifestEntry } from '../hashing/file-hasher.js';
import type { FpHash } from '../util/brand.js';
import { contentHash } from '../util/brand.js';
import type { CacheStore } from './store.js';
import type { Hasher } from '../hashing/xxhash.js';
import { loadHasher } from '../hashing/xxhash.js';
import { CorruptObjectError, copyHashing, hashFile, matches, quarantine } from './integrity.js';
import { ensureDir } from '../util/dir-cache.js';

/** `fs.writeFile` on the thread pool as a promise (cheaper than fs/promises' FileHandle for one small file). */
const writeFileBg = (file: string, data: Uint8Array | string, opts: fs.WriteFileOptions): Promise<void> =>
  new Promise((resolve, reject) => fs.writeFile(file, data, opts, (e) => (e ? reject(e) : resolve())));
const renameBg = (from: string, to: string): Promise<void> => new Promise((resolve, reject) => fs.rename(from, to, (e) => (e ? reject(e) : resolve())));
const appendFileBg = (file: string, data: string): Promise<void> => new Promise((resolve, reject) => fs.appendFile(file, data, (e) => (e ? reject(e) : resolve())));
const rmBg = (file: string): Promise<void> => new Promise((resolve) => fs.rm(file, { force: true }, () => resolve()));
const isEnoent = (e: unknown): boolean => (e as NodeJS.ErrnoException).code === 'ENOENT';

/** Outs up to this size are read, re-hashed and written into the cache rather than copied. */
const SMALL_OBJECT = 256 * 1024;

const changedWhileSaving = (src: string): Error => new Error(`'${src}' changed while it was being saved to the cache`);

export type LinkType = 'reflink' | 'hardlink' | 'copy';

/**
 * DVC's default: reflink where the file system has it, else copy. Hardlinks are opt-in because
 * read-only modes do not stop root, so an edit in place would corrupt the shared object.
 */
export const DEFAULT_LINK_TYPES: readonly LinkType[] = ['reflink', 'copy'];

export function parseLinkTypes(text: string | undefined): LinkType[] | undefined {
  if (!text) return undefined;
  const types = text.split(',').map((s) => s.trim());
  return types.every((t): t is LinkType => t === 'reflink' || t === 'hardlink' || t === 'copy') ? types : undefined;
}

/**
 * The cache layout as POSIX keys below the cache root. Remotes use the same keys, so one remote
 * serves several projects and a directory remote looks like a `.mlcache/`.
 */
export const objectKey = (hash: string): string => `objects/${hash.slice(0, 2)}/${hash.slice(2)}`;
export const runKey = (fp: string): string => `runs/${fp.slice(0, 2)}/${fp.slice(2)}.jsonl`;

/** Where the object named `hash` lives in the cache under `mlcacheDir` (it may not exist). */
export const objectPathIn = (mlcacheDir: string, hash: string): string => path.join(mlcacheDir, ...objectKey(hash).split('/'));

/** A temp sibling of `target` (gc removes leftovers: names containing `.tmp-`). */
export const tmpName = (target: string): string => `${target}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

/** A directory manifest's entries (`relpath\thash\tsize` lines). */
export function parseManifest(text: string): ManifestEntry[] {
  const entries: ManifestEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [relpath, h, size] = line.split('\t');
    entries.push({ relpath: relpath!, hash: contentHash(h!), size: Number(size) });
  }
  return entries;
}

export interface LocalStoreOptions {
  readonly root: string;
  readonly mlcacheDir: string;
  readonly files: FileHasher;
  readonly linkTypes?: readonly LinkType[];
  /** Outs saved by copy rather than link (persist outs, which their stage may modify in place). */
  readonly copyOnSave?: (path: string) => boolean;
  /** Hashes restored objects to verify them (default: the process-wide xxh64). */
  readonly hasher?: Hasher;
}

export class LocalStore implements CacheStore {
  readonly objectsDir: string;
  readonly runsDir: string;
  private readonly linkTypes: readonly LinkType[];
  /** Link types that failed once (e.g. no reflink on this file system) are not tried again. */
  private readonly broken = new Set<LinkType>();
  /** Small objects being written in the background, by hash: the same content saved twice is written once. */
  private readonly writing = new Map<string, Promise<void>>();
  /** Directories created (or being created) in the background: `objects/ab`, `runs/cd`. */
  private readonly bgDirs = new Map<string, Promise<void>>();
  /** The background writes run one after another: concurrent creates in one file system contend for its locks. */
  private bgTail: Promise<unknown> = Promise.resolve();

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const p = this.bgTail.then(op, op);
    this.bgTail = p.catch(() => undefined);
    return p;
  }

  constructor(private readonly opts: LocalStoreOptions) {
    this.objectsDir = path.join(opts.mlcacheDir, 'objects');
    this.runsDir = path.join(opts.mlcacheDir, 'runs');
    this.linkTypes = opts.linkTypes ?? DEFAULT_LINK_TYPES;
  }

  objectPath(hash: string): string {
    return objectPathIn(this.opts.mlcacheDir, hash);
  }

  private abs(p: string): string {
    return path.isAbsolute(p) ? p : path.join(this.opts.root, p);
  }

  /** The manifest of a cached directory, or undefined if it is not in the cache. */
  readManifest(hash: string): ManifestEntry[] | undefined {
    let text: string;
    try {
      text = fs.readFileSync(this.objectPath(hash), 'utf8');
    } catch {
      return undefined;
    }
    return parseManifest(text);
  }

  private hasObject(hash: string): boolean {
    return fs.existsSync(this.objectPath(hash));
  }

  has(records: readonly FileRecord[]): Promise<boolean> {
    for (const r of records) {
      if (r.hash.endsWith('.dir')) {
        const m = this.readManifest(r.hash);
        if (!m || !m.every((e) => this.hasObject(e.hash))) return Promise.resolve(false);
      } else if (!this.hasObject(r.hash)) return Promise.resolve(false);
    }
    return Promise.resolve(true);
  }

  /** Clones `src` to `tmp` when reflinks are wanted and work here; false: copy instead. */
  private reflink(src: string, tmp: string): boolean {
    if (this.broken.has('reflink') || !this.linkTypes.includes('reflink')) return false;
    try {
      fs.copyFileSync(src, tmp, fs.constants.COPYFILE_FICLONE_FORCE);
      return true;
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOSPC' || code === 'EIO' || code === 'EDQUOT' || code === 'ENOENT') throw e;
      this.broken.add('reflink'); // ext4 and tmpfs say ENOTSUP or EXDEV: copy from now on
      return false;
    }
  }

  /** The hasher that verifies saved objects (the workspace hasher's unless one is injected). */
  private hasher(): Hasher {
    return this.opts.hasher ?? this.opts.files.hasher;
  }

  /**
   * Adds one file's content under `hash`, linking when allowed, else copying. Idempotent.
   * Synchronous on purpose: on Node 20, fs/promises costs several times the CPU of the sync calls
   * for small files (measured: 1000 x 1 KiB writeFile 321 vs 56 ms), and this runs once per out.
   */
  private addObject(src: string, hash: string, size: number, allowLink: boolean): void {
    const dest = this.objectPath(hash);
    if (fs.existsSync(dest)) return;
    ensureDir(path.dirname(dest));
    const tmp = tmpName(dest);
    let linked = false;
    if (allowLink && !this.broken.has('hardlink') && this.linkTypes.includes('hardlink')) {
      try {
        fs.linkSync(src, tmp);
        linked = true;
      } catch {
        this.broken.add('hardlink');
      }
    }
    if (!linked && size <= SMALL_OBJECT) {
      // Small: read it once, check it is still the content that was hashed, and write the read-only
      // object directly: one read and one write instead of copy + stat + chmod (4x cheaper here).
      const bytes = fs.readFileSync(src);
      if (bytes.length !== size || this.opts.files.hashBytes(bytes) !== hash) throw changedWhileSaving(src);
      try {
        fs.writeFileSync(tmp, bytes, { mode: 0o444, flag: 'wx' });
      } catch (e) {
        // A full disk leaves a partial temp file: remove it, and let the stage fail saying why.
        fs.rmSync(tmp, { force: true });
        throw e;
      }
    } else {
      // Big: the object must hold exactly the bytes that were hashed. A copy is hashed as it is
      // written (one pass, as cheap as copyFileSync); a reflink or hardlink copies nothing and is
      // read once. Anything but `hash` (an edit since hashing, even of the same size) is refused.
      let actual: string;
      try {
        if (linked) actual = hashFile(tmp, this.hasher());
        else if (this.reflink(src, tmp)) actual = hashFile(tmp, this.hasher());
        else actual = copyHashing(src, tmp, this.hasher());
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
      }
      if (actual !== hash) {
        fs.rmSync(tmp, { force: true });
        throw changedWhileSaving(src);
      }
      fs.chmodSync(tmp, 0o444);
    }
    fs.renameSync(tmp, dest);
  }

  save(records: readonly FileRecord[]): Promise<void> {
    const background: Promise<void>[] = [];
    try {
      this.saveSync(records, background);
    } catch (e) {
      return Promise.all(background).then(() => Promise.reject(e as Error), () => Promise.reject(e as Error));
    }
    if (background.length === 0) return Promise.resolve();
    return Promise.all(background).then(() => undefined);
  }

  /** A directory of the cache, created on the thread pool once per run (then remembered). */
  private dirInBackground(dir: string): Promise<void> {
    let p = this.bgDirs.get(dir);
    if (!p) {
      p = new Promise<void>((resolve, reject) => fs.mkdir(dir, { recursive: true }, (e) => (e ? reject(e) : resolve())));
      p.catch(() => this.bgDirs.delete(dir));
      this.bgDirs.set(dir, p);
    }
    return p;
  }

  /** Runs `write` in `dir`; on ENOENT (the directory went away behind our back) makes it again and retries once. */
  private async inDir(dir: string, write: () => Promise<void>): Promise<void> {
    await this.dirInBackground(dir);
    try {
      await write();
    } catch (e) {
      if (!isEnoent(e)) throw e;
      this.bgDirs.delete(dir);
      await this.dirInBackground(dir);
      await write();
    }
  }

  /**
   * A small out whose bytes were read and checked on the event loop: writes the read-only object
   * (temp name, then rename) on the thread pool. The promise settles once it is in place.
   */
  private writeSmallObject(hash: string, bytes: Buffer): Promise<void> {
    const inFlight = this.writing.get(hash);
    if (inFlight) return inFlight;
    const dest = this.objectPath(hash);
    const tmp = tmpName(dest);
    const p = this.serial(() => this.inDir(path.dirname(dest), () => writeFileBg(tmp, bytes, { mode: 0o444, flag: 'wx' })).then(() => renameBg(tmp, dest)))
      .catch(async (e: unknown) => {
        // A full disk leaves a partial temp file: remove it, and let the stage fail saying why.
        await rmBg(tmp);
        throw e;
      })
      .finally(() => this.writing.delete(hash));
    this.writing.set(hash, p);
    return p;
  }

  private saveSync(records: readonly FileRecord[], background?: Promise<void>[]): void {
    for (const r of records) {
      const abs = this.abs(r.path);
      const allowLink = !(this.opts.copyOnSave?.(r.path) ?? false);
      const hardlink = allowLink && !this.broken.has('hardlink') && this.linkTypes.includes('hardlink');
      if (background && !hardlink && !r.hash.endsWith('.dir') && r.size <= SMALL_OBJECT) {
        // Small: read it once, check it is still the content that was hashed, write it in the background.
        if (this.writing.has(r.hash) || fs.existsSync(this.objectPath(r.hash))) {
          const w = this.writing.get(r.hash);
          if (w) background.push(w);
          continue;
        }
        const bytes = fs.readFileSync(abs);
        if (bytes.length !== r.size || this.opts.files.hashBytes(bytes) !== r.hash) throw changedWhileSaving(abs);
        background.push(this.writeSmallObject(r.hash, bytes));
        continue;
      }
      if (r.hash.endsWith('.dir')) {
        const entries = this.opts.files.manifestSync(r.path);
        if (!entries) throw new Error(`Internal error: '${r.path}' is not a directory any more`);
        for (const e of entries) this.addObject(path.join(abs, e.relpath), e.hash, e.size, allowLink);
        const dest = this.objectPath(r.hash);
        if (!fs.existsSync(dest)) {
          ensureDir(path.dirname(dest));
          const tmp = tmpName(dest);
          try {
            fs.writeFileSync(tmp, entries.map((e) => `${e.relpath}\t${e.hash}\t${e.size}\n`).join(''), { mode: 0o444 });
            fs.renameSync(tmp, dest);
          } catch (e) {
            fs.rmSync(tmp, { force: true });
            throw e;
          }
        }
      } else {
        this.addObject(abs, r.hash, r.size, allowLink);
      }
    }
  }

  /**
   * Places one object at `dest` (which must not exist), by the first link type that works, and
   * verifies it: a copy is hashed while it is written, a reflink or hardlink (which copy nothing)
   * by reading the object once. A mismatch removes `dest`, quarantines the object and throws.
   */
  private place(hash: string, dest: string, out: string, hasher: Hasher): void {
    const src = this.objectPath(hash);
    for (const t of this.linkTypes) {
      if (this.broken.has(t)) continue;
      let actual: string;
      try {
        if (t === 'copy') actual = copyHashing(src, dest, hasher);
        else {
          if (t === 'reflink') fs.copyFileSync(src, dest, fs.constants.COPYFILE_FICLONE_FORCE);
          else fs.linkSync(src, dest);
          actual = hashFile(src, hasher);
        }
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !fs.existsSync(src)) throw new Error(`cache object ${hash} is missing`);
        // Out of space or a failing disk is not a missing feature of the file system: report it.
        if (t === 'copy' || code === 'ENOSPC' || code === 'EIO' || code === 'EDQUOT') throw e;
        this.broken.add(t);
        continue;
      }
      if (!matches(hash, actual)) {
        fs.rmSync(dest, { force: true });
        throw this.corrupt(hash, actual, out);
      }
      return;
    }
    throw new Error(`could not place cache object ${hash} at '${dest}' by ${this.linkTypes.join(', ')}`);
  }

  private corrupt(hash: string, actual: string, out: string): CorruptObjectError {
    const at = quarantine(this.opts.mlcacheDir, this.objectPath(hash), hash);
    return new CorruptObjectError(hash, actual, path.relative(this.opts.root, at) || at, out);
  }

  /** A directory's manifest, checked against its name (the hash of its text) before it is trusted. */
  private verifiedManifest(hash: string, out: string, hasher: Hasher): ManifestEntry[] {
    let text: string;
    try {
      text = fs.readFileSync(this.objectPath(hash), 'utf8');
    } catch {
      throw new Error(`cache manifest ${hash} is missing`);
    }
    const actual = hasher.hashString(text);
    if (!matches(hash, actual)) throw this.corrupt(hash, actual, out);
    return parseManifest(text);
  }

  async restore(records: readonly FileRecord[]): Promise<void> {
    const hasher = this.opts.hasher ?? (await loadHasher());
    for (const r of records) {
      const abs = this.abs(r.path);
      fs.rmSync(abs, { recursive: true, force: true });
      fs.mkdirSync(path.dirname(abs), { recursive: true });
      try {
        if (r.hash.endsWith('.dir')) {
          const entries = this.verifiedManifest(r.hash, r.path, hasher);
          fs.mkdirSync(abs, { recursive: true });
          for (const e of entries) {
            const dest = path.join(abs, e.relpath);
            fs.mkdirSync(path.dirname(dest), { recursive: true });
            this.place(e.hash, dest, `${r.path}/${e.relpath}`, hasher);
          }
        } else {
          this.place(r.hash, abs, r.path, hasher);
        }
      } catch (e) {
        // Never leave half an out: the stage reruns (repro) or the out is reported (checkout).
        fs.rmSync(abs, { recursive: true, force: true });
        throw e;
      } finally {
        this.opts.files.invalidate(r.path);
      }
    }
  }

  runFile(fp: FpHash): string {
    return path.join(this.opts.mlcacheDir, ...runKey(fp).split('/'));
  }

  lookupRun(fp: FpHash): Promise<FileRecord[] | undefined> {
    const file = this.runFile(fp);
    // Usually there is none (a new fingerprint): a failed read would cost a thrown error per stage.
    if (!fs.existsSync(file)) return Promise.resolve(undefined);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return Promise.resolve(undefined);
    }
    // Newest wins: the last complete line (a torn last line from a crash is skipped).
    const lines = text.split('\n').filter(Boolean);
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const entry = JSON.parse(lines[i]!) as { outs: FileRecord[] };
        return Promise.resolve(entry.outs);
      } catch {
        continue;
      }
    }
    return Promise.resolve(undefined);
  }

  recordRun(fp: FpHash, outs: readonly FileRecord[]): Promise<void> {
    const file = this.runFile(fp);
    // One short line in append mode: a crash leaves at most a torn last line, which lookups skip.
    // Written on the thread pool (usually a new file per fingerprint: an inode to allocate).
    const line = JSON.stringify({ outs: outs.map((o) => ({ path: o.path, hash: o.hash, size: o.size, ...(o.nfiles !== undefined ? { nfiles: o.nfiles } : {}) })) }) + '\n';
    return this.serial(() => this.inDir(path.dirname(file), () => appendFileBg(file, line)));
  }

  unprotect(p: string): void {
    const abs = this.abs(p);
    let st: fs.Stats;
    try {
      st = fs.statSync(abs);
    } catch {
      return;
    }
    if (st.isDirectory()) {
      for (const e of fs.readdirSync(abs)) this.unprotect(path.join(p, e));
      return;
    }
    if (st.nlink === 1 && (st.mode & 0o200) !== 0) return;
    // A fresh inode: writes to it can never reach the cache object it was linked to.
    const tmp = tmpName(abs);
    fs.copyFileSync(abs, tmp);
    fs.chmodSync(tmp, 0o644);
    fs.renameSync(tmp, abs);
  }

  /** Every object file name (hash) in the cache, and stray temp files. */
  listObjects(): { hashes: string[]; temps: string[] } {
    const hashes: string[] = [];
    const temps: string[] = [];
    let dirs: string[] = [];
    try {
      dirs = fs.readdirSync(this.objectsDir);
    } catch {
      return { hashes, temps };
    }
    for (const d of dirs) {
      for (const f of fs.readdirSync(path.join(this.objectsDir, d))) {
        if (f.includes('.tmp-')) temps.push(path.join(this.objectsDir, d, f));
        else hashes.push(d + f);
      }
    }
    return { hashes, temps };
  }
}
