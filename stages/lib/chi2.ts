/**
 * Chi-squared feature scores for non-negative features against a binary label, as scikit-learn's
 * `chi2`: observed = per-class sums of the feature, expected = class share x feature total. Used
 * to keep the k most label-dependent TF-IDF features for tree models, which cannot use 50k columns.
 */
import type { Csr } from './sparse.js';

export function chi2Scores(X: Csr, y: ArrayLike<number>): Float64Array {
  const pos = new Float64Array(X.cols);
  const tot = new Float64Array(X.cols);
  let nPos = 0;
  for (let i = 0; i < X.rows; i++) {
    const isPos = y[i] === 1;
    if (isPos) nPos++;
    for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) {
      const j = X.indices[q] as number;
      const v = X.data[q] as number;
      tot[j]! += v;
      if (isPos) pos[j]! += v;
    }
  }
  const pPos = nPos / X.rows;
  return Float64Array.from(tot, (t, j) => {
    if (t === 0 || pPos === 0 || pPos === 1) return 0;
    const ePos = t * pPos;
    const eNeg = t - ePos;
    const oPos = pos[j] as number;
    return (oPos - ePos) ** 2 / ePos + (t - oPos - eNeg) ** 2 / eNeg;
  });
}

/** Columns of the k best scores, ascending; ties go to the lower column. */
export function topK(scores: Float64Array, k: number): Int32Array {
  const order = Array.from(scores.keys()).sort((a, b) => (scores[b] as number) - (scores[a] as number) || a - b);
  return Int32Array.from(order.slice(0, k)).sort();
}
