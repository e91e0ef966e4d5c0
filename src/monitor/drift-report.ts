/**
 * The drift report: every check of a current sample against a reference one, with its value, its
 * threshold (from monitor settings) and whether it crossed it. Checks: text drift (domain
 * classifier AUC), out-of-vocabulary rate, mean length, score distribution (PSI, Jensen-Shannon),
 * predicted-class mix (chi-square), and with labels accuracy/F1 against the reference. A check
 * whose inputs are missing (no scores, no labels) is listed under `skipped` with the reason, never
 * silently passed. The report is JSON that `mlbuild metrics show/diff` read like any metrics file;
 * `charts` holds the series the HTML page draws. Pure: no I/O, seeded, rounded for stable bytes.
 */
import { round } from '../../stages/lib/metrics.js';
import { rngFor, shuffled } from '../../stages/lib/rng.js';
import { domainClassifier, type Marker } from './domain-classifier.js';
import { SampleError, type Sample, type SampleRow } from './sample.js';
import type { MonitorSettings } from './settings.js';
import { bootstrapChange, chiSquareTest, describe, histogram, jsDivergence, permutationQuantile, psi, PSI_FLOOR, quantileEdges, shares, type Descriptors, type MetricChange } from './stats.js';

export const REPORT_VERSION = 1;

export interface Check {
  readonly value: number;
  readonly threshold: number;
  /** How the value crosses: `above` the threshold, or `below` it (p-values, performance changes). */
  readonly crosses: 'above' | 'below';
  readonly drift: boolean;
}

export interface ChartData {
  readonly scoreBins: { bin: string; reference: number; current: number }[];
  readonly classes: { class: string; reference: number; current: number }[];
  readonly tokenLengths: { tokens: number; reference: number; current: number }[];
  readonly newTokens: { token: string; count: number }[];
  readonly nullAucs: number[];
  readonly auc: number | null;
  readonly aucThreshold: number | null;
  readonly markers: { token: string; weight: number; side: 'current' | 'reference' }[];
}

export interface DriftAnalysis {
  readonly report: Record<string, unknown>;
  readonly drift: boolean;
  readonly alerts: string[];
  readonly charts: ChartData;
}

const r6 = (x: number): number => round(x, 6);

/** A hash as its token when the text is known, else `#` and 8 hex digits. */
function wordOf(h: number, ref: Sample, cur: Sample): string {
  return cur.words.get(h) ?? ref.words.get(h) ?? `#${h.toString(16).padStart(8, '0')}`;
}

const markerText = (m: Marker, ref: Sample, cur: Sample): string => m.hashes.map((h) => wordOf(h, ref, cur)).join(' ');

/** At most n rows, drawn without replacement (seeded) and kept in their original order. */
function capRows<T>(rows: readonly T[], n: number, seed: number, label: string): T[] {
  if (rows.length <= n) return rows.slice();
  const keep = new Set(shuffled(Array.from(rows.keys()), rngFor(seed, label)).slice(0, n));
  return rows.filter((_, i) => keep.has(i));
}

function lengthsDescribed(rows: readonly SampleRow[]): { chars: Descriptors; tokens: Descriptors } {
  const d = (xs: number[]): Descriptors => {
    const v = describe(xs);
    return { mean: r6(v.mean), p50: r6(v.p50), p90: r6(v.p90), max: r6(v.max) };
  };
  return { chars: d(rows.map((r) => r.nChars)), tokens: d(rows.map((r) => r.nTokens)) };
}

/** Share of tokens of `rows` whose hash is not in `vocab`. */
function oovRate(rows: readonly SampleRow[], vocab: ReadonlySet<number>): number {
  let n = 0;
  let out = 0;
  for (const r of rows) for (const h of r.hashes) {
    n++;
    if (!vocab.has(h)) out++;
  }
  return n === 0 ? 0 : out / n;
}

const vocabOf = (rows: readonly SampleRow[]): Set<number> => {
  const s = new Set<number>();
  for (const r of rows) for (const h of r.hashes) s.add(h);
  return s;
};

/**
 * `ref` is the training data (text checks); `held` the held-out data whose scores and labels are
 * the reference for prediction and performance checks (scores of training rows are overconfident,
 * so comparing them with traffic would flag drift that is only overfitting). Default: `ref`.
 */
