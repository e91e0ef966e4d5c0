/** Scoring hyperparameter candidates on validation rows and choosing among them. */
import { binaryMetrics, round, type BinaryMetrics } from './metrics.js';
import type { Dataset, Fitted, Hyper, Learner } from './learners.js';
import type { TuningMetric } from './params.js';
import type { ParamTree } from './stage.js';

/** A train stage's candidates.json, as later stages read it. */
export interface FoldCandidates {
  candidates: { hyper: Hyper; val: Record<TuningMetric | 'accuracy' | 'f1', number | null> | null }[];
  best_on_val: number | null;
  nested_choice: number | null;
  reported: number;
  mflop: number;
}

/** Scores are rounded before anything is computed from them, so metrics recomputed later from the saved scores agree exactly. */
export const roundScores = (s: Float64Array): number[] => Array.from(s, (x) => round(x, 8));

export function metricValue(m: BinaryMetrics, metric: TuningMetric): number {
  const v = m[metric];
  return v === null ? Number.NEGATIVE_INFINITY : v;
}

/** Index of the largest value; ties go to the earliest (candidates are listed simplest first). */
export function argBest(values: readonly number[]): number {
  let best = 0;
  values.forEach((v, i) => {
    if (v > (values[best] as number)) best = i;
  });
  return best;
}

export const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function sd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

/** The metrics written to files: rounded, confusion counts kept. */
export function publicMetrics(m: BinaryMetrics): Record<string, number | null> {
  return {
    accuracy: round(m.accuracy),
    precision: round(m.precision),
    recall: round(m.recall),
    f1: round(m.f1),
    roc_auc: m.roc_auc === null ? null : round(m.roc_auc),
    n: m.n,
    tn: m.confusion.tn,
    fp: m.confusion.fp,
    fn: m.confusion.fn,
    tp: m.confusion.tp,
  };
}

export function scoreRows(labels: ArrayLike<number>, ids: readonly number[], scores: readonly number[], threshold = 0.5): BinaryMetrics {
  return binaryMetrics(ids.map((i) => labels[i] as number), scores, threshold);
}

/**
 * Fits every candidate on `rows` and hands each fitted model to `visit` with its index, plus `keep`,
 * which transfers the model to the caller (otherwise it is disposed after the visit). Candidates of
 * an epoch-wise learner that differ only in `epochs` share one training run, visited after each of
 * their epoch counts: the same models as separate fits (see Learner.epochwise) for the cost of the
 * longest. Visit order is by group, so a caller must not assume ascending indices. Returns the fits
 * made and their cost.
 */
export function fitCandidates(
  learner: Learner,
  data: Dataset,
  rows: readonly number[],
  candidates: readonly Hyper[],
  tree: ParamTree,
  visit: (index: number, model: Fitted, keep: () => Fitted) => void,
): { fits: number; flops: number } {
  let fits = 0;
  let flops = 0;
  // Only whole, positive epoch counts are visited by a run (an `epochs: 0` candidate fits alone).
  const epochsOf = (h: Hyper): number | undefined => (Number.isInteger(h.epochs) && (h.epochs as number) >= 1 ? h.epochs : undefined);
  const groups = new Map<string, number[]>();
  candidates.forEach((h, i) => {
    const key = learner.epochwise && epochsOf(h) !== undefined ? JSON.stringify({ ...h, epochs: null }) : `#${i}`;
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  for (const members of groups.values()) {
    const longest = members.reduce((a, i) => Math.max(a, epochsOf(candidates[i] as Hyper) ?? 0), 0);
    const first = candidates[members[0] as number] as Hyper;
    if (members.length === 1) {
      const m = learner.fit(data, rows, first, tree);
      let kept = false;
      visit(members[0] as number, m, () => ((kept = true), m));
      fits++;
      flops += m.flops;
      if (!kept) m.dispose();
      continue;
    }
    const final = learner.fit(data, rows, { ...first, epochs: longest }, tree, (live, keep) => {
      for (const i of members) if (epochsOf(candidates[i] as Hyper) === live.hyper.epochs) visit(i, live, keep);
    });
    fits++;
    flops += final.flops;
    final.dispose();
  }
  return { fits, flops };
}
