// Features, vectorisers and the logistic regression solver on tiny hand-checkable data.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { featurize } from '../../../stages/lib/featurize.js';
import { learnerFor, type Dataset } from '../../../stages/lib/learners.js';
import { fitLogReg, predictProba, sigmoid } from '../../../stages/lib/logreg.js';
import { mulberry32 } from '../../../stages/lib/rng.js';
import { loadSavedLogReg, scoreText } from '../../../stages/lib/saved-model.js';
import { csrFromRows, readCsr, writeCsr, type Csr } from '../../../stages/lib/sparse.js';
import { range } from '../../../stages/lib/splitters.js';
import { fitVectorizer, transform } from '../../../stages/lib/vectorize.js';
import { composeParams } from './helpers.js';

const dense = (m: Csr): number[][] =>
  range(m.rows).map((i) => {
    const row = new Array<number>(m.cols).fill(0);
    for (let q = m.indptr[i]!; q < m.indptr[i + 1]!; q++) row[m.indices[q]!] = m.data[q]!;
    return row;
  });

describe('featurize', () => {
  it('counts sorted n-grams and keeps unigram sequences in text order', () => {
    const f = featurize(['good good film', 'bad film'], 2);
    expect(f.vocab).toEqual(['bad', 'bad film', 'film', 'good', 'good film', 'good good']);
    expect(dense(f.counts)).toEqual([[0, 0, 1, 2, 1, 1], [1, 1, 1, 0, 0, 0]]);
    expect(Array.from(f.sequences.indices)).toEqual([3, 3, 2, 0, 2]);
    expect(Array.from(f.sequences.indptr)).toEqual([0, 3, 5]);
  });

  it('round-trips through the binary CSR file', () => {
    const f = featurize(['a b c', '', 'c c'], 2);
    const path = join(mkdtempSync(join(tmpdir(), 'mlb-csr-')), 'x.csr');
    writeCsr(path, f.counts);
    const back = readCsr(path);
    expect(dense(back)).toEqual(dense(f.counts));
    expect(back.rows).toBe(3);
  });
});

describe('vectorisers', () => {
  // 4 docs x 3 terms; term 2 appears in every doc.
  const X = csrFromRows([new Map([[0, 2], [2, 1]]), new Map([[0, 1], [2, 1]]), new Map([[1, 1], [2, 1]]), new Map([[1, 3], [2, 1]])], 3);
  const y = [1, 1, 0, 0];
  const base = { max_features: 10, min_df: 1, sublinear_tf: false, nb_alpha: 1 };

  it('tf-idf: smooth idf as scikit-learn, rows L2-normalised', () => {
    const v = fitVectorizer(X, [0, 1, 2, 3], y, { ...base, weighting: 'tfidf' });
    const idf0 = Math.log(5 / 3) + 1;
    expect(v.weights[0]).toBeCloseTo(idf0, 12);
    expect(v.weights[2]).toBeCloseTo(1, 12);
    const row0 = dense(transform(v, X, [0]))[0]!;
    const norm = Math.hypot(2 * idf0, 1);
    expect(row0[0]).toBeCloseTo((2 * idf0) / norm, 12);
    expect(row0[2]).toBeCloseTo(1 / norm, 12);
  });

  it('limits the vocabulary to the most frequent n-grams of the training rows only', () => {
    const v = fitVectorizer(X, [0, 1], y, { ...base, weighting: 'tfidf', max_features: 2 });
    expect(Array.from(v.cols)).toEqual([0, 2]); // term 1 never occurs in rows 0-1
    expect(fitVectorizer(X, [0, 1, 2, 3], y, { ...base, weighting: 'tfidf', max_features: 1 }).cols).toEqual(Int32Array.from([2]));
  });

  it('NB ratios: positive for positive-only terms, zero for balanced ones', () => {
    const v = fitVectorizer(X, [0, 1, 2, 3], y, { ...base, weighting: 'nb' });
    // p = 1 + [2, 0, 2] (|p| = 7), q = 1 + [0, 2, 2] (|q| = 7)
    expect(v.weights[0]).toBeCloseTo(Math.log(3), 12);
    expect(v.weights[1]).toBeCloseTo(-Math.log(3), 12);
    expect(v.weights[2]).toBeCloseTo(0, 12);
    const row0 = dense(transform(v, X, [0]))[0]!; // binarised, not normalised
    expect(row0[0]).toBeCloseTo(Math.log(3), 12);
    expect(row0.slice(1)).toEqual([0, 0]);
  });
});

