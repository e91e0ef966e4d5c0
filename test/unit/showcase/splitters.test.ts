// Property tests: each invariant of docs/showcase.md checked over many seeds, sizes and label mixes.
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../../stages/lib/rng.js';
import {
  bootstrap, crossValidationFull, cvHoldout, kFold, leaveOneOut, nestedCV, percentileInterval, range,
  SplitError, stratifiedKFold, timeSeriesSplit, trainTest, trainTestMiniCV, trainValTest, trainValTestInnerCV,
  type Fold,
} from '../../../stages/lib/splitters.js';

const SEEDS = range(60);

/** A random case: size, k and labels (2 or 3 classes, sometimes very unbalanced). */
function caseFor(seed: number): { n: number; k: number; y: number[]; ids: number[] } {
  const rng = mulberry32(seed * 7919 + 1);
  const n = 12 + Math.floor(rng() * 300);
  const k = 2 + Math.floor(rng() * 9);
  const classes = rng() < 0.3 ? 3 : 2;
  const skew = 0.1 + rng() * 0.8;
  const y = range(n).map(() => (rng() < skew ? 1 : classes === 3 && rng() < 0.5 ? 2 : 0));
  return { n, k, y, ids: range(n) };
}

const disjoint = (...sets: number[][]): boolean => {
  const seen = new Set<number>();
  for (const s of sets) for (const x of s) {
    if (seen.has(x)) return false;
    seen.add(x);
  }
  return true;
};
const union = (...sets: number[][]): number[] => [...new Set(sets.flat())].sort((a, b) => a - b);

