/**
 * The statistics of drift monitoring, as pure functions over numbers: quantile binning, the
 * population stability index, Jensen-Shannon divergence, the chi-square test of homogeneity,
 * quantiles and descriptors, and a percentile bootstrap of a metric's change between two labelled
 * samples. It does not read files, fit models or decide thresholds (monitor/checks.ts does).
 *
 * Conventions follow the references users compare with: PSI as in credit-scoring practice
 * (Siddiqi 2006; 0.1 / 0.25 rules of thumb), Jensen-Shannon in bits (so it lies in [0, 1]; scipy's
 * `jensenshannon(base=2)` is its square root), chi-square without Yates' correction (scipy's
 * `chi2_contingency(correction=False)`), quantiles by linear interpolation (numpy's default).
 * The chi-square p-value comes from stdlib's chi-square CDF rather than a hand-written gamma series.
 */
import chisquareCdf from '@stdlib/stats-base-dists-chisquare-cdf';
import { rngFor, randInt } from '../../stages/lib/rng.js';

/** Floor for an empty bin's share in PSI (log of 0 is undefined); common practice uses 1e-4. */
export const PSI_FLOOR = 1e-4;

/** Numpy's default (linear) quantile of sorted values; q in [0, 1]. */
export function quantileSorted(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const pos = q * (xs.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, xs.length - 1);
  return (xs[lo] as number) + ((xs[hi] as number) - (xs[lo] as number)) * (pos - lo);
}

const sorted = (xs: readonly number[]): number[] => xs.slice().sort((a, b) => a - b);

/**
 * Interior bin edges at the reference's quantiles 1/k .. (k-1)/k, deduplicated: each bin then holds
 * about 1/k of the reference (ties can merge bins, so fewer than k may come back).
 */
export function quantileEdges(reference: readonly number[], bins: number): number[] {
  if (!Number.isInteger(bins) || bins < 2) throw new Error(`quantileEdges: bins must be an integer >= 2, got ${bins}`);
  const xs = sorted(reference);
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const e = quantileSorted(xs, i / bins);
    if (edges.length === 0 || e > (edges[edges.length - 1] as number)) edges.push(e);
  }
  return edges;
}

/** Counts per bin: bin 0 is (-inf, e0), bin i is [e(i-1), e(i)), the last is [e(last), +inf). */
export function histogram(values: readonly number[], edges: readonly number[]): number[] {
  const counts = new Array<number>(edges.length + 1).fill(0);
  for (const v of values) {
    let lo = 0;
    let hi = edges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (v >= (edges[mid] as number)) lo = mid + 1;
      else hi = mid;
    }
    counts[lo]!++;
  }
  return counts;
}

/** Shares of a count vector; with `floor`, empty bins get that share and the vector is renormalised. */
export function shares(counts: readonly number[], floor = 0): number[] {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) throw new Error('shares: no observations');
  const p = counts.map((c) => Math.max(c / n, floor));
  const s = p.reduce((a, b) => a + b, 0);
  return p.map((x) => x / s);
}

function checkPair(p: readonly number[], q: readonly number[], what: string): void {
  if (p.length !== q.length || p.length === 0) throw new Error(`${what}: distributions of different lengths (${p.length}, ${q.length})`);
}

/** Population stability index: sum (q_i - p_i) ln(q_i / p_i), p the reference shares, q the current. Shares must be > 0. */
export function psi(p: readonly number[], q: readonly number[]): number {
  checkPair(p, q, 'psi');
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    if (!(a > 0 && b > 0)) throw new Error('psi: every share must be > 0 (use shares(counts, PSI_FLOOR))');
    s += (b - a) * Math.log(b / a);
  }
  return s;
}

/** Jensen-Shannon divergence in bits (0 = same, 1 = disjoint supports); zero shares are fine. */
export function jsDivergence(p: readonly number[], q: readonly number[]): number {
  checkPair(p, q, 'jsDivergence');
  let s = 0;
  for (let i = 0; i < p.length; i++) {
    const a = p[i] as number;
    const b = q[i] as number;
    const m = (a + b) / 2;
    if (a > 0) s += 0.5 * a * Math.log2(a / m);
    if (b > 0) s += 0.5 * b * Math.log2(b / m);
  }
  return Math.max(0, s);
}

export interface ChiSquare {
  readonly statistic: number;
  readonly df: number;
  readonly pValue: number;
}

/**
 * Chi-square test of homogeneity of an r x c table of counts (rows: samples, columns: categories),
 * no continuity correction. Columns empty in every row are dropped (they carry no information); a
 * table left with one column or one row has df 0, statistic 0 and p-value 1.
 */
