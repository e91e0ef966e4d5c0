/**
 * Garbage collection of the local cache: removes every object that no kept lockfile references
 * (the workspace's, and with `allCommits` every commit's `mlbuild.lock`), stray temp files of
 * killed runs, and run-cache lines whose objects are gone. It never touches the workspace.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileRecord } from '../hashing/file-hasher.js';
import type { LocalStore } from './local-store.js';

export interface GcPlan {
  readonly keep: ReadonlySet<string>;
  readonly remove: readonly string[];
  readonly temps: readonly string[];
  readonly bytes: number;
}

/** Every object hash `records` need: the file hashes, and for directories the manifest and its entries. */
export function referencedObjects(store: LocalStore, records: Iterable<FileRecord>): Set<string> {
  const keep = new Set<string>();
  for (const r of records) {
    keep.add(r.hash);
    if (r.hash.endsWith('.dir')) for (const e of store.readManifest(r.hash) ?? []) keep.add(e.hash);
  }
  return keep;
}

export function planGc(store: LocalStore, keep: ReadonlySet<string>): GcPlan {
  const { hashes, temps } = store.listObjects();
  const remove = hashes.filter((h) => !keep.has(h));
  let bytes = 0;
  for (const h of remove) bytes += fs.statSync(store.objectPath(h)).size;
  return { keep, remove, temps, bytes };
}

export function applyGc(store: LocalStore, plan: GcPlan): { runEntriesDropped: number } {
  for (const h of plan.remove) fs.rmSync(store.objectPath(h), { force: true });
  for (const t of plan.temps) fs.rmSync(t, { force: true });
  return { runEntriesDropped: pruneRunCache(store) };
}

/** Drops run-cache lines that point at objects no longer in the cache; removes emptied files. */
function pruneRunCache(store: LocalStore): number {
  let dropped = 0;
  let dirs: string[] = [];
  try {
    dirs = fs.readdirSync(store.runsDir);
  } catch {
    return 0;
  }
  for (const d of dirs) {
    for (const f of fs.readdirSync(path.join(store.runsDir, d))) {
      const file = path.join(store.runsDir, d, f);
      const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
      const kept = lines.filter((l) => {
        try {
          const outs = (JSON.parse(l) as { outs: FileRecord[] }).outs;
          return outs.every((o) => fs.existsSync(store.objectPath(o.hash)) && (!o.hash.endsWith('.dir') || (store.readManifest(o.hash) ?? []).every((e) => fs.existsSync(store.objectPath(e.hash)))));
        } catch {
          return false;
        }
      });
      dropped += lines.length - kept.length;
      if (kept.length === 0) fs.rmSync(file);
      else if (kept.length !== lines.length) {
        const tmp = `${file}.tmp-${process.pid}`;
        fs.writeFileSync(tmp, kept.join('\n') + '\n');
        fs.renameSync(tmp, file);
      }
    }
  }
  return dropped;
}
