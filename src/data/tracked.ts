/**
 * Pointer-tracked data in the cache and on remotes: what `push`, `fetch`, `pull`, `checkout` and
 * `status -c` do for the paths `.dvc` files track, beside the lockfile's outs.
 *
 * A pointer names its data by md5 (and, when mlbuild wrote or learned it, xxh64). Locally the
 * content lives in the ordinary xxh64 cache; the Md5Index connects the two names. Fetching from a
 * DVC remote goes by md5 (verified); from an mlbuild remote by the xxh64 the pointer records.
 * Pushing needs the content in the local cache: data in the workspace that matches its pointer
 * is saved there first, so a DVC project's raw data can go up without `mlbuild add`.
 */
import type { FileRecord } from '../hashing/file-hasher.js';
import type { FileHasher } from '../hashing/file-hasher.js';
import type { LocalStore } from '../cache/local-store.js';
import { checkoutOuts } from '../cache/checkout.js';
import { DvcObjects } from '../remote/dvc-objects.js';
import { emptyResult, type Transfer, type TransferResult } from '../remote/transfer.js';
import type { Hasher } from '../hashing/xxhash.js';
import { openImportRemote } from './import-source.js';
import { contentHash } from '../util/brand.js';
import type { DataPointer } from './pointer.js';
import { md5Of, type Md5Index } from './md5-index.js';

export const neededByOf = (p: DataPointer): string =>
  `${p.path} (tracked by ${p.file}${p.importFrom ? `, imported from ${p.importFrom.url}@${(p.importFrom.revLock ?? p.importFrom.rev ?? 'HEAD').slice(0, 12)}` : ''})`;

/** The local record of a pointer's data: its xxh64 when known and fully in the cache. */
export async function localRecord(p: DataPointer, store: LocalStore, index: Md5Index): Promise<FileRecord | undefined> {
  if (!p.md5) return undefined;
  const xxh = p.xxh64 ?? index.xxhOf(p.md5, p.md5Kind);
  if (!xxh) return undefined;
  const rec: FileRecord = { path: p.path, hash: contentHash(xxh), size: p.size ?? 0 };
  if (!(await store.has([rec]))) return undefined;
  if (xxh.endsWith('.dir')) {
    const m = store.readManifest(xxh)!;
    return { ...rec, size: m.reduce((s, e) => s + e.size, 0), nfiles: m.length };
  }
  return rec;
}

/** Whether the workspace holds the pointer's data: `ok`, `changed` or `missing` (and its record). */
export async function workspaceState(
  p: DataPointer,
  files: FileHasher,
  index: Md5Index,
  root: string,
): Promise<{ state: 'ok' | 'changed' | 'missing' | 'unrecorded'; record?: FileRecord; md5?: string }> {
  const now = await md5Of(files, index, root, p.path, p.md5Kind);
  if (!now) return { state: 'missing' };
  if (!p.md5) return { state: 'unrecorded', record: now.record, md5: now.md5 };
  return { state: now.md5 === p.md5 ? 'ok' : 'changed', record: now.record, md5: now.md5 };
}

export interface DataMove {
  readonly remote: { readonly dvc?: DvcObjects; readonly mlbuild?: Transfer };
  /** For fetching an import from its source repository's remote. */
  readonly hasher: Hasher;
  readonly jobs: number;
  readonly store: LocalStore;
  readonly index: Md5Index;
  readonly files: FileHasher;
  readonly root: string;
}

/** Fetches each pointer's data into the local cache; the records now there (for checkout). */
export async function fetchPointers(pointers: readonly DataPointer[], m: DataMove, result: TransferResult): Promise<{ pointer: DataPointer; record: FileRecord }[]> {
  const got: { pointer: DataPointer; record: FileRecord }[] = [];
  for (const p of pointers) {
    if (!p.md5) continue;
    const local = await localRecord(p, m.store, m.index);
    if (local) {
      result.present++;
      got.push({ pointer: p, record: local });
      continue;
    }
    const w = { path: p.path, md5: p.md5, kind: p.md5Kind, ...(p.size !== undefined && !p.md5.endsWith('.dir') ? { size: p.size } : {}), neededBy: neededByOf(p) };
    // An import is tried on the project's remote first (quietly), then on its source repository's.
    const first = p.importFrom ? emptyResult() : result;
    let rec: FileRecord | undefined;
    if (m.remote.dvc) {
      rec = await m.remote.dvc.fetch(w, first);
    } else if (m.remote.mlbuild && p.xxh64) {
      const want: FileRecord = { path: p.path, hash: contentHash(p.xxh64), size: p.size ?? 0 };
      const before = first.failed.length + first.missing.length;
      await m.remote.mlbuild.fetch([{ record: want, neededBy: neededByOf(p) }], first);
      if (first.failed.length + first.missing.length === before) rec = await localRecord(p, m.store, m.index);
    } else if (!p.importFrom) {
      result.missing.push({ object: p.md5, neededBy: neededByOf(p), message: `${p.file} records only DVC's md5, and this remote uses mlbuild's layout: pull it from the DVC remote in .dvc/config (-r NAME)` });
    }
    if (!rec && p.importFrom) {
      const src = await openImportRemote(p.importFrom);
      if ('problem' in src) {
        const own = [...first.failed, ...first.missing].map((f) => f.message).join('; ') || 'not on this project\'s remote';
        result.missing.push({ object: p.md5, neededBy: neededByOf(p), message: `not on this project's remote (${own}), and its source cannot be read: ${src.problem}` });
      } else {
        rec = await new DvcObjects(m.store, src.remote, m.hasher, m.index, m.jobs).fetch(w, result);
      }
    } else if (p.importFrom) {
      result.transferred += first.transferred;
      result.bytes += first.bytes;
      result.present += first.present;
    }
    if (rec) got.push({ pointer: p, record: rec });
  }
  return got;
}

/** Puts fetched pointer data into the workspace where it differs; what was restored and what could not be. */
export async function checkoutPointers(got: readonly { pointer: DataPointer; record: FileRecord }[], m: DataMove): Promise<{ restored: string[]; missing: string[] }> {
  return checkoutOuts(
    m.store,
    m.files,
    got.map((g) => ({ stage: g.pointer.file, out: g.record })),
  );
}

/** Pushes each pointer's data; workspace data matching its pointer is cached first. */
export async function pushPointers(pointers: readonly DataPointer[], m: DataMove, result: TransferResult): Promise<void> {
  for (const p of pointers) {
    if (!p.md5) continue;
    let rec = await localRecord(p, m.store, m.index);
    if (!rec) {
      const ws = await workspaceState(p, m.files, m.index, m.root);
      if (ws.state === 'ok' && ws.record) {
        await m.store.save([ws.record]);
        rec = ws.record;
      }
    }
    if (!rec) {
      result.missing.push({ object: p.md5, neededBy: neededByOf(p), message: 'neither in the local cache nor in the workspace as recorded' });
      continue;
    }
    if (m.remote.dvc) {
      // Under the pointer's own kind: a DVC 2 pointer's data goes where DVC looks for it, by its dos2unix md5.
      await m.remote.dvc.push(rec, neededByOf(p), result, p.md5Kind);
    } else if (m.remote.mlbuild) {
      await m.remote.mlbuild.push([{ record: rec, neededBy: neededByOf(p) }], result);
    }
  }
}
