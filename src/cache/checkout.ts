/**
 * Putting the outs a lockfile records back into the workspace from the local cache (`checkout`,
 * and `pull` after its fetch). Outs already matching their record are left alone; an out whose
 * objects are not in the cache is reported, never half-restored. Every object is verified as it is
 * placed: a corrupt one is quarantined and its out reported as failed (the others still restore),
 * as is an out that cannot be written (a full disk).
 */
import type { FileHasher, FileRecord } from '../hashing/file-hasher.js';
import type { CacheStore } from './store.js';

export interface RecordedOut {
  readonly stage: string;
  readonly out: FileRecord;
}

export interface CheckoutResult {
  readonly restored: string[];
  /** `path (stage 'x')` of outs whose objects the cache lacks. */
  readonly missing: string[];
  /** `path (stage 'x'): why` of outs that could not be restored (corrupt object, I/O error). */
  readonly failed: string[];
}

export async function checkoutOuts(store: CacheStore, files: FileHasher, outs: readonly RecordedOut[]): Promise<CheckoutResult> {
  const restored: string[] = [];
  const missing: string[] = [];
  const failed: string[] = [];
  for (const { stage, out } of outs) {
    const now = await files.hash(out.path);
    if (now?.hash === out.hash) continue;
    if (!(await store.has([out]))) {
      missing.push(`${out.path} (stage '${stage}')`);
      continue;
    }
    try {
      await store.restore([out]);
    } catch (e) {
      failed.push(`${out.path} (stage '${stage}'): ${e instanceof Error ? e.message : String(e)}`);
      continue;
    }
    restored.push(out.path);
  }
  return { restored, missing, failed };
}