export function chiSquareTest(table: readonly (readonly number[])[]): ChiSquare {
  const cols = (table[0] ?? []).length;
  const keep = Array.from({ length: cols }, (_, j) => j).filter((j) => table.some((r) => (r[j] as number) > 0));
  const rows = table.filter((r) => r.some((v) => v > 0));
  const rowSums = rows.map((r) => keep.reduce((a, j) => a + (r[j] as number), 0));
  const colSums = keep.map((j) => rows.reduce((a, r) => a + (r[j] as number), 0));
  const n = rowSums.reduce((a, b) => a + b, 0);
  const df = (rows.length - 1) * (keep.length - 1);
  if (df <= 0 || n === 0) return { statistic: 0, df: 0, pValue: 1 };
  let stat = 0;
  rows.forEach((r, i) => {
    keep.forEach((j, k) => {
      const e = ((rowSums[i] as number) * (colSums[k] as number)) / n;
      stat += ((r[j] as number) - e) ** 2 / e;
    });
  });
  return { statistic: stat, df, pValue: Math.min(1, Math.max(0, 1 - chisquareCdf(stat, df))) };
}

export interface Descriptors {
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly max: number;
}

export function describe(values: readonly number[]): Descriptors {
  if (values.length === 0) return { mean: Number.NaN, p50: Number.NaN, p90: Number.NaN, max: Number.NaN };
  const xs = sorted(values);
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, p50: quantileSorted(xs, 0.5), p90: quantileSorted(xs, 0.9), max: xs[xs.length - 1] as number };
}

/** A labelled sample's true labels and predicted labels (0/1), index-aligned. */
export interface Labelled {
  readonly y: ArrayLike<number>;
  readonly pred: ArrayLike<number>;
}

export interface Interval {
  readonly low: number;
  readonly high: number;
}

export interface MetricChange {
  readonly reference: number;
  readonly current: number;
  /** current - reference. */
  readonly change: number;
  /** Percentile bootstrap interval of the change (both samples resampled independently). */
  readonly interval: Interval;
}

export type ClassMetric = 'accuracy' | 'f1';

function metricOf(m: ClassMetric, tp: number, tn: number, fp: number, fn: number): number {
  if (m === 'accuracy') return tp + tn + fp + fn === 0 ? 0 : (tp + tn) / (tp + tn + fp + fn);
  return 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
}

function metricOnIndices(m: ClassMetric, s: Labelled, pick: (i: number) => number, n: number): number {
  let tp = 0, tn = 0, fp = 0, fn = 0;
  for (let t = 0; t < n; t++) {
    const i = pick(t);
    const y = s.y[i] === 1;
    const p = s.pred[i] === 1;
    if (y && p) tp++;
    else if (y) fn++;
    else if (p) fp++;
    else tn++;
  }
  return metricOf(m, tp, tn, fp, fn);
}

/**
 * Change of accuracy or F1 from the reference sample to the current one, with a percentile
 * bootstrap interval: each round resamples both samples with replacement (seeded, so the interval
 * reproduces to the bit).
 */
export function bootstrapChange(m: ClassMetric, ref: Labelled, cur: Labelled, o: { rounds: number; seed: number; level: number }): MetricChange {
  const nr = ref.y.length;
  const nc = cur.y.length;
  if (nr === 0 || nc === 0) throw new Error('bootstrapChange: an empty sample');
  const reference = metricOnIndices(m, ref, (i) => i, nr);
  const current = metricOnIndices(m, cur, (i) => i, nc);
  const rng = rngFor(o.seed, `monitor/bootstrap/${m}`);
  const changes: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const a = metricOnIndices(m, ref, () => randInt(rng, nr), nr);
    const b = metricOnIndices(m, cur, () => randInt(rng, nc), nc);
    changes.push(b - a);
  }
  const xs = sorted(changes);
  const tail = (1 - o.level) / 2;
  return { reference, current, change: current - reference, interval: { low: quantileSorted(xs, tail), high: quantileSorted(xs, 1 - tail) } };
}

/**
 * The `q` quantile of `stat(a', b')` over `rounds` random relabellings of the pooled values into
 * samples of the original sizes: what chance alone gives for samples this small. Seeded.
 */
export function permutationQuantile(
  a: readonly number[],
  b: readonly number[],
  stat: (a: readonly number[], b: readonly number[]) => number,
  o: { rounds: number; quantile: number; seed: number; label: string },
): number {
  const pooled = [...a, ...b];
  const rng = rngFor(o.seed, o.label);
  const values: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    for (let i = pooled.length - 1; i > 0; i--) {
      const j = randInt(rng, i + 1);
      const t = pooled[i] as number;
      pooled[i] = pooled[j] as number;
      pooled[j] = t;
    }
    values.push(stat(pooled.slice(0, a.length), pooled.slice(a.length)));
  }
  return quantileSorted(sorted(values), o.quantile);
}
