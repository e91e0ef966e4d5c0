/**
 * Moving cache objects and run-cache entries between the local cache and a Remote.
 *
 * - Push: expand the wanted records into objects (a directory is its manifest plus one object per
 *   file), ask the remote which it already has (upload once), upload the rest with bounded
 *   parallelism, file objects before the manifests that list them and objects before the run-cache
 *   entries that point at them, so whatever a remote holds is complete.
 * - Fetch: download each missing object into a temp file beside its place in the local cache,
 *   hashing while writing; only an object whose content hashes to its name (and has the recorded
 *   size) is renamed into place. A corrupt or partial object is deleted and reported with the key
 *   and the out that needed it; it never enters the local cache.
 *
 * It does not choose the records (the commands do) or print anything (progress goes to a listener).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { FileRecord } from '../hashing/file-hasher.js';
import type { Hasher } from '../hashing/xxhash.js';
import { type LocalStore, objectKey, runKey, tmpName } from '../cache/local-store.js';
import type { FpHash } from '../util/brand.js';
import { forEachLimit } from '../util/parallel.js';
import { RemoteUnavailable, type Remote } from './remote.js';
import { mergeRunLines, runLineOuts } from './run-entries.js';

/** A record to move, and who needs it (named in every error about it). */
export interface Wanted {
  readonly record: FileRecord;
  /** e.g. "model (stage 'train')". */
  readonly neededBy: string;
}

export type TransferEvent =
  | { readonly type: 'transfer-start'; readonly direction: 'push' | 'fetch'; readonly files: number; readonly bytes: number; readonly present: number }
  | { readonly type: 'transfer-progress'; readonly files: number; readonly bytes: number };

export interface TransferListener {
  on(e: TransferEvent): void;
}

export interface ObjectFailure {
  /** The object's key, e.g. `objects/ab/cdef0123456789`. */
  readonly object: string;
  readonly neededBy: string;
  readonly message: string;
}

export interface TransferResult {
  /** Objects (and run-cache entries) moved, and their bytes. */
  transferred: number;
  bytes: number;
  /** Objects the destination already had. */
  present: number;
  /** Objects the source does not have. */
  readonly missing: ObjectFailure[];
  /** Objects that could not be moved (corrupt, partial, I/O error). */
  readonly failed: ObjectFailure[];
  runEntries: number;
}

export const emptyResult = (): TransferResult => ({ transferred: 0, bytes: 0, present: 0, missing: [], failed: [], runEntries: 0 });

interface Obj {
  readonly hash: string;
  readonly size: number | undefined;
  readonly neededBy: string;
}

const isDir = (hash: string): boolean => hash.endsWith('.dir');

/** Wanted objects in one 2-hex folder from which listing the folder beats asking about each. */
const LIST_THRESHOLD = 3;

export class Transfer {
  /** Objects this transfer already moved or found in place: later calls (run-cache entries) skip them. */
  private readonly settled = new Set<string>();

  constructor(
    private readonly local: LocalStore,
    private readonly remote: Remote,
    private readonly hasher: Hasher,
    private readonly jobs: number,
    private readonly listener: TransferListener = { on: () => undefined },
  ) {}

  private hasLocal(hash: string): boolean {
    return fs.existsSync(this.local.objectPath(hash));
  }

  /** File objects (then manifests) of `wanted`, deduplicated; manifests come from the local cache. */
  private expandLocal(wanted: readonly Wanted[], result: TransferResult): { files: Obj[]; manifests: Obj[] } {
    const files = new Map<string, Obj>();
    const manifests = new Map<string, Obj>();
    for (const { record: r, neededBy } of wanted) {
      if (!isDir(r.hash)) {
        if (!files.has(r.hash)) files.set(r.hash, { hash: r.hash, size: r.size, neededBy });
        continue;
      }
      const entries = this.local.readManifest(r.hash);
      if (!entries) {
        result.missing.push({ object: objectKey(r.hash), neededBy, message: 'directory manifest is not in the local cache' });
        continue;
      }
      manifests.set(r.hash, { hash: r.hash, size: undefined, neededBy });
      for (const e of entries) if (!files.has(e.hash)) files.set(e.hash, { hash: e.hash, size: e.size, neededBy: `${r.path}/${e.relpath} of ${neededBy}` });
    }
    return { files: [...files.values()], manifests: [...manifests.values()] };
  }

