/**
 * CacheStore: where out contents are kept by hash, and the run-cache (fingerprint -> outs). The
 * stage run asks it two things: "can you put these recorded outs back?" and "save what I produced".
 * It knows nothing of stages, staleness or the lockfile.
 */
import type { FileRecord } from '../hashing/file-hasher.js';
import type { FpHash } from '../util/brand.js';

export interface CacheStore {
  /** True when every object needed to restore `records` is in the cache. */
  has(records: readonly FileRecord[]): Promise<boolean>;
  /** Puts the recorded content at each record's path (replacing what is there). */
  restore(records: readonly FileRecord[]): Promise<void>;
  /** Copies (or links) the current content of `records` into the cache. */
  save(records: readonly FileRecord[]): Promise<void>;
  /** Run-cache: the outs a fingerprint produced before, newest first. */
  lookupRun(fp: FpHash): Promise<FileRecord[] | undefined>;
  recordRun(fp: FpHash, outs: readonly FileRecord[]): Promise<void>;
  /** Gives a workspace out its own writable copy (it may be linked to a read-only object), for persist outs. */
  unprotect(path: string): void;
}

/** What a fetch from a remote brought, or why it could not (the object and the out that needed it). */
export type Fetched = { readonly ok: true; readonly files: number; readonly bytes: number } | { readonly ok: false; readonly message: string };

/**
 * A remote cache a stale stage may fetch its outs from instead of running (`repro --pull`).
 * Fetched objects are verified before they enter the local cache; restoring stays the CacheStore's.
 */
export interface RemoteSource {
  readonly name: string;
  /** Brings the objects of `records` into the local cache. */
  fetch(records: readonly FileRecord[], stage: string): Promise<Fetched>;
  /** The remote run-cache entry of `fp`, with its objects fetched; undefined when the remote has none. */
  fetchRun(fp: FpHash, stage: string): Promise<{ outs: FileRecord[]; fetched: Fetched } | undefined>;
}
