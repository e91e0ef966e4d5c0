// Metrics against values computed by hand (and cross-checked with scikit-learn's definitions).
import { describe, expect, it } from 'vitest';
import {
  accuracy, binaryMetrics, bootstrapCI, confusion, f1, precision, recall, rocAuc, rocCurve,
} from '../../../stages/lib/metrics.js';

describe('confusion-based metrics', () => {
  // y:    1 1 1 1 0 0 0 0 0 0
  // pred: 1 1 1 0 1 0 0 0 0 0  -> tp 3, fn 1, fp 1, tn 5
  const y = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0];
  const pred = [1, 1, 1, 0, 1, 0, 0, 0, 0, 0];
  const c = confusion(y, pred);

  it('counts the four cells', () => expect(c).toEqual({ tn: 5, fp: 1, fn: 1, tp: 3 }));
  it('computes accuracy, precision, recall, F1', () => {
    expect(accuracy(c)).toBeCloseTo(0.8, 12);
    expect(precision(c)).toBeCloseTo(0.75, 12);
    expect(recall(c)).toBeCloseTo(0.75, 12);
    expect(f1(c)).toBeCloseTo(0.75, 12);
  });
  it('returns 0, not NaN, for empty denominators', () => {
    const none = confusion([0, 0], [0, 0]);
    expect(precision(none)).toBe(0);
    expect(recall(none)).toBe(0);
    expect(f1(none)).toBe(0);
  });
});

describe('ROC', () => {
  it('computes AUC as the fraction of correctly ordered pairs, ties counting half', () => {
    // positives 0.9, 0.4; negatives 0.4, 0.1: pairs (0.9>0.4 yes, 0.9>0.1 yes, 0.4=0.4 half, 0.4>0.1 yes) = 3.5/4
    expect(rocAuc([1, 1, 0, 0], [0.9, 0.4, 0.4, 0.1])).toBeCloseTo(0.875, 12);
    expect(rocAuc([1, 0], [0.2, 0.8])).toBe(0);
    expect(rocAuc([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(rocAuc([1, 1], [0.2, 0.3])).toBeNull();
  });

  it('gives one curve point per distinct score, from (0,0) to (1,1)', () => {
    const pts = rocCurve([1, 1, 0, 0], [0.9, 0.4, 0.4, 0.1]);
    expect(pts).toEqual([
      { fpr: 0, tpr: 0, threshold: null },
      { fpr: 0, tpr: 0.5, threshold: 0.9 },
      { fpr: 0.5, tpr: 1, threshold: 0.4 },
      { fpr: 1, tpr: 1, threshold: 0.1 },
    ]);
    // Trapezoid area under the points equals the rank AUC.
    let area = 0;
    for (let i = 1; i < pts.length; i++) area += (pts[i]!.fpr - pts[i - 1]!.fpr) * (pts[i]!.tpr + pts[i - 1]!.tpr) / 2;
    expect(area).toBeCloseTo(0.875, 12);
  });

  it('bundles metrics at threshold 0.5', () => {
    const m = binaryMetrics([1, 0, 1, 0], [0.7, 0.6, 0.2, 0.1]);
    expect(m.confusion).toEqual({ tn: 1, fp: 1, fn: 1, tp: 1 });
    expect(m.accuracy).toBe(0.5);
    expect(m.roc_auc).toBeCloseTo(0.75, 12);
  });
});

describe('bootstrapCI', () => {
  it('brackets the point estimate, narrows with n and is seeded', () => {
    const y = Array.from({ length: 400 }, (_, i) => i % 2);
    const pred = y.map((v, i) => (i % 5 === 0 ? 1 - v : v)); // 80 % correct
    const ci = bootstrapCI(y, pred, { rounds: 500, seed: 1 });
    expect(ci.accuracy.low).toBeLessThan(0.8);
    expect(ci.accuracy.high).toBeGreaterThan(0.8);
    expect(ci.accuracy.high - ci.accuracy.low).toBeLessThan(0.1);
    expect(ci.f1.low).toBeLessThan(ci.f1.high);
    expect(bootstrapCI(y, pred, { rounds: 500, seed: 1 })).toEqual(ci);
    const perfect = bootstrapCI([0, 1, 1], [0, 1, 1], { rounds: 50, seed: 2 });
    expect(perfect.accuracy).toEqual({ low: 1, high: 1 });
  });
});
