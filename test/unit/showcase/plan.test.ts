// Split plans for every splitter: test rows never reach training or tuning, folds match strategy.k.
import { describe, expect, it } from 'vitest';
import { modelsParam, modelTree, strategyParams, SPLITTERS, type SplitterName } from '../../../stages/lib/params.js';
import { buildPlan, decodePlan, encodePlan, type RowParts } from '../../../stages/lib/plan.js';
import { range } from '../../../stages/lib/splitters.js';

const labels = range(200).map((i) => (i * 7) % 3 === 0 ? 1 : 0);
const uciLike: RowParts = { train: range(120), dev: [], test: [], labels };
const sstLike: RowParts = { train: range(100), dev: range(20).map((i) => 100 + i), test: range(30).map((i) => 120 + i), labels };

const K: Record<SplitterName, number> = {
  trainTest: 1, trainValTest: 1, kFold: 4, stratifiedKFold: 4, trainTestMiniCV: 3, trainValTestInnerCV: 3,
  crossValidationFull: 5, cvHoldout: 4, leaveOneOut: 0, nestedCV: 4, timeSeriesSplit: 3, bootstrap: 6,
};

function strategy(splitter: SplitterName, k: number, extra: Record<string, unknown> = {}) {
  return strategyParams({ strategy: { name: 's', splitter, k, test_size: 0.2, val_size: 0.2, search: true, refit: true, ...extra } });
}

describe.each([['no official split', uciLike], ['official dev and test', sstLike]] as const)('buildPlan (%s)', (_name, parts) => {
  it.each(SPLITTERS)('%s keeps test rows out of every fold and the pool', (splitter) => {
    const n = parts.train.length + parts.dev.length;
    // leaveOneOut: one fold per pool row (a 20 % test set is carved when there is no official one).
    const k = splitter === 'leaveOneOut' ? (parts.test.length ? n : n - Math.round(n * 0.2)) : K[splitter];
    const plan = buildPlan(parts, strategy(splitter, k), 42);
    expect(plan.folds).toHaveLength(k);
    const test = new Set(plan.test);
    if (parts.test.length) expect(plan.test).toEqual(parts.test);
    for (const f of plan.folds) {
      const tuned = (f.inner ?? []).flatMap((g) => [...g.train, ...g.val]);
      expect([...f.train, ...f.val, ...tuned].filter((id) => test.has(id))).toEqual([]);
      expect(tuned.filter((id) => f.val.includes(id))).toEqual([]);
      if (splitter !== 'bootstrap') expect(f.train.filter((id) => f.val.includes(id))).toEqual([]);
    }
    expect(plan.pool.filter((id) => test.has(id))).toEqual([]);
    expect(decodePlan(JSON.parse(JSON.stringify(encodePlan(plan))))).toEqual(plan);
    expect(buildPlan(parts, strategy(splitter, k), 42)).toEqual(plan);
  });
});

describe('buildPlan specifics', () => {
  it('carves a stratified test set only when the data has none', () => {
    const plan = buildPlan(uciLike, strategy('trainTest', 1), 1);
    expect(plan.test_source).toBe('carved');
    expect(plan.test).toHaveLength(24);
    expect(buildPlan(sstLike, strategy('trainTest', 1), 1).test_source).toBe('official');
    expect(buildPlan(uciLike, strategy('nestedCV', 4, { test_size: 0 }), 1).test_source).toBe('none');
  });

  it('validates on the official dev set, and refits trainValTest on train + val', () => {
    const plan = buildPlan(sstLike, strategy('trainValTest', 1), 1);
    expect(plan.folds[0]!.val).toEqual(sstLike.dev);
    expect(plan.pool).toEqual([...sstLike.train, ...sstLike.dev]);
    const quick = buildPlan(sstLike, strategy('trainTest', 1), 1);
    expect(quick.pool).toEqual(sstLike.train); // dev is scored for reference, never trained on
  });

  it('cuts a time-series test set from the latest rows', () => {
    const plan = buildPlan(uciLike, strategy('timeSeriesSplit', 3), 1);
    expect(Math.min(...plan.test)).toBeGreaterThan(Math.max(...plan.pool));
  });

  it('explains a strategy.k that does not match the splitter', () => {
    expect(() => buildPlan(uciLike, strategy('trainTest', 3), 1)).toThrow(/strategy\.k = 3, but trainTest .* makes 1 fold\(s\); set strategy\.k: 1/);
    expect(() => buildPlan(uciLike, strategy('leaveOneOut', 96, { loo_max_n: 50 }), 1)).toThrow(/above the limit of 50/);
  });
});

describe('the models of a run', () => {
  const logreg = { name: 'logreg', C: 1 };
  const cnn = { name: 'cnn', epochs: 2 };

  it('are the options of the model group in selection order, or the one-model form', () => {
    expect(modelsParam({ model: { cnn, logreg } })).toEqual(['cnn', 'logreg']);
    expect(modelsParam({ model: logreg })).toEqual(['logreg']);
    expect(modelTree({ seed: 1, model: { cnn, logreg } }, 'logreg')).toEqual({ seed: 1, model: logreg });
    expect(modelTree({ model: logreg }, 'logreg')).toEqual({ model: logreg });
  });

  it('refuse a missing selection and a model whose settings were not loaded, naming the fix', () => {
    expect(() => modelsParam({})).toThrow(/^params: model must be a map of the selected model options \(params\/base\.yaml: - model: \[logreg\]\), got nothing/);
    expect(() => modelsParam({ model: {} })).toThrow(/^params: model must be a map of the selected model options .*, got \{\}/);
    expect(() => modelsParam({ model: { logreg, svm: { C: 1 } } })).toThrow(/no settings for model svm under model\.svm: select it with -S model=svm/);
    expect(() => modelTree({ model: { logreg } }, 'cnn')).toThrow(/-S model=cnn/);
  });
});
