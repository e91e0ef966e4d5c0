/**
 * Objects on a DVC remote, in DVC's layout, moved to and from mlbuild's xxh64-named local cache.
 *
 *   files/md5/ab/cdef...         DVC 3 (read first, the only layout written)
 *   ab/cdef...                   DVC 2 (read)
 *   files/md5/ab/cdef....dir     a directory: DVC's JSON listing (hashing/md5.ts)
 *   mlbuild/xxh64/ab/cdef...     mlbuild's note: the md5 of the object whose xxh64 this is, so a
 *                                fresh clone can pull mlbuild's outs (named by xxh64 in
 *                                mlbuild.lock) from a DVC remote. DVC ignores the folder.
 *
 * Fetch: every object is downloaded to a temp file beside its place in the local cache, hashed
 * with md5 (of the pointer's kind) and xxh64 while it is written, and renamed into place under its
 * xxh64 only when the md5 is the one asked for (and the size the recorded one): a truncated or
 * tampered object is deleted and reported by key and by the data that needed it. A listing is
 * verified the same way before any file it names is fetched, and becomes an mlbuild manifest.
 * Push: the md5 of each cached object (from the Md5Index, else hashed once), uploaded under
 * DVC 3's key (DVC 2's, with the dos2unix md5, for data a DVC 2 pointer tracks) when the remote
 * lacks it, files before the listing that names them.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { FileRecord, ManifestEntry } from '../hashing/file-hasher.js';
import type { Hasher } from '../hashing/xxhash.js';
import { Md5Stream, md5OfBytes, md5OfFile, md5TreeText, parseMd5Tree, type Md5Kind } from '../hashing/md5.js';
import { type LocalStore, tmpName } from '../cache/local-store.js';
import type { Md5Index } from '../data/md5-index.js';
import { contentHash } from '../util/brand.js';
import { forEachLimit } from '../util/parallel.js';
import { RemoteUnavailable, type Remote } from './remote.js';
import type { TransferListener, TransferResult } from './transfer.js';

const split = (h: string): string => `${h.slice(0, 2)}/${h.slice(2)}`;
/** Where DVC 3 and DVC 2 keep the object `md5`, in the order they are tried. */
export const dvcKeys = (md5: string): string[] => [`files/md5/${split(md5)}`, split(md5)];
export const xxhNoteKey = (xxh: string): string => `mlbuild/xxh64/${split(xxh)}`;

/** A piece of DVC-tracked data to fetch: its md5, how it was hashed, and who needs it (for messages). */
export interface Md5Wanted {
  readonly path: string;
  readonly md5: string;
  readonly kind: Md5Kind;
  readonly size?: number;
  readonly neededBy: string;
}

export class DvcObjects {
  constructor(
    private readonly local: LocalStore,
    private readonly remote: Remote,
    private readonly hasher: Hasher,
    private readonly index: Md5Index,
    private readonly jobs: number,
    private readonly listener: TransferListener = { on: () => undefined },
  ) {}

  saveIndex(): void {
    this.index.save();
  }

  private progress(result: TransferResult): void {
    this.listener.on({ type: 'transfer-progress', files: result.transferred, bytes: result.bytes });
  }

  /** The first key of `md5` the remote has, or undefined. */
  private async keyOf(md5: string): Promise<string | undefined> {
    for (const k of dvcKeys(md5)) if (await this.remote.exists(k)) return k;
    return undefined;
  }

