/**
 * Judging one stage after the clean rebuild: its committed lock entry (HEAD's mlbuild.lock) against
 * the entry the rebuild recorded. The order of the questions matters:
 *   1. did it rebuild at all (failed, skipped, frozen)?
 *   2. does the committed entry describe HEAD (same cmd, params, dep/out sets, source deps)? If not,
 *      the lockfile is stale and comparing outs would say nothing: `stale`, with the reasons
 *      `status` gives (a stage whose only changed deps come from an upstream stage that did not
 *      reproduce is `upstream-differs`, not blamed itself);
 *   3. only then: do the outs hash the same? If not, the stage is nondeterministic: `differs`.
 * Pure: hashes and manifests in, verdicts out. Reading manifests is the caller's job.
 */
import type { Stage } from '../model/stage.js';
import type { LockEntry } from '../state/lockfile.js';
import type { FileRecord, ManifestEntry } from '../hashing/file-hasher.js';
import type { StageName } from '../util/brand.js';
import { staleReasons } from '../run/freshness.js';
import type { Reason } from '../run/reason.js';

export interface FileDifference {
  /** Project-relative path of the first differing file (inside a directory out, or the out itself). */
  readonly path: string;
  /** changed: both have it, contents differ; missing: only the lock has it; extra: only the rebuild. */
  readonly kind: 'changed' | 'missing' | 'extra';
  readonly locked?: string;
  readonly rebuilt?: string;
}

export interface OutDifference {
  readonly path: string;
  readonly locked: string;
  readonly rebuilt: string;
  /** The first differing file, when both sides could be read; else `note` says why not. */
  readonly first?: FileDifference;
  readonly note?: string;
}

export type Verdict =
  | { readonly kind: 'reproduced' }
  | { readonly kind: 'differs'; readonly outs: readonly OutDifference[] }
  | { readonly kind: 'stale'; readonly reasons: readonly Reason[] }
  | { readonly kind: 'upstream-differs'; readonly stages: readonly StageName[] }
  | { readonly kind: 'failed'; readonly message: string }
  | { readonly kind: 'frozen' };

/** Outs whose hashes differ, in out order, without their first differing file yet. */
export function differingOuts(committed: LockEntry, rebuilt: LockEntry): OutDifference[] {
  const now = new Map(rebuilt.outs.map((o) => [o.path, o]));
  const diffs: OutDifference[] = [];
  for (const o of committed.outs) {
    const r = now.get(o.path);
    if (r && r.hash !== o.hash) diffs.push({ path: o.path, locked: o.hash, rebuilt: r.hash });
  }
  return diffs;
}

/**
 * The stage's verdict. `producersOf` names the stages making a dep path; `unreproduced` holds the
 * upstream stages already judged anything but reproduced (judge in topological order).
 */
export function judgeStage(
  stage: Stage,
  committed: LockEntry | undefined,
  rebuilt: LockEntry | undefined,
  producersOf: (path: string) => readonly StageName[],
  unreproduced: ReadonlySet<StageName>,
): Verdict {
  if (!committed) return { kind: 'stale', reasons: [{ kind: 'new' }] };
  if (!rebuilt) return { kind: 'failed', message: 'the rebuild recorded no entry' };
  const current = {
    deps: new Map<string, FileRecord | undefined>(rebuilt.deps.map((d) => [d.path, d])),
    params: rebuilt.params,
    outs: new Map<string, FileRecord | undefined>(rebuilt.outs.map((o) => [o.path, o])),
  };
  const upstream = new Set<StageName>();
  const reasons: Reason[] = [];
  for (const r of staleReasons(stage, committed, current, { forced: false, interrupted: false })) {
    // Out hashes are what verify compares next; always_changed says nothing about HEAD's lockfile.
    if (r.kind === 'outs-changed' || r.kind === 'outs-missing' || r.kind === 'always-changed') continue;
    if (r.kind !== 'deps-changed') {
      reasons.push(r);
      continue;
    }
    const own: string[] = [];
    for (const p of r.paths) {
      const blamed = producersOf(p).filter((s) => unreproduced.has(s));
      if (blamed.length > 0) for (const s of blamed) upstream.add(s);
      else own.push(p);
    }
    if (own.length > 0) reasons.push({ kind: 'deps-changed', paths: own });
  }
  if (reasons.length > 0) return { kind: 'stale', reasons };
  if (upstream.size > 0) return { kind: 'upstream-differs', stages: [...upstream].sort() };
  const outs = differingOuts(committed, rebuilt);
  return outs.length === 0 ? { kind: 'reproduced' } : { kind: 'differs', outs };
}

/**
 * The first file (in manifest order) that differs between two directory manifests, or undefined
 * when they list the same files with the same hashes. Both are sorted by relpath, as the hasher
 * writes them.
 */
export function firstManifestDifference(dir: string, locked: readonly ManifestEntry[], rebuilt: readonly ManifestEntry[]): FileDifference | undefined {
  const at = (rel: string): string => (dir === '' ? rel : `${dir}/${rel}`);
  let i = 0;
  let j = 0;
  while (i < locked.length || j < rebuilt.length) {
    const a = locked[i];
    const b = rebuilt[j];
    if (a && (!b || a.relpath < b.relpath)) return { path: at(a.relpath), kind: 'missing', locked: a.hash };
    if (b && (!a || b.relpath < a.relpath)) return { path: at(b.relpath), kind: 'extra', rebuilt: b.hash };
    if (a!.hash !== b!.hash) return { path: at(a!.relpath), kind: 'changed', locked: a!.hash, rebuilt: b!.hash };
    i++;
    j++;
  }
  return undefined;
}