describe('logistic regression', () => {
  // Two Gaussian-ish blobs on 5 sparse features; label depends on features 0 and 1.
  function synthetic(n: number, seed: number): { X: Csr; y: number[] } {
    const rng = mulberry32(seed);
    const rows: Map<number, number>[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const label = rng() < 0.5 ? 1 : 0;
      const m = new Map<number, number>();
      m.set(label ? 0 : 1, 1 + rng());
      if (rng() < 0.3) m.set(label ? 1 : 0, rng()); // noise from the other class
      m.set(2 + Math.floor(rng() * 3), rng());
      rows.push(m);
      y.push(label);
    }
    return { X: csrFromRows(rows, 5), y };
  }

  it('learns a tiny synthetic set', () => {
    const train = synthetic(300, 1);
    const test = synthetic(200, 2);
    const { model, info } = fitLogReg(train.X, train.y, { C: 1 });
    expect(info.converged).toBe(true);
    const p = predictProba(model, test.X);
    const acc = test.y.filter((v, i) => (p[i]! >= 0.5 ? 1 : 0) === v).length / test.y.length;
    expect(acc).toBeGreaterThan(0.9);
    expect(model.w[0]).toBeGreaterThan(0);
    expect(model.w[1]).toBeLessThan(0);
  });

  it('reaches the optimum: the gradient of the regularised objective vanishes', () => {
    const { X, y } = synthetic(200, 3);
    const C = 2;
    const { model } = fitLogReg(X, y, { C, tol: 1e-10 });
    const p = predictProba(model, X);
    const grad = Array.from(model.w);
    let gb = 0;
    for (let i = 0; i < X.rows; i++) {
      const r = C * (p[i]! - y[i]!);
      gb += r;
      for (let q = X.indptr[i]!; q < X.indptr[i + 1]!; q++) grad[X.indices[q]!]! += r * X.data[q]!;
    }
    for (const g of [...grad, gb]) expect(Math.abs(g)).toBeLessThan(1e-6);
  });

  it('matches a closed form: one feature, symmetric data', () => {
    // x = +1: labels 1,1,1,0; x = -1: labels 0,0,0,1. By symmetry b = 0, and the optimality
    // condition w + C * sum_i (sigmoid(w x_i) - y_i) x_i = 0 becomes w + 2 (4 sigmoid(w) - 3) = 0.
    const X = csrFromRows([1, 1, 1, 1, -1, -1, -1, -1].map((v) => new Map([[0, v]])), 1);
    const y = [1, 1, 1, 0, 0, 0, 0, 1];
    const { model } = fitLogReg(X, y, { C: 1, tol: 1e-12 });
    expect(model.b).toBeCloseTo(0, 8);
    const w = model.w[0]!;
    expect(w + 8 * sigmoid(w) - 6).toBeCloseTo(0, 8);
  });

  it('is deterministic', () => {
    const { X, y } = synthetic(100, 4);
    expect(fitLogReg(X, y, { C: 0.5 }).model).toEqual(fitLogReg(X, y, { C: 0.5 }).model);
  });
});

describe('logreg learner and saved model', () => {
  const texts = ['great phone, love it', 'terrible battery, hate it', 'love the screen', 'hate the case', 'great value', 'terrible support'];
  const f = featurize(texts, 2);
  const data: Dataset = { counts: f.counts, labels: Uint8Array.from([1, 0, 1, 0, 1, 0]), vocab: f.vocab };
  const tree = composeParams({ model: 'logreg' });
  const learner = learnerFor(tree);

  it('lists defaults, or the search grid in ascending C', () => {
    expect(learner.candidates(tree, false)).toEqual([{ C: 1 }]);
    expect(learner.candidates(composeParams({ model: 'logreg', 'model.search.C': [4, 1, 4, 0.5] }), true)).toEqual([{ C: 0.5 }, { C: 1 }, { C: 4 }]);
  });

  it('saves a self-contained model that scores raw text exactly like the pipeline', () => {
    const fitted = learner.fit(data, range(6), { C: 4 }, tree);
    const dir = mkdtempSync(join(tmpdir(), 'mlb-model-'));
    fitted.save(dir, data);
    const inPipeline = fitted.predict(data, range(6));
    const saved = loadSavedLogReg(dir);
    texts.forEach((t, i) => expect(scoreText(saved, t)).toBe(inPipeline[i]));
    expect(Array.from(learner.load(dir, data).predict(data, range(6)))).toEqual(Array.from(inPipeline));
    expect(scoreText(saved, 'love it, great')).toBeGreaterThan(0.5);
    expect(scoreText(saved, 'hate it, terrible')).toBeLessThan(0.5);
  });
});
