import { describe, expect, it } from 'vitest';
import { rocAuc } from '../../../stages/lib/metrics.js';
import { bootstrapChange, permutationQuantile, chiSquareTest, describe as describeValues, histogram, jsDivergence, psi, PSI_FLOOR, quantileEdges, quantileSorted, shares } from '../../../src/monitor/stats.js';

describe('psi', () => {
  it('matches the hand computation sum (q - p) ln(q / p)', () => {
    // (0.25 - 0.5) ln 0.5 + (0.75 - 0.5) ln 1.5 = 0.25 (ln 2 + ln 1.5)
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.25 * (Math.LN2 + Math.log(1.5)), 12);
    expect(psi([0.5, 0.5], [0.25, 0.75])).toBeCloseTo(0.274653, 6);
  });
  it('is 0 for identical shares and symmetric', () => {
    expect(psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5])).toBe(0);
    expect(psi([0.1, 0.9], [0.6, 0.4])).toBeCloseTo(psi([0.6, 0.4], [0.1, 0.9]), 12);
  });
  it('refuses zero shares, which the floor removes', () => {
    expect(() => psi([0.5, 0.5], [1, 0])).toThrow(/> 0/);
    const q = shares([10, 0], PSI_FLOOR);
    expect(q[1]).toBeGreaterThan(0);
    expect(q.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
  });
});

describe('jsDivergence (bits)', () => {
  it('is 0 for equal, 1 for disjoint distributions', () => {
    expect(jsDivergence([0.3, 0.7], [0.3, 0.7])).toBe(0);
    expect(jsDivergence([1, 0], [0, 1])).toBeCloseTo(1, 12);
  });
  it('matches scipy.spatial.distance.jensenshannon([.5,.5],[1,0], base=2) ** 2', () => {
    // m = (0.75, 0.25): 0.5 (0.5 log2(2/3) + 0.5 log2 2) + 0.5 log2(4/3) = 0.311278
    expect(jsDivergence([0.5, 0.5], [1, 0])).toBeCloseTo(0.3112781, 6);
  });
});

describe('chiSquareTest', () => {
  it('matches scipy chi2_contingency(correction=False) on a 2x2 table', () => {
    const r = chiSquareTest([[10, 20], [20, 10]]);
    expect(r.statistic).toBeCloseTo(20 / 3, 10); // 4 cells x 25 / 15
    expect(r.df).toBe(1);
    expect(r.pValue).toBeCloseTo(0.0098232, 6);
  });
  it("matches scipy's documented 2x3 example (chi2 2.7778, dof 2, p 0.24935)", () => {
    const r = chiSquareTest([[10, 10, 20], [20, 20, 20]]);
    expect(r.statistic).toBeCloseTo(2.7777778, 6);
    expect(r.df).toBe(2);
    expect(r.pValue).toBeCloseTo(0.2493522, 6);
  });
  it('takes the p-value from the chi-square upper tail', () => {
    // [[n, 0], [0, n]] has statistic 2n; P(chi2 with 1 df > 4) = erfc(sqrt 2).
    const r = chiSquareTest([[2, 0], [0, 2]]);
    expect(r.statistic).toBeCloseTo(4, 12);
    expect(r.pValue).toBeCloseTo(0.0455003, 6); // P(chi2_1 > 4) = erfc(sqrt 2)
  });
  it('drops empty columns; a single category has nothing to test', () => {
    expect(chiSquareTest([[10, 0, 20], [20, 0, 10]]).df).toBe(1);
    expect(chiSquareTest([[10, 0], [20, 0]])).toEqual({ statistic: 0, df: 0, pValue: 1 });
  });
});