export function analyze(ref: Sample, cur: Sample, s: MonitorSettings, held: Sample = ref): DriftAnalysis {
  const checks: Record<string, Check> = {};
  const skipped: Record<string, string> = {};
  const check = (name: string, value: number, threshold: number, crosses: 'above' | 'below', extra = true): void => {
    const crossed = crosses === 'above' ? value > threshold : value < threshold;
    checks[name] = { value: r6(value), threshold, crosses, drift: crossed && extra };
  };
  if (ref.rows.length === 0) throw new SampleError(`${ref.source}: no rows to compare with`);
  if (cur.rows.length === 0) throw new SampleError(`${cur.source}: no rows (after filtering) to monitor`);
  if (held.rows.length === 0) throw new SampleError(`${held.source}: no held-out rows`);

  // Text drift: the domain classifier on (capped) samples, with a permutation null for small ones.
  const refRows = capRows(ref.rows, s.domain.max_rows, s.seed, 'monitor/cap/reference');
  const curRows = capRows(cur.rows, s.domain.max_rows, s.seed, 'monitor/cap/current');
  const small = Math.min(refRows.length, curRows.length) < s.domain.small_sample;
  let text: Record<string, unknown>;
  let nullAucs: number[] = [];
  let auc: number | null = null;
  let aucThreshold: number | null = null;
  let markers: ChartData['markers'] = [];
  if (Math.min(refRows.length, curRows.length) < 2) {
    skipped.domain_auc = 'the domain classifier needs at least 2 rows on each side';
    text = {};
  } else {
    const d = domainClassifier(refRows.map((r) => r.hashes), curRows.map((r) => r.hashes), {
      folds: s.domain.folds,
      C: s.domain.C,
      permutations: small ? s.domain.permutations : 0,
      nullQuantile: s.domain.null_quantile,
      seed: s.seed,
      top: s.domain.top,
    });
    auc = d.auc;
    aucThreshold = Math.max(s.domain.auc, d.nullThreshold ?? 0);
    nullAucs = d.nullAucs;
    check('domain_auc', d.auc, r6(aucThreshold), 'above');
    markers = [
      ...d.markers.current.map((m) => ({ token: markerText(m, ref, cur), weight: r6(m.weight), side: 'current' as const })),
      ...d.markers.reference.map((m) => ({ token: markerText(m, ref, cur), weight: r6(m.weight), side: 'reference' as const })),
    ];
    text = {
      auc: r6(d.auc),
      fold_aucs: d.foldAucs.map(r6),
      rows: d.rows,
      permutation: d.nullThreshold === null ? null : { rounds: d.nullAucs.length, quantile: s.domain.null_quantile, threshold: r6(d.nullThreshold), p_value: r6(d.pValue as number) },
      current_markers: markers.filter((m) => m.side === 'current').map((m) => m.token),
      reference_markers: markers.filter((m) => m.side === 'reference').map((m) => m.token),
    };
  }

  // OOV: the current rate and the reference's own held-out rate, both against the same vocabulary.
  const order = shuffled(Array.from(ref.rows.keys()), rngFor(s.seed, 'monitor/oov/holdout'));
  const nHeld = Math.min(cur.rows.length, Math.floor(ref.rows.length / 2));
  let oov: Record<string, unknown> = {};
  const fullVocab = vocabOf(ref.rows);
  const newCounts = new Map<number, number>();
  for (const r of cur.rows) for (const h of r.hashes) if (!fullVocab.has(h)) newCounts.set(h, (newCounts.get(h) ?? 0) + 1);
  const newTokens = [...newCounts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, s.oov.top)
    .map(([h, count]) => ({ token: wordOf(h, ref, cur), count }));
  if (nHeld < 1) {
    skipped.oov_increase = 'the reference needs at least 2 rows to estimate its own out-of-vocabulary rate';
  } else {
    const holdout = order.slice(0, nHeld).map((i) => ref.rows[i] as SampleRow);
    const vocab = vocabOf(order.slice(nHeld).map((i) => ref.rows[i] as SampleRow));
    const curRate = oovRate(cur.rows, vocab);
    const refRate = oovRate(holdout, vocab);
    check('oov_increase', curRate - refRate, s.oov.max_increase, 'above');
    oov = {
      current_rate: r6(curRate),
      reference_rate: r6(refRate),
      held_out_rows: nHeld,
      rate_vs_full_reference: r6(oovRate(cur.rows, fullVocab)),
      new_token_types: newCounts.size,
      top_new_tokens: newTokens.map((t) => t.token),
    };
  }

  // Length descriptors.
  const lr = lengthsDescribed(ref.rows);
  const lc = lengthsDescribed(cur.rows);
  const lengthChange = lr.tokens.mean > 0 ? lc.tokens.mean / lr.tokens.mean - 1 : 0;
  check('mean_tokens_change', Math.abs(lengthChange), s.length.max_change, 'above');
  const length = { reference: lr, current: lc, mean_tokens_change: r6(lengthChange) };

  // Prediction drift: needs scores on both sides.
  const scored = (x: Sample): boolean => x.rows.every((r) => r.score !== undefined);
  let prediction: Record<string, unknown> = {};
  let scoreBins: ChartData['scoreBins'] = [];
  let classes: ChartData['classes'] = [];
  if (!scored(held) || !scored(cur)) {
    const which = !scored(held) ? `the reference (${held.source})` : `the current sample (${cur.source})`;
    const why = `${which} has no scores; pass --model DIR to score its texts`;
    skipped.score_psi = why;
    skipped.score_js = why;
    skipped.class_chi2_p = why;
  } else {
    const rs = held.rows.map((r) => r.score as number);
    const cs = cur.rows.map((r) => r.score as number);
    const edges = quantileEdges(rs, s.score.bins);
    const hr = histogram(rs, edges);
    const hc = histogram(cs, edges);
    const psiValue = psi(shares(hr, PSI_FLOOR), shares(hc, PSI_FLOOR));
    const js = jsDivergence(shares(hr), shares(hc));
    // Binned divergences of small samples are noisy (PSI's expectation under no drift is about
    // (bins - 1)(1/n + 1/m)): below small_sample rows a side, the threshold is also the 95th
    // percentile of the statistic over random reassignments of the pooled scores (cheap: no model).
    const smallScores = Math.min(rs.length, cs.length) < s.domain.small_sample && s.score.permutations > 0;
    const nullOf = (stat: (a: readonly number[], b: readonly number[]) => number, label: string): number | null =>
      smallScores ? permutationQuantile(rs, cs, stat, { rounds: s.score.permutations, quantile: s.domain.null_quantile, seed: s.seed, label }) : null;
    const binned = (a: readonly number[], b: readonly number[]) => {
      const e = quantileEdges(a, s.score.bins);
      return [histogram(a, e), histogram(b, e)] as const;
    };
    const psiNull = nullOf((a, b) => {
      const [x, y] = binned(a, b);
      return psi(shares(x, PSI_FLOOR), shares(y, PSI_FLOOR));
    }, 'monitor/null/psi');
    const jsNull = nullOf((a, b) => {
      const [x, y] = binned(a, b);
      return jsDivergence(shares(x), shares(y));
    }, 'monitor/null/js');
    const cls = (x: Sample): [number, number] => {
      const pos = x.rows.filter((r) => r.predicted === 1).length;
      return [x.rows.length - pos, pos];
    };
    const [r0, r1] = cls(held);
    const [c0, c1] = cls(cur);
    const chi = chiSquareTest([[r0, r1], [c0, c1]]);
    check('score_psi', psiValue, r6(Math.max(s.score.psi, psiNull ?? 0)), 'above');
    check('score_js', js, r6(Math.max(s.score.js, jsNull ?? 0)), 'above');
    check('class_chi2_p', chi.pValue, s.score.class_alpha, 'below');
    const bounds = [-Infinity, ...edges, Infinity];
    const label = (i: number): string => `${i === 0 ? '0' : (bounds[i] as number).toFixed(3)}-${i === edges.length ? '1' : (bounds[i + 1] as number).toFixed(3)}`;
    scoreBins = hr.map((_, i) => ({ bin: label(i), reference: r6(hr[i]! / rs.length), current: r6(hc[i]! / cs.length) }));
    classes = [
      { class: 'negative (0)', reference: r6(r0 / rs.length), current: r6(c0 / cs.length) },
      { class: 'positive (1)', reference: r6(r1 / rs.length), current: r6(c1 / cs.length) },
    ];
    prediction = {
      psi: r6(psiValue),
      js: r6(js),
      permutation: smallScores ? { rounds: s.score.permutations, quantile: s.domain.null_quantile, psi: r6(psiNull as number), js: r6(jsNull as number) } : null,
      bins: edges.length + 1,
      mean_score: { reference: r6(rs.reduce((a, b) => a + b, 0) / rs.length), current: r6(cs.reduce((a, b) => a + b, 0) / cs.length) },
      positive_rate: { reference: r6(r1 / rs.length), current: r6(c1 / cs.length) },
      class_chi2: { statistic: r6(chi.statistic), df: chi.df, p_value: r6(chi.pValue) },
    };
  }

  // Performance: on the rows that have both a true label and a prediction (labels arrive for a
  // subset of the traffic, e.g. joined to the request log with --labels).
  let performance: Record<string, unknown> = {};
  const judged = (x: Sample): SampleRow[] => x.rows.filter((r) => r.label !== undefined && r.predicted !== undefined);
  const curJudged = judged(cur);
  const heldJudged = judged(held);
  const noLabels = (x: Sample): boolean => x.rows.every((r) => r.label === undefined);
  const noPerformance =
    noLabels(cur) ? `the current sample (${cur.source}) has no labels yet`
    : curJudged.length === 0 ? `the current sample (${cur.source}) has labels but no predictions; pass --model DIR`
    : noLabels(held) ? `the reference (${held.source}) has no labels`
    : heldJudged.length === 0 ? `the reference (${held.source}) has no predictions; pass --model DIR`
    : undefined;
  if (noPerformance !== undefined) {
    skipped.accuracy_change = skipped.f1_change = noPerformance;
  } else {
    const side = (rows: readonly SampleRow[]) => ({ y: rows.map((r) => r.label as number), pred: rows.map((r) => r.predicted as number) });
    const opts = { rounds: s.performance.bootstrap_rounds, seed: s.seed, level: s.performance.level };
    for (const m of ['accuracy', 'f1'] as const) {
      const c: MetricChange = bootstrapChange(m, side(heldJudged), side(curJudged), opts);
      // A drop counts only when it is larger than max_drop and the interval excludes "no change".
      check(`${m}_change`, c.change, -s.performance.max_drop, 'below', c.interval.high < 0);
      performance[m] = { reference: r6(c.reference), current: r6(c.current), change: r6(c.change), low: r6(c.interval.low), high: r6(c.interval.high) };
    }
    performance = { ...performance, level: s.performance.level, labelled_rows: curJudged.length, reference_rows: heldJudged.length };
  }

  const alerts = Object.entries(checks).filter(([, c]) => c.drift).map(([k]) => k);
  const drift = alerts.length > 0;
  const sampleInfo = (x: Sample) => ({
    source: x.source,
    kind: x.kind,
    rows: x.rows.length,
    scored: scored(x),
    labelled: x.rows.filter((r) => r.label !== undefined).length,
    ...(x.kind === 'log' ? { served: x.served } : {}),
  });
  const report = {
    version: REPORT_VERSION,
    drift,
    alerts,
    checks,
    skipped,
    samples: { reference: sampleInfo(ref), ...(held === ref ? {} : { holdout: sampleInfo(held) }), current: sampleInfo(cur) },
    text,
    oov,
    length,
    prediction,
    performance,
    seed: s.seed,
  };
  const maxTok = Math.min(60, Math.max(...ref.rows.map((r) => r.nTokens), ...cur.rows.map((r) => r.nTokens)));
  const tokenLengths = Array.from({ length: maxTok + 1 }, (_, t) => ({
    tokens: t,
    reference: r6(ref.rows.filter((r) => Math.min(r.nTokens, maxTok) === t).length / ref.rows.length),
    current: r6(cur.rows.filter((r) => Math.min(r.nTokens, maxTok) === t).length / cur.rows.length),
  }));
  return { report, drift, alerts, charts: { scoreBins, classes, tokenLengths, newTokens, nullAucs, auc, aucThreshold, markers } };
}
