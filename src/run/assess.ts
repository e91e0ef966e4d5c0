/**
 * Assessment without running anything: for each planned stage, in topological order, the reasons it
 * is stale, and whether it would only be restored. A stage whose own inputs are unchanged but whose
 * upstream would run is reported as `upstream-stale` (it may or may not run, depending on whether
 * the upstream's bytes change). Used by `status` and `repro --dry`.
 */
import type { Plan } from '../graph/plan.js';
import type { Pipeline } from '../graph/pipeline.js';
import type { StageName } from '../util/brand.js';
import type { Reason } from './reason.js';
import { isOutsOnly, restorableOuts } from './reason.js';
import { inspectStage, type InspectContext } from './freshness.js';
import type { CacheStore } from '../cache/store.js';
import type { LockEntry } from '../state/lockfile.js';

export interface Assessment {
  readonly stage: StageName;
  readonly frozen: boolean;
  readonly reasons: readonly Reason[];
  /** Would be satisfied by restoring the recorded outs from the cache. */
  readonly restorable: boolean;
  /** Up to date by its dvc.lock entry (no mlbuild.lock entry yet). */
  readonly adopted?: boolean;
}

export interface AssessOptions {
  /**
   * A fresh clone has no outs and maybe no untracked data: judge the lockfile against what is
   * there (DVC's `--allow-missing`). Missing outs and missing deps are not reasons, but a dep that
   * another stage makes must be recorded with the hash that stage's entry gives its out, so the
   * lockfile still has to be consistent from end to end.
   */
  readonly allowMissing?: boolean;
}

export async function assess(
  plan: Plan,
  pipeline: Pipeline,
  ctx: InspectContext,
  cache: CacheStore,
  forced: (s: StageName) => boolean,
  opts: AssessOptions = {},
): Promise<Assessment[]> {
  const willChange = new Set<StageName>();
  const result: Assessment[] = [];
  for (const name of plan.stages) {
    const stage = pipeline.stages.get(name)!;
    if (stage.frozen) {
      result.push({ stage: name, frozen: true, reasons: [], restorable: false });
      continue;
    }
    const inspected = await inspectStage(stage, ctx, forced(name));
    const { entry } = inspected;
    const reasons = opts.allowMissing ? withoutMissing(inspected.reasons, entry, pipeline, ctx) : inspected.reasons;
    const staleUp = (plan.upstream.get(name) ?? []).filter((u) => willChange.has(u));
    // A new stage runs anyway; naming its stale upstream would only add noise.
    const isNew = reasons.some((r) => r.kind === 'new');
    const all = staleUp.length > 0 && !isNew ? [...reasons, { kind: 'upstream-stale' as const, stages: staleUp }] : reasons;
    const wanted = entry !== undefined && staleUp.length === 0 && isOutsOnly(reasons) ? restorableOuts(stage, entry, reasons) : undefined;
    const restorable = wanted !== undefined && (await cache.has(wanted));
    if (all.length > 0 && !restorable) willChange.add(name);
    result.push({ stage: name, frozen: false, reasons: all, restorable, ...(inspected.adopted ? { adopted: true } : {}) });
  }
  return result;
}

/** Drops missing outs and deps, keeping a missing dep whose recorded hash disagrees with its producer's entry. */
function withoutMissing(reasons: readonly Reason[], entry: LockEntry | undefined, pipeline: Pipeline, ctx: InspectContext): Reason[] {
  const out: Reason[] = [];
  for (const r of reasons) {
    if (r.kind === 'outs-missing') continue;
    if (r.kind !== 'deps-missing') {
      out.push(r);
      continue;
    }
    const disagree = r.paths.filter((p) => {
      const recorded = entry?.deps.find((d) => d.path === p)?.hash;
      const producers = pipeline.producersOf(p);
      if (recorded === undefined || producers.length !== 1) return false;
      const made = ctx.lockfile.get(producers[0]!)?.outs.find((o) => o.path === p)?.hash;
      return made !== undefined && made !== recorded;
    });
    if (disagree.length > 0) out.push({ kind: 'deps-changed', paths: disagree });
  }
  return out;
}