describe('quantiles and bins', () => {
  it('interpolates linearly like numpy.percentile', () => {
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1, 12);
  });
  it('puts edges at the reference quantiles and merges tied ones', () => {
    const xs = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileEdges(xs, 4)).toEqual([25.75, 50.5, 75.25]);
    expect(quantileEdges([0, 0, 0, 0, 1], 4)).toEqual([0]);
  });
  it('counts a value equal to an edge in the bin above it', () => {
    expect(histogram([0.1, 0.5, 0.5, 0.9, 1], [0.5, 0.9])).toEqual([1, 2, 2]);
  });
  it('describes lengths', () => {
    expect(describeValues([1, 2, 3, 4])).toEqual({ mean: 2.5, p50: 2.5, p90: 3.7, max: 4 });
  });
});

describe('rocAuc (the domain classifier score)', () => {
  it("matches scikit-learn's roc_auc_score doc example", () => {
    expect(rocAuc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])).toBe(0.75);
  });
  it('gives ties half credit', () => {
    expect(rocAuc([0, 1], [0.5, 0.5])).toBe(0.5);
  });
});

describe('bootstrapChange', () => {
  const labelled = (n: number, correct: number) => ({ y: Array.from({ length: n }, (_, i) => i % 2), pred: Array.from({ length: n }, (_, i) => (i < correct ? i % 2 : 1 - (i % 2))) });

  it('has a degenerate interval when every resample gives the same value', () => {
    const c = bootstrapChange('accuracy', labelled(50, 0), labelled(40, 40), { rounds: 200, seed: 1, level: 0.95 });
    expect(c).toEqual({ reference: 0, current: 1, change: 1, interval: { low: 1, high: 1 } });
  });
  it('gives the normal-approximation width for a difference of two 70 % accuracies', () => {
    // sd of the difference = sqrt(2 * 0.7 * 0.3 / 1000) = 0.0205; 95 % half-width = 1.96 sd = 0.0402.
    const c = bootstrapChange('accuracy', labelled(1000, 700), labelled(1000, 700), { rounds: 2000, seed: 3, level: 0.95 });
    expect(c.change).toBe(0);
    const half = (c.interval.high - c.interval.low) / 2;
    expect(half).toBeGreaterThan(0.036);
    expect(half).toBeLessThan(0.045);
    expect(c.interval.low).toBeLessThan(0);
    expect(c.interval.high).toBeGreaterThan(0);
  });
  it('computes F1 from the confusion counts and reproduces for a seed', () => {
    const ref = { y: [1, 1, 0, 0], pred: [1, 0, 1, 0] }; // tp 1, fn 1, fp 1: F1 = 2 / 4
    const cur = { y: [1, 1, 0, 0], pred: [1, 1, 0, 0] };
    const a = bootstrapChange('f1', ref, cur, { rounds: 100, seed: 9, level: 0.9 });
    expect(a.reference).toBe(0.5);
    expect(a.current).toBe(1);
    expect(bootstrapChange('f1', ref, cur, { rounds: 100, seed: 9, level: 0.9 })).toEqual(a);
  });
});

describe('permutationQuantile', () => {
  const meanDiff = (a: readonly number[], b: readonly number[]) => b.reduce((x, y) => x + y, 0) / b.length - a.reduce((x, y) => x + y, 0) / a.length;
  const o = { rounds: 500, quantile: 0.95, seed: 4, label: 't' };
  it('is 0 when every pooled value is the same', () => {
    expect(permutationQuantile([2, 2, 2], [2, 2], meanDiff, o)).toBe(0);
  });
  it('approaches the normal quantile of a difference of means under no effect, and reproduces', () => {
    // 0/1 values, p = 0.5, n = m = 100: sd of the mean difference = sqrt(0.25 (2 / 100)) = 0.0707; 95th pct = 0.116.
    const a = Array.from({ length: 100 }, (_, i) => i % 2);
    const b = Array.from({ length: 100 }, (_, i) => (i + 1) % 2);
    const q = permutationQuantile(a, b, meanDiff, { ...o, rounds: 2000 });
    expect(q).toBeGreaterThan(0.09);
    expect(q).toBeLessThan(0.14);
    expect(permutationQuantile(a, b, meanDiff, { ...o, rounds: 2000 })).toBe(q);
  });
});
