/**
 * Keeping `dvc.lock` written beside `mlbuild.lock` (opt-in: `core.write_dvc_lock: true`), so DVC
 * users on the same branch see the same state: `dvc status` is clean and `dvc pull` (from a DVC
 * remote mlbuild pushed to) brings the outs.
 *
 * Each stage mlbuild.lock records becomes a DVC 3 entry: cmd; deps and outs as
 * `{path, hash: md5, md5, size, nfiles}` (paths relative to the stage's wdir, md5 by DVC's rules
 * through the Md5Index); params grouped by file (`params.yaml`, DVC's default, or the custom file
 * a `<file>:<key>` param names). A stage
 * whose workspace no longer matches its mlbuild.lock entry is left out rather than written with a
 * hash that describes neither. Stages are written in pipeline order; the file is replaced
 * atomically and only when its text changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { Stage } from '../model/stage.js';
import type { FileHasher, FileRecord } from '../hashing/file-hasher.js';
import { md5Of, type Md5Index } from '../data/md5-index.js';
import { atomicWriteFile } from '../util/atomic-write.js';
import { DVC_LOCK } from './dvc-lock.js';
import type { Lockfile } from './lockfile.js';

type DvcRecord = { path: string; hash: 'md5'; md5: string; size: number; nfiles?: number };

async function records(stage: Stage, locked: readonly FileRecord[], files: FileHasher, index: Md5Index, root: string): Promise<DvcRecord[] | undefined> {
  const out: DvcRecord[] = [];
  for (const r of locked) {
    const now = await md5Of(files, index, root, r.path, 'md5');
    if (!now || now.record.hash !== r.hash) return undefined;
    const rel = path.posix.relative(stage.wdir || '.', r.path) || '.';
    out.push({ path: rel, hash: 'md5', md5: now.md5, size: now.record.size, ...(now.record.nfiles !== undefined ? { nfiles: now.record.nfiles } : {}) });
  }
  return out;
}

/** Writes dvc.lock for `stages` from `lockfile`; returns the stages left out (workspace differs). */
export async function writeDvcLock(root: string, stages: readonly Stage[], lockfile: Lockfile, files: FileHasher, index: Md5Index): Promise<string[]> {
  const doc: Record<string, unknown> = {};
  const skipped: string[] = [];
  for (const stage of stages) {
    const e = lockfile.get(stage.name);
    if (!e) continue;
    const deps = await records(stage, e.deps, files, index, root);
    const outs = await records(stage, e.outs, files, index, root);
    if (!deps || !outs) {
      skipped.push(stage.name);
      continue;
    }
    const entry: Record<string, unknown> = { cmd: e.cmd };
    if (deps.length) entry.deps = deps;
    if (Object.keys(e.params).length) {
      // `custom.yaml:a.b` (config/param-files.ts) goes under its own file, relative to the wdir, as DVC groups them.
      const byFile: Record<string, Record<string, unknown>> = {};
      for (const [k, v] of Object.entries(e.params)) {
        const sep = k.indexOf(':');
        const file = sep > 0 ? path.posix.relative(stage.wdir || '.', k.slice(0, sep)) : 'params.yaml';
        (byFile[file] ??= {})[sep > 0 ? k.slice(sep + 1) : k] = v;
      }
      entry.params = byFile;
    }
    if (outs.length) entry.outs = outs;
    doc[stage.name] = entry;
  }
  const text = stringify({ schema: '2.0', stages: doc }, { lineWidth: 0, indentSeq: false, defaultStringType: 'PLAIN', singleQuote: true });
  const file = path.join(root, DVC_LOCK);
  let before: string | undefined;
  try {
    before = fs.readFileSync(file, 'utf8');
  } catch {
    before = undefined;
  }
  if (before !== text) await atomicWriteFile(file, text);
  index.save();
  return skipped;
}
