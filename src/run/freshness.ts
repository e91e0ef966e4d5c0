/**
 * Freshness: compares a stage's current inputs and outs with its lockfile entry and returns every
 * reason it is stale (empty = fresh). `staleReasons` is pure and is the single place that implements
 * contract section 4's change rules; `inspectStage` gathers its inputs (params, dep and out hashes).
 */
import type { ParamTree, Stage } from '../model/stage.js';
import type { FileHasher, FileRecord } from '../hashing/file-hasher.js';
import type { Lockfile, LockEntry } from '../state/lockfile.js';
import { paramDepValue } from '../config/param-keys.js';
import { canonicalJson } from '../hashing/fingerprint.js';
import type { Reason } from './reason.js';
import type { DvcLockAdopter } from '../state/dvc-lock.js';

export interface CurrentState {
  /** Hash of each declared dep; undefined when the dep is missing. */
  readonly deps: ReadonlyMap<string, FileRecord | undefined>;
  /** Value of each declared param key. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Hash of each declared out; undefined when missing. */
  readonly outs: ReadonlyMap<string, FileRecord | undefined>;
}

export interface FreshnessFlags {
  readonly forced: boolean;
  readonly interrupted: boolean;
}

export const cmdText = (cmd: readonly string[]): string | string[] => (cmd.length === 1 ? cmd[0]! : [...cmd]);

function sameCmd(stage: Stage, entry: LockEntry): boolean {
  const locked = typeof entry.cmd === 'string' ? [entry.cmd] : entry.cmd;
  return locked.length === stage.cmd.length && locked.every((c, i) => c === stage.cmd[i]);
}

export function staleReasons(stage: Stage, entry: LockEntry | undefined, cur: CurrentState, flags: FreshnessFlags): Reason[] {
  const reasons: Reason[] = [];
  if (flags.forced) reasons.push({ kind: 'forced' });
  if (!entry) {
    reasons.push({ kind: 'new' });
    return reasons;
  }
  if (flags.interrupted) reasons.push({ kind: 'interrupted' });
  if (stage.alwaysChanged) reasons.push({ kind: 'always-changed' });
  if (!sameCmd(stage, entry)) reasons.push({ kind: 'cmd-changed' });

  // Plain loops, no intermediate arrays: this runs for every dep of every stage on each no-op.
  const lockedDeps = new Map<string, FileRecord>();
  for (const d of entry.deps) lockedDeps.set(d.path, d);
  const declaredDeps = new Set<string>();
  const added: string[] = [];
  const changed: string[] = [];
  const missing: string[] = [];
  for (const d of stage.deps) {
    const p = d.path;
    if (declaredDeps.has(p)) continue;
    declaredDeps.add(p);
    const old = lockedDeps.get(p);
    if (!old) {
      added.push(p);
      continue;
    }
    const now = cur.deps.get(p);
    if (!now) missing.push(p);
    else if (now.hash !== old.hash) changed.push(p);
  }
  const removed: string[] = [];
  if (lockedDeps.size !== declaredDeps.size - added.length) for (const p of lockedDeps.keys()) if (!declaredDeps.has(p)) removed.push(p);
  if (changed.length) reasons.push({ kind: 'deps-changed', paths: changed });
  if (missing.length) reasons.push({ kind: 'deps-missing', paths: missing });
  if (added.length) reasons.push({ kind: 'deps-added', paths: added });
  if (removed.length) reasons.push({ kind: 'deps-removed', paths: removed });

  const lockedParams = entry.params;
  const declaredKeys = Object.keys(cur.params);
  const pAdded = declaredKeys.filter((k) => !(k in lockedParams));
  const pRemoved = Object.keys(lockedParams).filter((k) => !(k in cur.params));
  const pChanged = declaredKeys.filter((k) => k in lockedParams && canonicalJson(lockedParams[k]) !== canonicalJson(cur.params[k]));
  if (pChanged.length) reasons.push({ kind: 'params-changed', keys: pChanged });
  if (pAdded.length) reasons.push({ kind: 'params-added', keys: pAdded });
  if (pRemoved.length) reasons.push({ kind: 'params-removed', keys: pRemoved });

  const lockedOuts = new Map(entry.outs.map((o) => [o.path, o]));
  const declaredOuts = new Set(stage.outs.map((o) => o.path));
  const oAdded = [...declaredOuts].filter((p) => !lockedOuts.has(p));
  const oRemoved = [...lockedOuts.keys()].filter((p) => !declaredOuts.has(p));
  if (oAdded.length) reasons.push({ kind: 'outs-added', paths: oAdded });
  if (oRemoved.length) reasons.push({ kind: 'outs-removed', paths: oRemoved });
  const oMissing: string[] = [];
  const oChanged: string[] = [];
  for (const o of stage.outs) {
    const old = lockedOuts.get(o.path);
    if (!old) continue;
    const now = cur.outs.get(o.path);
    if (!now) oMissing.push(o.path);
    else if (now.hash !== old.hash) oChanged.push(o.path);
  }
  if (oMissing.length) reasons.push({ kind: 'outs-missing', paths: oMissing });
  if (oChanged.length) reasons.push({ kind: 'outs-changed', paths: oChanged });
  return reasons;
}