const sameIds = (a: number[], b: number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

// (Checks are folded into one expect per call: thousands of expect() calls would dominate the run time.)
function expectPartitionFolds(folds: Fold[], ids: number[]): void {
  // union of val folds = all rows, no overlap; each train = complement of its val.
  const ok = disjoint(...folds.map((f) => f.val)) && sameIds(union(...folds.map((f) => f.val)), ids) &&
    folds.every((f) => disjoint(f.train, f.val) && sameIds(union(f.train, f.val), ids));
  expect(ok).toBe(true);
}

function expectStratified(folds: Fold[], y: number[], ids: number[]): void {
  const classes = [...new Set(ids.map((i) => y[i]!))];
  let worst = 0;
  for (const f of folds) {
    for (const c of classes) {
      const global = ids.filter((i) => y[i] === c).length / ids.length;
      const inFold = f.val.filter((i) => y[i] === c).length;
      worst = Math.max(worst, Math.abs(inFold - global * f.val.length));
    }
  }
  expect(worst).toBeLessThanOrEqual(1);
}

describe('trainTest', () => {
  it('is disjoint, covers every row, has the asked size, and is seeded', () => {
    for (const seed of SEEDS) {
      const { n, y, ids } = caseFor(seed);
      for (const stratify of [true, false]) {
        const s = trainTest(ids, { seed, testSize: 0.25, y, stratify });
        expect(disjoint(s.train, s.test)).toBe(true);
        expect(union(s.train, s.test)).toEqual(ids);
        expect(s.test.length).toBe(Math.round(n * 0.25));
        expect(trainTest(ids, { seed, testSize: 0.25, y, stratify })).toEqual(s);
      }
      expect(trainTest(ids, { seed, testSize: 5 }).test.length).toBe(5);
    }
    const a = trainTest(range(100), { seed: 1, testSize: 0.3 });
    const b = trainTest(range(100), { seed: 2, testSize: 0.3 });
    expect(a.test).not.toEqual(b.test);
  });

  it('keeps class proportions within one row when stratified', () => {
    for (const seed of SEEDS) {
      const { y, ids } = caseFor(seed);
      const s = trainTest(ids, { seed, testSize: 0.2, y });
      expectStratified([{ train: s.train, val: s.test }], y, ids);
    }
  });

  it('rejects sizes that leave a side empty', () => {
    expect(() => trainTest(range(10), { seed: 1, testSize: 0 })).toThrow(SplitError);
    expect(() => trainTest(range(10), { seed: 1, testSize: 10 })).toThrow(/at least one row/);
    expect(() => trainTest(range(10), { seed: 1, testSize: 1.5 })).toThrow(/fraction/);
  });
});

describe('trainValTest', () => {
  it('gives three disjoint sets covering all rows (tuning sees val only)', () => {
    for (const seed of SEEDS) {
      const { n, y, ids } = caseFor(seed);
      const s = trainValTest(ids, { seed, testSize: 0.2, valSize: 0.2, y });
      expect(disjoint(s.train, s.val, s.test)).toBe(true);
      expect(union(s.train, s.val, s.test)).toEqual(ids);
      expect(s.test.length).toBe(Math.round(n * 0.2));
      expect(s.val.length).toBe(Math.round(n * 0.2));
    }
  });
});

describe('kFold / stratifiedKFold / crossValidationFull', () => {
  it('validates every row exactly once', () => {
    for (const seed of SEEDS) {
      const { k, y, ids } = caseFor(seed);
      const folds = kFold(ids, { seed, k });
      expect(folds).toHaveLength(k);
      expectPartitionFolds(folds, ids);
      const sizes = folds.map((f) => f.val.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expectPartitionFolds(stratifiedKFold(ids, { seed, k, y }), ids);
      expectPartitionFolds(crossValidationFull(ids, { seed, k, y }), ids);
      expectPartitionFolds(crossValidationFull(ids, { seed, k }), ids);
    }
  });

  it('keeps each fold within one row of the global class ratio', () => {
    for (const seed of SEEDS) {
      const { k, y, ids } = caseFor(seed);
      expectStratified(stratifiedKFold(ids, { seed, k, y }), y, ids);
      expectStratified(crossValidationFull(ids, { seed, k, y }), y, ids);
    }
  });

  it('works on a subset of ids and never leaves it', () => {
    const ids = range(50).map((i) => i * 3 + 1);
    for (const f of kFold(ids, { seed: 3, k: 4 })) expect(union(f.train, f.val)).toEqual(ids);
  });

  it('rejects bad k', () => {
    expect(() => kFold(range(5), { seed: 1, k: 1 })).toThrow(/>= 2/);
    expect(() => kFold(range(5), { seed: 1, k: 6 })).toThrow(/more than the 5 rows/);
  });
});

describe('tuning inside training rows', () => {
  it('trainTestMiniCV: test never reaches the tuning folds', () => {
    for (const seed of SEEDS) {
      const { y, ids } = caseFor(seed);
      const s = trainTestMiniCV(ids, { seed, testSize: 0.2, y, k: 3 });
      expect(s.tuning).toHaveLength(3);
      expectPartitionFolds(s.tuning, s.train);
      expect(disjoint(union(...s.tuning.flatMap((f) => [f.train, f.val])), s.test)).toBe(true);
    }
  });

  it('trainValTestInnerCV: test and val untouched by tuning', () => {
    for (const seed of SEEDS) {
      const { y, ids } = caseFor(seed);
      const s = trainValTestInnerCV(ids, { seed, testSize: 0.2, valSize: 0.2, y });
      expectPartitionFolds(s.tuning, s.train);
      const tuned = union(...s.tuning.flatMap((f) => [f.train, f.val]));
      expect(disjoint(tuned, s.test)).toBe(true);
      expect(disjoint(tuned, s.val)).toBe(true);
    }
  });

  it('cvHoldout: the holdout is disjoint from every fold', () => {
    for (const seed of SEEDS) {
      const { k, y, ids } = caseFor(seed);
      const s = cvHoldout(ids, { seed, testSize: 0.1, k: Math.min(k, 5), y });
      expectPartitionFolds(s.tuning, s.train);
      for (const f of s.tuning) expect(disjoint(union(f.train, f.val), s.test)).toBe(true);
      expect(union(s.train, s.test)).toEqual(ids);
    }
  });

  it('nestedCV: no outer-val row ever reaches inner tuning', () => {
    for (const seed of SEEDS) {
      const { y, ids } = caseFor(seed);
      const outer = nestedCV(ids, { seed, outerK: 4, innerK: 3, y });
      expectPartitionFolds(outer, ids);
      for (const o of outer) {
        expectPartitionFolds(o.inner, o.train);
        for (const inner of o.inner) expect(disjoint(union(inner.train, inner.val), o.val)).toBe(true);
      }
    }
  });
});

describe('leaveOneOut', () => {
  it('gives n folds of one row', () => {
    const folds = leaveOneOut(range(7));
    expect(folds).toHaveLength(7);
    expectPartitionFolds(folds, range(7));
    for (const f of folds) expect(f.val).toHaveLength(1);
  });

  it('refuses n above the configured limit with a clear error', () => {
    expect(() => leaveOneOut(range(3000))).toThrow(/3000 model fits, above the limit of 1000/);
    expect(() => leaveOneOut(range(20), { maxN: 10 })).toThrow(SplitError);
    expect(leaveOneOut(range(20), { maxN: 20 })).toHaveLength(20);
  });
});

describe('timeSeriesSplit', () => {
  it('validates only on rows after every training row (expanding window)', () => {
    for (const seed of SEEDS) {
      const n = 30 + caseFor(seed).n;
      const k = 2 + (seed % 5);
      const gap = seed % 3;
      const folds = timeSeriesSplit(range(n), { k, gap });
      expect(folds).toHaveLength(k);
      let prevTrain = 0;
      for (const f of folds) {
        expect(Math.max(...f.train)).toBeLessThan(Math.min(...f.val));
        expect(Math.min(...f.val) - Math.max(...f.train)).toBe(gap + 1);
        expect(f.train.length).toBeGreaterThan(prevTrain);
        prevTrain = f.train.length;
      }
      expect(disjoint(...folds.map((f) => f.val))).toBe(true);
    }
  });

  it('respects maxTrainSize and rejects too few rows', () => {
    for (const f of timeSeriesSplit(range(100), { k: 4, maxTrainSize: 10 })) expect(f.train.length).toBeLessThanOrEqual(10);
    expect(() => timeSeriesSplit(range(4), { k: 5 })).toThrow(/too few/);
  });
});

describe('bootstrap', () => {
  it('draws n rows with replacement; OOB rows are exactly those never drawn', () => {
    for (const seed of SEEDS) {
      const { ids } = caseFor(seed);
      const rounds = bootstrap(ids, { seed, rounds: 5 });
      for (const r of rounds) {
        expect(r.sample).toHaveLength(ids.length);
        const drawn = new Set(r.sample);
        expect(r.oob.some((id) => drawn.has(id))).toBe(false);
        expect(union([...drawn], r.oob)).toEqual(ids);
      }
      expect(bootstrap(ids, { seed, rounds: 5 })).toEqual(rounds);
    }
  });

  it('leaves about 36.8 % of rows out of bag', () => {
    const rounds = bootstrap(range(5000), { seed: 9, rounds: 20 });
    const mean = rounds.reduce((a, r) => a + r.oob.length, 0) / rounds.length / 5000;
    expect(mean).toBeGreaterThan(0.35);
    expect(mean).toBeLessThan(0.385);
  });

  it('reports a percentile interval', () => {
    const iv = percentileInterval(range(101), 0.9);
    expect(iv.low).toBeCloseTo(5, 9);
    expect(iv.high).toBeCloseTo(95, 9);
    expect(percentileInterval([3], 0.95)).toEqual({ low: 3, high: 3 });
  });
});
