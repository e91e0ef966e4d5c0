/**
 * Which metrics files an experiment produced. An experiment's commit holds the metrics files as
 * the run left them, so where a stage did not finish (it failed, was skipped after an upstream
 * failure, was stopped, or lay outside the targets while the overrides changed its inputs) the
 * commit still holds the base's copy, and showing it would credit the experiment with the base's
 * numbers. After the run, a stage is current when its lock entry describes the worktree (only
 * missing outs other than the metric itself are tolerated: an untargeted stage's outs are not
 * checked out, while its committed metrics are) and every upstream stage is current too.
 *
 * This module only judges; runner.ts records the result in the experiment's metadata and
 * `exp show` / `exp diff` leave those files out.
 */
import type { Project } from '../project.js';
import type { Stage } from '../model/stage.js';
import type { Reason } from '../run/reason.js';
import { inspectStage } from '../run/freshness.js';
import { openState, openWorkspace } from '../run/workspace.js';
import { makePlan } from '../graph/plan.js';
import type { StageName } from '../util/brand.js';
import type { ExpMeta } from './ref.js';

export interface StageVerdicts {
  /** Topological order (upstream first). */
  readonly order: readonly StageName[];
  readonly stages: ReadonlyMap<StageName, Stage>;
  readonly upstream: ReadonlyMap<StageName, readonly StageName[]>;
  /** Why each stage is stale now (empty: current). */
  readonly reasons: ReadonlyMap<StageName, readonly Reason[]>;
  /** The top-level `metrics:` entries (files or folders); each belongs to the stage whose out holds it. */
  readonly topLevelMetrics?: readonly string[];
}

/** The metrics files (project-relative paths) of stages that are not current, in pipeline order. */
export function unproducedMetrics(v: StageVerdicts): string[] {
  const current = new Set<StageName>();
  const out: string[] = [];
  for (const name of v.order) {
    const stage = v.stages.get(name)!;
    const reasons = v.reasons.get(name) ?? [];
    const upstreamOk = (v.upstream.get(name) ?? []).every((u) => current.has(u));
    const missing = new Set(reasons.flatMap((r) => (r.kind === 'outs-missing' ? r.paths : [])));
    const ownOk = reasons.every((r) => r.kind === 'outs-missing');
    if (upstreamOk && ownOk) current.add(name);
    for (const o of stage.outs) {
      if (o.kind === 'metric' && (!upstreamOk || !ownOk || missing.has(o.path)) && !out.includes(o.path)) out.push(o.path);
    }
    // Metrics inside this stage's outs (stage views, top-level entries) share its fate; they are read
    // through its lock entry, so an out that is merely not checked out does not matter.
    const holds = (p: string): boolean => stage.outs.some((o) => p === o.path || p.startsWith(`${o.path}/`));
    const inside = [...(stage.views ?? []).filter((o) => o.kind === 'metric').map((o) => o.path), ...(v.topLevelMetrics ?? []).filter(holds)];
    for (const p of inside) if ((!upstreamOk || !ownOk) && !out.includes(p)) out.push(p);
  }
  return out;
}

/** The experiment worktree's metrics files that its run did not produce; undefined when the worktree cannot be read. */
export async function unproducedMetricsIn(wt: Project): Promise<string[] | undefined> {
  const state = await openState(wt, false);
  if (!state.ok) return undefined;
  const ws = await openWorkspace(wt, [], false, (abs) => state.value.files.stat(abs) !== undefined);
  if (!ws.ok) return undefined;
  const { pipeline, loaded } = ws.value;
  const plan = makePlan(pipeline, { targets: [], singleItem: false, downstream: false });
  if (!plan.ok) return undefined;
  const ctx = { files: state.value.files, params: loaded.params, fileParams: loaded.fileParams, lockfile: state.value.lockfile, interrupted: state.value.interrupted };
  const reasons = new Map<StageName, readonly Reason[]>();
  for (const name of plan.value.stages) reasons.set(name, (await inspectStage(pipeline.stages.get(name)!, ctx, false)).reasons);
  return unproducedMetrics({ order: plan.value.stages, stages: pipeline.stages, upstream: plan.value.upstream, reasons, topLevelMetrics: loaded.topLevel.metrics.map((m) => m.path) });
}

/**
 * Whether to leave out a metrics file of an experiment: what its run recorded as not produced, or,
 * where nothing was recorded (an experiment from before this was recorded, or a worktree that could
 * not be read after the run), every metrics file of a failed one.
 */
export function isUnproduced(meta: ExpMeta | undefined, metricsPath: string): boolean {
  // A recorded folder (a top-level metrics entry) covers every file below it.
  if (meta?.unproduced_metrics) return meta.unproduced_metrics.some((p) => metricsPath === p || metricsPath.startsWith(`${p}/`));
  return meta?.status === 'failed';
}