/** What inspecting a stage needs: the hasher, the params tree, the lockfile, the interrupted set. */
export interface InspectContext {
  readonly files: FileHasher;
  readonly params: ParamTree;
  /** Custom params files' trees by project-relative path (`params: [{custom.yaml: [...]}]`). */
  readonly fileParams: Readonly<Record<string, ParamTree>>;
  readonly lockfile: Lockfile;
  readonly interrupted: ReadonlySet<string>;
  /** Adopts a `dvc.lock` entry for a stage mlbuild.lock does not know (state/dvc-lock.ts). */
  readonly adopter?: DvcLockAdopter;
}

export interface Inspection {
  readonly reasons: Reason[];
  readonly missingDeps: string[];
  readonly entry: LockEntry | undefined;
  /** Records of the deps that exist, and the declared params' values, as the lock entry would hold them. */
  readonly deps: FileRecord[];
  readonly paramValues: Record<string, unknown>;
  /** The entry came from dvc.lock (the stage matched it) rather than mlbuild.lock. */
  readonly adopted: boolean;
}

export async function inspectStage(stage: Stage, ctx: InspectContext, forced: boolean): Promise<Inspection> {
  const paramValues: Record<string, unknown> = {};
  for (const p of stage.params) {
    const v = paramDepValue(p, ctx.params, ctx.fileParams);
    paramValues[p.key] = v.found ? v.value : null;
  }
  // Synchronous where possible: a no-op checks thousands of deps, and a promise each adds up.
  const hash = (p: string): FileRecord | undefined | Promise<FileRecord | undefined> => {
    const now = ctx.files.hashNow(p);
    return now === 'async' ? ctx.files.hash(p) : now;
  };
  const depMap = new Map<string, FileRecord | undefined>();
  const missingDeps: string[] = [];
  for (const d of stage.deps) {
    let rec = hash(d.path);
    if (rec instanceof Promise) rec = await rec;
    depMap.set(d.path, rec);
    if (!rec) missingDeps.push(d.path);
  }
  const outMap = new Map<string, FileRecord | undefined>();
  for (const o of stage.outs) {
    let rec = hash(o.path);
    if (rec instanceof Promise) rec = await rec;
    outMap.set(o.path, rec);
  }
  let entry = ctx.lockfile.get(stage.name);
  let adopted = false;
  if (!entry && ctx.adopter) {
    entry = await ctx.adopter.adopt(stage, depMap, outMap, paramValues);
    adopted = entry !== undefined;
  }
  const reasons = staleReasons(stage, entry, { deps: depMap, params: paramValues, outs: outMap }, { forced, interrupted: ctx.interrupted.has(stage.name) });
  const deps = [...depMap.values()].filter((r): r is FileRecord => r !== undefined);
  return { reasons, missingDeps, entry, deps, paramValues, adopted };
}