  /** Brings one file object into the local cache by md5; its xxh64, or undefined (failure recorded). */
  private async fetchFile(md5: string, kind: Md5Kind, size: number | undefined, neededBy: string, result: TransferResult): Promise<{ hash: string; size: number } | undefined> {
    const known = this.index.xxhOf(md5, kind);
    if (known && fs.existsSync(this.local.objectPath(known))) {
      result.present++;
      return { hash: known, size: fs.statSync(this.local.objectPath(known)).size };
    }
    const key = await this.keyOf(md5);
    const body = key ? await this.remote.download(key) : undefined;
    if (!key || !body) {
      result.missing.push({ object: dvcKeys(md5)[0]!, neededBy, message: `not on remote '${this.remote.name}' (looked for ${dvcKeys(md5).join(' and ')})` });
      return undefined;
    }
    const staging = path.join(this.local.objectsDir, 'incoming');
    await fsp.mkdir(staging, { recursive: true });
    const tmp = tmpName(path.join(staging, md5));
    const fh = await fsp.open(tmp, 'wx', 0o644);
    const m = new Md5Stream(kind);
    const x = this.hasher.stream();
    let n = 0;
    try {
      try {
        for await (const chunk of body) {
          m.update(chunk);
          x.update(chunk);
          await fh.write(chunk);
          n += chunk.length;
          result.bytes += chunk.length;
          this.progress(result);
        }
      } finally {
        await fh.close();
      }
      const got = m.digest();
      if (got !== md5 || (size !== undefined && n !== size)) {
        await fsp.rm(tmp, { force: true });
        const why = size !== undefined && n !== size ? `it has ${n} bytes where ${size} were recorded (truncated or partial)` : `its content hashes to md5 ${got}, not ${md5} (corrupt or tampered)`;
        result.failed.push({ object: key, neededBy, message: `remote object ${key} rejected: ${why}` });
        return undefined;
      }
      const xxh = x.digest();
      const dest = this.local.objectPath(xxh);
      if (fs.existsSync(dest)) await fsp.rm(tmp, { force: true });
      else {
        await fsp.mkdir(path.dirname(dest), { recursive: true });
        await fsp.chmod(tmp, 0o444);
        await fsp.rename(tmp, dest);
      }
      this.index.set(xxh, kind, md5);
      result.transferred++;
      this.progress(result);
      return { hash: xxh, size: n };
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      if (e instanceof RemoteUnavailable) throw e;
      result.failed.push({ object: key, neededBy, message: `cannot download ${key}: ${(e as Error).message}` });
      return undefined;
    }
  }

  /** Brings `w` (file or directory) into the local cache; the record to check it out with, or undefined. */
  async fetch(w: Md5Wanted, result: TransferResult): Promise<FileRecord | undefined> {
    if (!w.md5.endsWith('.dir')) {
      const f = await this.fetchFile(w.md5, w.kind, w.size, w.neededBy, result);
      return f ? { path: w.path, hash: contentHash(f.hash), size: f.size } : undefined;
    }
    const known = this.index.xxhOf(w.md5, w.kind);
    if (known && (await this.local.has([{ path: w.path, hash: contentHash(known), size: 0 }]))) {
      const m = this.local.readManifest(known)!;
      result.present++;
      return { path: w.path, hash: contentHash(known), size: m.reduce((s, e) => s + e.size, 0), nfiles: m.length };
    }
    let key: string | undefined;
    let text: string | undefined;
    for (const k of dvcKeys(w.md5)) {
      text = await this.remote.readText(k);
      if (text !== undefined) {
        key = k;
        break;
      }
    }
    if (key === undefined || text === undefined) {
      result.missing.push({ object: dvcKeys(w.md5)[0]!, neededBy: w.neededBy, message: `directory listing not on remote '${this.remote.name}' (looked for ${dvcKeys(w.md5).join(' and ')})` });
      return undefined;
    }
    const got = md5OfBytes(Buffer.from(text, 'utf8')) + '.dir';
    const listing = got === w.md5 ? parseMd5Tree(text) : `its content hashes to md5 ${got}, not ${w.md5} (corrupt or tampered)`;
    if (typeof listing === 'string') {
      result.failed.push({ object: key, neededBy: w.neededBy, message: `remote object ${key} rejected: ${listing}` });
      return undefined;
    }
    const entries: ManifestEntry[] = [];
    let failed = false;
    await forEachLimit(listing, this.jobs, async (e) => {
      const f = await this.fetchFile(e.md5, w.kind, undefined, `${w.path}/${e.relpath} of ${w.neededBy}`, result);
      if (f) entries.push({ relpath: e.relpath, hash: contentHash(f.hash), size: f.size });
      else failed = true;
    });
    if (failed) return undefined;
    entries.sort((a, b) => (a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0));
    const manifest = entries.map((e) => `${e.relpath}\t${e.hash}\t${e.size}\n`).join('');
    const xxh = this.hasher.hashString(manifest) + '.dir';
    const dest = this.local.objectPath(xxh);
    if (!fs.existsSync(dest)) {
      await fsp.mkdir(path.dirname(dest), { recursive: true });
      const tmp = tmpName(dest);
      await fsp.writeFile(tmp, manifest, { mode: 0o444 });
      await fsp.rename(tmp, dest);
    }
    this.index.set(xxh, w.kind, w.md5);
    return { path: w.path, hash: contentHash(xxh), size: entries.reduce((s, e) => s + e.size, 0), nfiles: entries.length };
  }

