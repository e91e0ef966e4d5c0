import { describe, expect, it } from 'vitest';
import { domainClassifier, hashedFeatures, stratifiedFolds } from '../../../src/monitor/domain-classifier.js';
import { mulberry32 } from '../../../stages/lib/rng.js';

/** n rows of 8 tokens drawn from the hash range [lo, lo + span). */
function rows(n: number, lo: number, span: number, seed: number): Uint32Array[] {
  const r = mulberry32(seed);
  return Array.from({ length: n }, () => Uint32Array.from({ length: 8 }, () => lo + Math.floor(r() * span)));
}

const opts = { folds: 5, C: 1, permutations: 0, nullQuantile: 0.95, seed: 42, top: 5 };

describe('domainClassifier', () => {
  it('cannot tell two samples of one distribution apart (AUC near 0.5)', () => {
    const d = domainClassifier(rows(300, 0, 200, 1), rows(300, 0, 200, 2), opts);
    expect(d.auc).toBeGreaterThan(0.42);
    expect(d.auc).toBeLessThan(0.58);
    expect(d.foldAucs).toHaveLength(5);
  });
  it('separates samples whose vocabularies differ (AUC near 1) and names the markers', () => {
    const shifted = rows(200, 0, 200, 4).map((h, i) => (i % 2 === 0 ? Uint32Array.from([...h.slice(0, 6), 9999, 9998]) : h));
    const d = domainClassifier(rows(200, 0, 200, 3), shifted, opts);
    expect(d.auc).toBeGreaterThan(0.7);
    // The injected tokens and their bigram are what marks the current sample most.
    expect(d.markers.current.slice(0, 3).map((m) => m.hashes.join(' '))).toEqual(expect.arrayContaining(['9999', '9998', '9999 9998']));
    expect(d.markers.current.every((m) => m.weight > 0)).toBe(true);
  });
  it('gives a permutation null whose quantile bounds chance, and a small p-value for a real shift', () => {
    const same = domainClassifier(rows(60, 0, 100, 5), rows(60, 0, 100, 6), { ...opts, permutations: 30 });
    expect(same.nullAucs).toHaveLength(30);
    expect(same.nullThreshold).toBeGreaterThan(0.5);
    expect(same.pValue).toBeGreaterThan(0.05);
    const shifted = domainClassifier(rows(60, 0, 100, 7), rows(60, 50, 100, 8), { ...opts, permutations: 30 });
    expect(shifted.auc).toBeGreaterThan(shifted.nullThreshold as number);
    expect(shifted.pValue).toBeCloseTo(1 / 31, 12);
  });
  it('is deterministic for a seed', () => {
    const a = domainClassifier(rows(80, 0, 50, 9), rows(80, 10, 50, 10), { ...opts, permutations: 5 });
    const b = domainClassifier(rows(80, 0, 50, 9), rows(80, 10, 50, 10), { ...opts, permutations: 5 });
    expect(b).toEqual(a);
  });
  it('needs two rows a side', () => {
    expect(() => domainClassifier(rows(1, 0, 5, 1), rows(10, 0, 5, 2), opts)).toThrow(/at least 2 rows/);
  });
});

describe('hashedFeatures and folds', () => {
  it('makes binary unigram and bigram columns, L2-normalised per row', () => {
    const { X, columns } = hashedFeatures([Uint32Array.from([7, 8, 7]), Uint32Array.from([8])]);
    expect(columns).toEqual([[7], [7, 8], [8], [8, 7]]);
    expect(Array.from(X.indptr)).toEqual([0, 4, 5]);
    expect(X.data[0]).toBeCloseTo(0.5, 12);
    expect(X.data[4]).toBe(1);
  });
  it('deals each class evenly over the folds', () => {
    const y = Uint8Array.from({ length: 23 }, (_, i) => (i < 13 ? 0 : 1));
    const f = stratifiedFolds(y, 5, mulberry32(1));
    for (let k = 0; k < 5; k++) {
      const zeros = [...f.keys()].filter((i) => f[i] === k && y[i] === 0).length;
      expect(zeros === 2 || zeros === 3).toBe(true);
    }
  });
});
