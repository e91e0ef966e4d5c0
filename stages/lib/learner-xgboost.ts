/**
 * Gradient-boosted trees with real XGBoost (WASM, see xgboost.ts) on TF-IDF features reduced to the
 * `select_k` most label-dependent ones by chi2, both fitted on the training rows only. Exact greedy
 * split finding (tree_method=exact) over the sparse matrix, no row/column sampling: deterministic.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chi2Scores, topK } from './chi2.js';
import { writeBytes, writeJson, writeText } from './files.js';
import { gridCandidates, type Fitted, type Hyper, type Learner } from './learner.js';
import { num, seedParam } from './params.js';
import type { Csr } from './sparse.js';
import { readSavedVectorizer, transform, vectorized, type SavedVectorizerMeta, type Vectorizer } from './vectorize.js';
import { loadXgboost, MISSING, type XgbApi } from './xgboost.js';

const KEYS = ['rounds', 'max_depth', 'eta', 'min_child_weight', 'lambda'] as const;

let xgb: XgbApi | undefined;
const ready = (): XgbApi => {
  if (!xgb) throw new Error('xgboost learner used before prepare()');
  return xgb;
};

/** Rows of X restricted to `sel` (local columns), dense row-major, MISSING where absent. */
function dense(X: Csr, sel: Int32Array): Float32Array {
  const pos = new Map(Array.from(sel, (c, k) => [c, k]));
  const out = new Float32Array(X.rows * sel.length).fill(MISSING);
  for (let i = 0; i < X.rows; i++) {
    for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) {
      const k = pos.get(X.indices[q] as number);
      if (k !== undefined) out[i * sel.length + k] = X.data[q] as number;
    }
  }
  return out;
}

function fitted(hyper: Hyper, flops: number, model: number, vec: Vectorizer, sel: Int32Array, meta: Record<string, unknown>): Fitted {
  let alive = true;
  return {
    hyper,
    flops,
    predict: (d, r) => ready().predict(model, dense(transform(vec, d.counts, r), sel), r.length, sel.length),
    save(dir, d) {
      writeBytes(join(dir, 'model.xgb'), ready().save(model));
      writeJson(join(dir, 'model.json'), { model: 'xgboost', hyper, ...meta, vectorizer: { weighting: vec.weighting, sublinear_tf: vec.sublinear, l2_normalize: vec.normalize, features: vec.cols.length, selected: sel.length } });
      const chosen = new Set(sel);
      const lines = ['ngram\tweight\tselected'];
      vec.cols.forEach((j, k) => lines.push(`${d.vocab[j]}\t${vec.weights[k]}\t${chosen.has(k) ? 1 : 0}`));
      writeText(join(dir, 'features.tsv'), `${lines.join('\n')}\n`);
    },
    dispose() {
      if (alive) ready().free(model);
      alive = false;
    },
  };
}

export const xgboost: Learner = {
  name: 'xgboost',
  async prepare() {
    xgb ??= await loadXgboost();
    return 'XGBoost (WebAssembly, one thread)';
  },
  candidates: (tree, search) => gridCandidates(tree, KEYS, search),
  fit(data, rows, hyper, tree) {
    const { vec, X } = vectorized(data, rows, tree);
    const y = rows.map((i) => data.labels[i] as number);
    const sel = topK(chi2Scores(X, y), num(tree, 'model.select_k', { int: true, min: 1 }));
    const matrix = dense(X, sel);
    const params: Record<string, string> = {
      objective: 'binary:logistic',
      tree_method: 'exact',
      max_depth: String(hyper.max_depth),
      eta: String(hyper.eta),
      min_child_weight: String(hyper.min_child_weight),
      lambda: String(hyper.lambda),
      subsample: '1',
      colsample_bytree: '1',
      base_score: '0.5',
      seed: String(seedParam(tree)),
      silent: '1',
    };
    const model = ready().train(matrix, Float32Array.from(y), rows.length, sel.length, params, hyper.rounds as number);
    let nnz = 0;
    for (const v of matrix) if (v !== MISSING) nnz++;
    // Estimate: exact greedy scans the non-missing entries once per tree level (gradient sums both ways).
    const flops = (hyper.rounds as number) * (hyper.max_depth as number) * nnz * 4;
    return fitted(hyper, flops, model, vec, sel, { select: 'chi2', tree_method: 'exact' });
  },
  load(dir, data) {
    const { meta, rows, vec } = readSavedVectorizer<SavedVectorizerMeta & { hyper: Hyper }>(dir, data);
    const sel = Int32Array.from(rows.flatMap((r, k) => (r[2] === '1' ? [k] : [])));
    const model = ready().load(new Uint8Array(readFileSync(join(dir, 'model.xgb'))));
    return fitted(meta.hyper, 0, model, vec, sel, {});
  },
};
