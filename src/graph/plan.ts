/**
 * The Plan: which stages a `repro`/`status` looks at, in which order. Targets name an expanded
 * stage (`train@0-logreg`) or a group (`train`); without `-s` their upstream is included, with
 * `--downstream` everything they feed instead. Priority is the critical path: the longest expected
 * remaining time through a stage's dependents, so long chains start first. It does not decide
 * staleness (run/freshness.ts) nor hold resources (schedule/).
 */
import type { Pipeline } from './pipeline.js';
import type { StageName } from '../util/brand.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';
import { suggest } from '../util/suggest.js';

export interface PlanOptions {
  readonly targets: readonly string[];
  readonly singleItem: boolean;
  readonly downstream: boolean;
  /** Expected seconds per stage (from run history); unknown stages count 1. */
  readonly expectedSeconds?: (s: StageName) => number | undefined;
}

export interface Plan {
  /** Stages in the plan, topologically sorted (upstream first, file order among equals). */
  readonly stages: readonly StageName[];
  /** Critical-path priority: higher starts first. */
  readonly priority: ReadonlyMap<StageName, number>;
  /** Upstream edges restricted to the plan. */
  readonly upstream: ReadonlyMap<StageName, readonly StageName[]>;
  readonly downstream: ReadonlyMap<StageName, readonly StageName[]>;
}

/** Resolves user-typed targets to stage names; a group name selects all its expansions. */
export function resolveTargets(pipeline: Pipeline, targets: readonly string[]): Result<StageName[], Diagnostic[]> {
  const byGroup = new Map<string, StageName[]>();
  for (const name of pipeline.order) {
    const group = pipeline.stages.get(name)!.group;
    const list = byGroup.get(group);
    if (list) list.push(name);
    else byGroup.set(group, [name]);
  }
  const out: StageName[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const t of targets) {
    // Accept DVC's `dvc.yaml:stage` form too.
    const target = t.includes(':') ? t.slice(t.lastIndexOf(':') + 1) : t;
    if (pipeline.stages.has(target as StageName)) out.push(target as StageName);
    else if (byGroup.has(target)) out.push(...byGroup.get(target)!);
    else {
      const guess = suggest(target, [...pipeline.order, ...byGroup.keys()]);
      diagnostics.push({
        severity: 'error',
        code: 'unknown-target',
        message: `no stage or stage group named '${target}'`,
        hint: guess ? `did you mean '${guess}'? (\`mlbuild dag\` lists the stages)` : '`mlbuild dag` lists the stages',
      });
    }
  }
  return diagnostics.length > 0 ? err(diagnostics) : ok([...new Set(out)]);
}

export function makePlan(pipeline: Pipeline, opts: PlanOptions): Result<Plan, Diagnostic[]> {
  let selected: Set<StageName>;
  if (opts.targets.length === 0) {
    selected = new Set(pipeline.order);
  } else {
    const resolved = resolveTargets(pipeline, opts.targets);
    if (!resolved.ok) return resolved;
    selected = new Set(resolved.value);
    if (!opts.singleItem) {
      const next = opts.downstream ? pipeline.downstream : pipeline.upstream;
      const queue = [...selected];
      while (queue.length > 0) {
        const s = queue.pop()!;
        for (const n of next(s)) {
          if (!selected.has(n)) {
            selected.add(n);
            queue.push(n);
          }
        }
      }
    }
  }

  const upstream = new Map<StageName, StageName[]>();
  const downstream = new Map<StageName, StageName[]>();
  for (const s of selected) {
    upstream.set(s, pipeline.upstream(s).filter((u) => selected.has(u)));
    downstream.set(s, pipeline.downstream(s).filter((d) => selected.has(d)));
  }

  // Kahn's algorithm, seeded in file order so the order is deterministic.
  const indegree = new Map<StageName, number>();
  for (const s of selected) indegree.set(s, upstream.get(s)!.length);
  const order: StageName[] = [];
  const ready = pipeline.order.filter((s) => selected.has(s) && indegree.get(s) === 0);
  for (let i = 0; i < ready.length; i++) {
    const s = ready[i]!;
    order.push(s);
    for (const d of downstream.get(s)!) {
      const n = indegree.get(d)! - 1;
      indegree.set(d, n);
      if (n === 0) ready.push(d);
    }
  }

  const priority = new Map<StageName, number>();
  for (let i = order.length - 1; i >= 0; i--) {
    const s = order[i]!;
    let longest = 0;
    for (const d of downstream.get(s)!) longest = Math.max(longest, priority.get(d)!);
    priority.set(s, longest + Math.max(opts.expectedSeconds?.(s) ?? 1, 0.001));
  }
  return ok({ stages: order, priority, upstream, downstream });
}