  /**
   * Which of `objs` the remote lacks. Objects are grouped by their 2-hex folder: a folder holding
   * several wanted objects is listed (one request per 1000 keys), a lone object is asked about
   * with one HEAD; pushing 1000 files to a fresh remote then costs ~256 listings, not 1000 HEADs.
   */
  private async absentOnRemote(objs: readonly Obj[]): Promise<Set<string>> {
    const groups = new Map<string, Obj[]>();
    for (const o of objs) {
      const g = groups.get(o.hash.slice(0, 2));
      if (g) g.push(o);
      else groups.set(o.hash.slice(0, 2), [o]);
    }
    const absent = new Set<string>();
    await forEachLimit([...groups], this.jobs, async ([prefix, group]) => {
      if (group.length < LIST_THRESHOLD) {
        for (const o of group) if (!(await this.remote.exists(objectKey(o.hash)))) absent.add(o.hash);
        return;
      }
      const there = new Set<string>();
      for await (const key of this.remote.list(`objects/${prefix}/`)) there.add(key);
      for (const o of group) if (!there.has(objectKey(o.hash))) absent.add(o.hash);
    });
    return absent;
  }

  /** Uploads what the remote lacks of `wanted`. Throws RemoteUnavailable when the remote is. */
  async push(wanted: readonly Wanted[], result: TransferResult = emptyResult()): Promise<TransferResult> {
    const { files, manifests } = this.expandLocal(wanted, result);
    const all = [...files, ...manifests].filter((o) => !this.settled.has(o.hash));
    const local = all.filter((o) => {
      if (this.hasLocal(o.hash)) return true;
      result.missing.push({ object: objectKey(o.hash), neededBy: o.neededBy, message: 'not in the local cache' });
      return false;
    });
    const absent = await this.absentOnRemote(local);
    for (const o of local) if (!absent.has(o.hash)) this.settled.add(o.hash);
    const send = local.filter((o) => absent.has(o.hash)).map((o) => ({ ...o, size: o.size ?? fs.statSync(this.local.objectPath(o.hash)).size }));
    result.present += local.length - send.length;
    const bytes = send.reduce((n, o) => n + o.size, 0);
    this.listener.on({ type: 'transfer-start', direction: 'push', files: send.length, bytes, present: local.length - send.length });
    const failedFiles = new Set<string>();
    const upload = async (o: Obj & { size: number }): Promise<void> => {
      try {
        await this.remote.upload(objectKey(o.hash), this.local.objectPath(o.hash), o.size, (n) => {
          result.bytes += n;
          this.listener.on({ type: 'transfer-progress', files: result.transferred, bytes: result.bytes });
        });
        result.transferred++;
        this.settled.add(o.hash);
        this.listener.on({ type: 'transfer-progress', files: result.transferred, bytes: result.bytes });
      } catch (e) {
        if (e instanceof RemoteUnavailable) throw e;
        failedFiles.add(o.hash);
        result.failed.push({ object: objectKey(o.hash), neededBy: o.neededBy, message: (e as Error).message });
      }
    };
    await forEachLimit(
      send.filter((o) => !isDir(o.hash)),
      this.jobs,
      upload,
    );
    // A manifest goes up only when every file it lists is there: a remote never holds a partial directory.
    const sendManifests = send.filter((o) => isDir(o.hash) && (this.local.readManifest(o.hash) ?? []).every((e) => !failedFiles.has(e.hash)));
    await forEachLimit(sendManifests, this.jobs, upload);
    return result;
  }