  /** An mlbuild record (xxh64) fetched through the note mlbuild left on the remote when it pushed it. */
  async fetchRecord(r: FileRecord, neededBy: string, result: TransferResult): Promise<boolean> {
    if (await this.local.has([r])) {
      result.present++;
      return true;
    }
    const md5 = (await this.remote.readText(xxhNoteKey(r.hash)))?.trim() ?? this.index.get(r.hash, 'md5');
    if (!md5) {
      result.missing.push({ object: xxhNoteKey(r.hash), neededBy, message: `not on remote '${this.remote.name}' (no md5 known for ${r.hash}; push it with mlbuild first)` });
      return false;
    }
    const got = await this.fetch({ path: r.path, md5, kind: 'md5', size: r.hash.endsWith('.dir') ? undefined : r.size, neededBy }, result);
    if (!got) return false;
    if (got.hash !== r.hash) {
      result.failed.push({ object: dvcKeys(md5)[0]!, neededBy, message: `remote object for ${r.hash} holds other content (${got.hash})` });
      return false;
    }
    return true;
  }

  /** md5 of a cached file object (learned once). */
  private md5OfObject(xxh: string, kind: Md5Kind): string {
    let md5 = this.index.get(xxh, kind);
    if (!md5) {
      md5 = md5OfFile(this.local.objectPath(xxh), kind);
      this.index.set(xxh, kind, md5);
    }
    return md5;
  }

  /** DVC 3 keeps `md5` objects under files/md5/; DVC 2's md5-dos2unix ones (which DVC 3 still looks for there) at the root. */
  private static keyFor(md5: string, kind: Md5Kind): string {
    return dvcKeys(md5)[kind === 'md5' ? 0 : 1]!;
  }

  private async uploadObject(md5: string, kind: Md5Kind, xxh: string, neededBy: string, result: TransferResult): Promise<boolean> {
    const key = DvcObjects.keyFor(md5, kind);
    if (await this.remote.exists(key)) {
      result.present++;
      return true;
    }
    const src = this.local.objectPath(xxh);
    try {
      const size = fs.statSync(src).size;
      await this.remote.upload(key, src, size, (n) => {
        result.bytes += n;
        this.progress(result);
      });
      result.transferred++;
      return true;
    } catch (e) {
      if (e instanceof RemoteUnavailable) throw e;
      result.failed.push({ object: key, neededBy, message: (e as Error).message });
      return false;
    }
  }

  /**
   * Uploads a cached record in DVC's layout; its md5 (`.dir` for a directory), or undefined. `md5`
   * (DVC 3) goes under files/md5/; `md5-dos2unix` (data a DVC 2 pointer tracks) under DVC 2's key,
   * where DVC 2 and DVC 3 both look for such data.
   */
  async push(r: FileRecord, neededBy: string, result: TransferResult, kind: Md5Kind = 'md5'): Promise<string | undefined> {
    let md5: string;
    if (!r.hash.endsWith('.dir')) {
      if (!fs.existsSync(this.local.objectPath(r.hash))) {
        result.missing.push({ object: r.hash, neededBy, message: 'not in the local cache' });
        return undefined;
      }
      md5 = this.md5OfObject(r.hash, kind);
      if (!(await this.uploadObject(md5, kind, r.hash, neededBy, result))) return undefined;
    } else {
      const entries = this.local.readManifest(r.hash);
      if (!entries || !(await this.local.has([r]))) {
        result.missing.push({ object: r.hash, neededBy, message: 'directory is not complete in the local cache' });
        return undefined;
      }
      let ok = true;
      const listing: { relpath: string; md5: string }[] = [];
      await forEachLimit(entries, this.jobs, async (e) => {
        const m = this.md5OfObject(e.hash, kind);
        listing.push({ relpath: e.relpath, md5: m });
        if (!(await this.uploadObject(m, kind, e.hash, `${r.path}/${e.relpath} of ${neededBy}`, result))) ok = false;
      });
      // A listing goes up only when every file it names is there: DVC never sees a partial directory.
      if (!ok) return undefined;
      const text = md5TreeText(listing);
      md5 = md5OfBytes(Buffer.from(text, 'utf8')) + '.dir';
      this.index.set(r.hash, kind, md5);
      const key = DvcObjects.keyFor(md5, kind);
      if (await this.remote.exists(key)) result.present++;
      else {
        await this.remote.writeText(key, text);
        result.transferred++;
      }
    }
    // The note names DVC 3's md5, which fetchRecord asks for; legacy pushes are for DVC 2 pointers only.
    if (kind === 'md5' && !(await this.remote.exists(xxhNoteKey(r.hash)))) await this.remote.writeText(xxhNoteKey(r.hash), md5 + '\n');
    return md5;
  }
}
