// Chi2 feature selection and the XGBoost (WASM) learner on small synthetic data.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chi2Scores, topK } from '../../../stages/lib/chi2.js';
import { featurize } from '../../../stages/lib/featurize.js';
import { learnerFor, type Dataset } from '../../../stages/lib/learners.js';
import { mulberry32 } from '../../../stages/lib/rng.js';
import { csrFromRows } from '../../../stages/lib/sparse.js';
import { range } from '../../../stages/lib/splitters.js';
import { composeParams } from './helpers.js';

describe('chi2', () => {
  it('scores features as scikit-learn does and keeps the top k', () => {
    // f0 in rows 0,1 (pos) and 3 (neg); f1 in rows 2,3 (neg). Expected counts: half of each total.
    const X = csrFromRows([new Map([[0, 1]]), new Map([[0, 1]]), new Map([[1, 1]]), new Map([[0, 1], [1, 1]])], 3);
    const s = chi2Scores(X, [1, 1, 0, 0]);
    expect(s[0]).toBeCloseTo(0.5 ** 2 / 1.5 + 0.5 ** 2 / 1.5, 12);
    expect(s[1]).toBeCloseTo(1 + 1, 12);
    expect(s[2]).toBe(0); // never occurs
    expect(Array.from(topK(s, 1))).toEqual([1]);
    expect(Array.from(topK(Float64Array.from([1, 2, 2, 0]), 2))).toEqual([1, 2]); // ties by column
  });
});

describe('xgboost learner', () => {
  const rng = mulberry32(3);
  const pos = ['great', 'love', 'superb'];
  const neg = ['awful', 'hate', 'boring'];
  const texts = range(200).map((i) => `the ${(i % 2 ? pos : neg)[Math.floor(rng() * 3)]} phone ${rng() < 0.3 ? 'ok' : 'it'}`);
  const f = featurize(texts, 2);
  const data: Dataset = { counts: f.counts, labels: Uint8Array.from(range(200), (i) => i % 2), vocab: f.vocab };
  const tree = composeParams({ model: 'xgboost', 'model.rounds': 20, 'model.select_k': 50 });
  const learner = learnerFor(tree);
  const [train, test] = [range(150), range(50).map((i) => 150 + i)];

  it('loads the WASM build and learns a separable set', async () => {
    await learner.prepare(tree);
    const m = learner.fit(data, train, learner.candidates(tree, false)[0]!, tree);
    const p = m.predict(data, test);
    expect(test.filter((i, k) => (p[k]! >= 0.5 ? 1 : 0) === data.labels[i]).length / test.length).toBe(1);
    expect(m.flops).toBeGreaterThan(0);
    m.dispose();
  });

  it('is deterministic and round-trips through its saved files', async () => {
    await learner.prepare(tree);
    const hyper = learner.candidates(tree, false)[0]!;
    const [a, b] = [learner.fit(data, train, hyper, tree), learner.fit(data, train, hyper, tree)];
    const [da, db] = [mkdtempSync(join(tmpdir(), 'mlb-xgb-')), mkdtempSync(join(tmpdir(), 'mlb-xgb-'))];
    a.save(da, data);
    b.save(db, data);
    expect(readFileSync(join(da, 'model.xgb'))).toEqual(readFileSync(join(db, 'model.xgb')));
    const loaded = learner.load(da, data);
    expect(Array.from(loaded.predict(data, test))).toEqual(Array.from(a.predict(data, test)));
    for (const m of [a, b, loaded]) m.dispose();
  });

  it('searches the cartesian grid, simplest first', () => {
    expect(learner.candidates(tree, true).map((h) => [h.max_depth, h.eta])).toEqual([[3, 0.1], [3, 0.3], [6, 0.1], [6, 0.3]]);
  });
});
