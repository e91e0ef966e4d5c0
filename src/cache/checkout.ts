/**
 * Putting the outs a lockfile records back into the workspace from the local cache (`checkout`,
 * and `pull` after its fetch). Outs already matching their record are left alone; an out whose
 * objects are not in the cache is reported, never half-restored.
 */
import type { FileHasher, FileRecord } from '../hashing/file-hasher.js';
import type { CacheStore } from './store.js';

export interface RecordedOut {
  readonly stage: string;
  readonly out: FileRecord;
}

export async function checkoutOuts(store: CacheStore, files: FileHasher, outs: readonly RecordedOut[]): Promise<{ restored: string[]; missing: string[] }> {
  const restored: string[] = [];
  const missing: string[] = [];
  for (const { stage, out } of outs) {
    const now = await files.hash(out.path);
    if (now?.hash === out.hash) continue;
    if (!(await store.has([out]))) {
      missing.push(`${out.path} (stage '${stage}')`);
      continue;
    }
    await store.restore([out]);
    restored.push(out.path);
  }
  return { restored, missing };
}
