/**
 * Adopting DVC's `dvc.lock`: switching from DVC should not retrain what DVC already built. A stage
 * with no `mlbuild.lock` entry whose `dvc.lock` entry matches the workspace (same cmd, same
 * declared deps and outs with the md5s DVC recorded, same param values) is taken as up to date:
 * its mlbuild entry is made from the current xxh64 records, and status and repro say "adopted
 * from dvc.lock". Any difference leaves the stage `new`, as before.
 *
 *   schema: '2.0'
 *   stages:
 *     prepare:
 *       cmd: python src/prepare.py data/data.xml
 *       deps: [{path: data/data.xml, hash: md5, md5: 22a1..., size: 14445097}]
 *       params: {params.yaml: {prepare.seed: 20170428, prepare.split: 0.2}}
 *       outs: [{path: data/prepared, hash: md5, md5: 153a....dir, size: 8437363, nfiles: 2}]
 *
 * Paths in dvc.lock are relative to the stage's wdir. Without `hash: md5` a record is DVC 2's
 * md5-dos2unix. It reads dvc.lock and hashes; writing dvc.lock back is dvc-lock-write.ts's job.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Stage } from '../model/stage.js';
import type { FileHasher, FileRecord } from '../hashing/file-hasher.js';
import type { Md5Kind } from '../hashing/md5.js';
import { canonicalJson } from '../hashing/fingerprint.js';
import { md5Of, Md5Index } from '../data/md5-index.js';
import type { LockEntry } from './lockfile.js';

export const DVC_LOCK = 'dvc.lock';

interface DvcLockRecord {
  readonly path: string;
  readonly md5?: string;
  readonly kind: Md5Kind;
}

export interface DvcLockEntry {
  readonly cmd: readonly string[];
  readonly deps: readonly DvcLockRecord[];
  /** Params by file (as dvc.lock groups them, relative to the stage's wdir): key -> value. */
  readonly params: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly outs: readonly DvcLockRecord[];
}

/** The stages of `dvc.lock` beside the pipeline; an absent or unreadable file adopts nothing. */
export async function readDvcLock(root: string): Promise<Map<string, DvcLockEntry>> {
  const entries = new Map<string, DvcLockEntry>();
  let raw: unknown;
  try {
    const text = fs.readFileSync(path.join(root, DVC_LOCK), 'utf8');
    // Loaded only here: a project without a dvc.lock never compiles the yaml package.
    const { parseYaml } = await import('../util/yaml-parse.js');
    raw = parseYaml(text);
  } catch {
    return entries;
  }
  const stages = (raw as { stages?: unknown } | null)?.stages;
  if (typeof stages !== 'object' || stages === null) return entries;
  const records = (v: unknown): DvcLockRecord[] =>
    (Array.isArray(v) ? v : [])
      .filter((r): r is { path: string; md5?: unknown; hash?: unknown } => typeof r === 'object' && r !== null && typeof (r as { path?: unknown }).path === 'string')
      .map((r) => ({ path: r.path, ...(typeof r.md5 === 'string' ? { md5: r.md5 } : {}), kind: r.hash === 'md5' ? 'md5' : 'md5-dos2unix' }));
  for (const [name, e] of Object.entries(stages as Record<string, { cmd?: unknown; deps?: unknown; params?: unknown; outs?: unknown }>)) {
    if (typeof e !== 'object' || e === null) continue;
    const cmd = typeof e.cmd === 'string' ? [e.cmd] : Array.isArray(e.cmd) ? e.cmd.map(String) : [];
    // params.yaml's keys as they are; another file's as `<file>:<key>` (config/param-files.ts), file relative to wdir.
    const params: Record<string, Record<string, unknown>> = {};
    if (typeof e.params === 'object' && e.params !== null) {
      for (const [file, keys] of Object.entries(e.params as Record<string, unknown>)) if (typeof keys === 'object' && keys !== null) params[file] = keys as Record<string, unknown>;
    }
    entries.set(name, { cmd, deps: records(e.deps), params, outs: records(e.outs) });
  }
  return entries;
}

/** Decides adoption for stages without an mlbuild.lock entry. */
export class DvcLockAdopter {
  /** Parsed on the first stage that needs it: a project whose stages are all in mlbuild.lock never parses dvc.lock. */
  private parsed: Promise<ReadonlyMap<string, DvcLockEntry>> | undefined;
  private index: Md5Index | undefined;

  private constructor(
    private readonly root: string,
    private readonly mlcacheDir: string,
    private readonly files: FileHasher,
  ) {}

  /** An adopter when the project has a dvc.lock. */
  static open(root: string, mlcacheDir: string, files: FileHasher): DvcLockAdopter | undefined {
    return fs.existsSync(path.join(root, DVC_LOCK)) ? new DvcLockAdopter(root, mlcacheDir, files) : undefined;
  }

  private entries(): Promise<ReadonlyMap<string, DvcLockEntry>> {
    this.parsed ??= readDvcLock(this.root);
    return this.parsed;
  }

  saveIndex(): void {
    this.index?.save();
  }

  /** The mlbuild entry to adopt for `stage`, or undefined when dvc.lock does not describe the workspace. */
  async adopt(stage: Stage, deps: ReadonlyMap<string, FileRecord | undefined>, outs: ReadonlyMap<string, FileRecord | undefined>, params: Readonly<Record<string, unknown>>): Promise<LockEntry | undefined> {
    const e = (await this.entries()).get(stage.name);
    if (!e) return undefined;
    const index = (this.index ??= Md5Index.load(this.mlcacheDir));
    if (e.cmd.length !== stage.cmd.length || e.cmd.some((c, i) => c !== stage.cmd[i])) return undefined;
    const rel = (p: string): string => path.posix.normalize(path.posix.join(stage.wdir || '.', p));
    const matches = async (recs: readonly DvcLockRecord[], declared: readonly string[]): Promise<boolean> => {
      const byPath = new Map(recs.map((r) => [rel(r.path), r]));
      if (byPath.size !== new Set(declared).size || declared.some((p) => !byPath.has(p))) return false;
      for (const p of declared) {
        const r = byPath.get(p)!;
        if (!r.md5) return false;
        const now = await md5Of(this.files, index, this.root, p, r.kind);
        if (!now || now.md5 !== r.md5) return false;
      }
      return true;
    };
    const locked: Record<string, unknown> = {};
    for (const [file, keys] of Object.entries(e.params)) {
      const rel = path.posix.normalize(path.posix.join(stage.wdir || '.', file));
      for (const [k, v] of Object.entries(keys)) locked[file === 'params.yaml' ? k : `${rel}:${k}`] = v;
    }
    for (const k of Object.keys(params)) if (!(k in locked) || canonicalJson(locked[k]) !== canonicalJson(params[k])) return undefined;
    if (!(await matches(e.deps, stage.deps.map((d) => d.path)))) return undefined;
    if (!(await matches(e.outs, stage.outs.map((o) => o.path)))) return undefined;
    const depRecs = stage.deps.map((d) => deps.get(d.path));
    const outRecs = stage.outs.map((o) => outs.get(o.path));
    if (depRecs.some((r) => !r) || outRecs.some((r) => !r)) return undefined;
    const cmd = stage.cmd.length === 1 ? stage.cmd[0]! : [...stage.cmd];
    return { cmd, deps: depRecs as FileRecord[], params: { ...params }, outs: outRecs as FileRecord[] };
  }
}