  /** Downloads one object into the local cache, verified; returns the failure or undefined. */
  private async receive(o: Obj, result: TransferResult): Promise<ObjectFailure | 'missing' | undefined> {
    const key = objectKey(o.hash);
    const body = await this.remote.download(key);
    if (!body) return 'missing';
    const dest = this.local.objectPath(o.hash);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = tmpName(dest);
    const fh = await fsp.open(tmp, 'wx', 0o644);
    const stream = this.hasher.stream();
    let n = 0;
    try {
      try {
        for await (const chunk of body) {
          stream.update(chunk);
          await fh.write(chunk);
          n += chunk.length;
          result.bytes += chunk.length;
          this.listener.on({ type: 'transfer-progress', files: result.transferred, bytes: result.bytes });
        }
      } finally {
        await fh.close();
      }
      const got = stream.digest() + (isDir(o.hash) ? '.dir' : '');
      if (got !== o.hash || (o.size !== undefined && n !== o.size)) {
        await fsp.rm(tmp, { force: true });
        const why = o.size !== undefined && n !== o.size ? `it has ${n} bytes where ${o.size} were recorded (partial or corrupt upload)` : `its content hashes to ${got}, not ${o.hash}`;
        return { object: key, neededBy: o.neededBy, message: `corrupt remote object ${key} rejected: ${why}` };
      }
      await fsp.chmod(tmp, 0o444);
      await fsp.rename(tmp, dest);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    result.transferred++;
    this.listener.on({ type: 'transfer-progress', files: result.transferred, bytes: result.bytes });
    return undefined;
  }

  private async receiveAll(objs: readonly Obj[], result: TransferResult): Promise<Set<string>> {
    const ok = new Set<string>();
    await forEachLimit(objs, this.jobs, async (o) => {
      let f: ObjectFailure | 'missing' | undefined;
      try {
        f = await this.receive(o, result);
      } catch (e) {
        if (e instanceof RemoteUnavailable) throw e;
        f = { object: objectKey(o.hash), neededBy: o.neededBy, message: `cannot download ${objectKey(o.hash)}: ${(e as Error).message}` };
      }
      if (f === undefined) {
        ok.add(o.hash);
        this.settled.add(o.hash);
      }
      else if (f === 'missing') result.missing.push({ object: objectKey(o.hash), neededBy: o.neededBy, message: `not on remote '${this.remote.name}'` });
      else result.failed.push(f);
    });
    return ok;
  }

  /** Downloads what the local cache lacks of `wanted`: manifests first, then the files they list. */
  async fetch(wanted: readonly Wanted[], result: TransferResult = emptyResult()): Promise<TransferResult> {
    const manifests = new Map<string, Obj>();
    for (const { record: r, neededBy } of wanted) {
      if (isDir(r.hash) && !this.hasLocal(r.hash) && !manifests.has(r.hash)) manifests.set(r.hash, { hash: r.hash, size: undefined, neededBy });
    }
    // Manifests are small; their count is not known to the progress line until they are in.
    await this.receiveAll([...manifests.values()], result);
    const files = new Map<string, Obj>();
    let present = 0;
    for (const { record: r, neededBy } of wanted) {
      const entries = isDir(r.hash)
        ? (this.local.readManifest(r.hash) ?? []).map((e) => ({ hash: e.hash, size: e.size, neededBy: `${r.path}/${e.relpath} of ${neededBy}` }))
        : [{ hash: r.hash, size: r.size, neededBy }];
      for (const e of entries) {
        if (files.has(e.hash) || this.settled.has(e.hash)) continue;
        if (this.hasLocal(e.hash)) {
          this.settled.add(e.hash);
          present++;
        } else files.set(e.hash, e);
      }
    }
    const todo = [...files.values()];
    result.present += present;
    this.listener.on({ type: 'transfer-start', direction: 'fetch', files: todo.length, bytes: todo.reduce((n, o) => n + (o.size ?? 0), 0), present });
    await this.receiveAll(todo, result);
    return result;
  }

  /** Pushes every local run-cache entry whose objects are all cached, with those objects. */
  async pushRunCache(result: TransferResult): Promise<void> {
    for (const { key, lines } of localRunFiles(this.local.runsDir)) {
      const usable = lines.filter((l) => {
        const outs = runLineOuts(l);
        return outs !== undefined && outs.every((o) => this.hasLocal(o.hash) && (!isDir(o.hash) || (this.local.readManifest(o.hash) ?? []).every((e) => this.hasLocal(e.hash))));
      });
      if (usable.length === 0) continue;
      const before = problems(result);
      await this.push(runWanted(key, usable), result);
      if (problems(result) > before) continue;
      const merged = mergeRunLines(await this.remote.readText(key), usable);
      if (merged !== undefined) {
        await this.remote.writeText(key, merged);
        result.runEntries++;
      }
    }
  }

  /** Fetches the objects of run-cache `lines`, then (only if all arrived) adds the lines locally. */
  private async fetchRunLines(key: string, lines: readonly string[], result: TransferResult): Promise<boolean> {
    const before = problems(result);
    await this.fetch(runWanted(key, lines), result);
    if (problems(result) > before) return false;
    if (await this.mergeLocalRun(key, lines)) result.runEntries++;
    return true;
  }

  /** Fetches the remote run-cache entry of `fp` and its objects; returns its newest outs. */
  async fetchRun(fp: FpHash, result: TransferResult = emptyResult()): Promise<FileRecord[] | undefined> {
    const newest = validLines(await this.remote.readText(runKey(fp))).at(-1);
    if (newest === undefined) return undefined;
    return (await this.fetchRunLines(runKey(fp), [newest], result)) ? runLineOuts(newest) : undefined;
  }

  /** Fetches every run-cache entry on the remote, with the objects it points at. */
  async fetchRunCache(result: TransferResult): Promise<void> {
    const keys: string[] = [];
    for await (const k of this.remote.list('runs/')) if (k.endsWith('.jsonl')) keys.push(k);
    for (const key of keys) {
      const lines = validLines(await this.remote.readText(key));
      if (lines.length > 0) await this.fetchRunLines(key, lines, result);
    }
  }

  /** Adds `lines` to the local run-cache file `key` (atomically); true when something was new. */
  private async mergeLocalRun(key: string, lines: readonly string[]): Promise<boolean> {
    const file = path.join(this.local.runsDir, ...key.slice('runs/'.length).split('/'));
    let current: string | undefined;
    try {
      current = await fsp.readFile(file, 'utf8');
    } catch {
      current = undefined;
    }
    const merged = mergeRunLines(current, lines);
    if (merged === undefined) return false;
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const tmp = tmpName(file);
    await fsp.writeFile(tmp, merged);
    await fsp.rename(tmp, file);
    return true;
  }
}

const problems = (r: TransferResult): number => r.failed.length + r.missing.length;
const validLines = (text: string | undefined): string[] => (text ?? '').split('\n').filter((l) => runLineOuts(l) !== undefined);

/** The objects of run-cache `lines` stored under `key` (`runs/ab/cdef.jsonl`), named after their fingerprint. */
function runWanted(key: string, lines: readonly string[]): Wanted[] {
  const fp = key.slice('runs/'.length).replace('/', '').replace(/\.jsonl$/, '');
  return lines.flatMap((l) => (runLineOuts(l) ?? []).map((record) => ({ record, neededBy: `run-cache entry ${fp}` })));
}

/** Every run-cache file of the local cache, as its key and complete lines. */
function localRunFiles(runsDir: string): { key: string; lines: string[] }[] {
  const out: { key: string; lines: string[] }[] = [];
  let dirs: string[];
  try {
    dirs = fs.readdirSync(runsDir);
  } catch {
    return out;
  }
  for (const d of dirs) {
    for (const f of fs.readdirSync(path.join(runsDir, d))) {
      if (!f.endsWith('.jsonl')) continue;
      const lines = fs.readFileSync(path.join(runsDir, d, f), 'utf8').split('\n').filter(Boolean);
      out.push({ key: `runs/${d}/${f}`, lines });
    }
  }
  return out;
}
