/**
 * Vectorisers fitted on training rows only: vocabulary limit (most frequent n-grams by document
 * frequency, ties by n-gram order), then one of
 *  - tfidf:    (1 + ln tf or tf) * smooth idf, rows L2-normalised (scikit-learn's TfidfVectorizer);
 *  - nb:       binarised counts * NB log-count ratio r (Wang & Manning 2012, "NBSVM" features);
 *  - nb-tfidf: tf-idf * r, L2-normalised.
 * A fitted vectoriser is self-contained (global column ids + weights), so models can be saved and
 * applied to rows they never saw.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from './files.js';
import type { Dataset } from './learner.js';
import { vectorizerParams, type VectorizerParams, type Weighting } from './params.js';
import type { ParamTree } from './stage.js';
import type { Csr } from './sparse.js';

export interface Vectorizer {
  readonly weighting: Weighting;
  readonly sublinear: boolean;
  readonly normalize: boolean;
  /** Selected global columns (ascending). */
  readonly cols: Int32Array;
  /** Per selected column: idf, r, or idf * r. */
  readonly weights: Float64Array;
}

export function fitVectorizer(X: Csr, rows: readonly number[], y: ArrayLike<number>, p: VectorizerParams): Vectorizer {
  const df = new Float64Array(X.cols);
  for (const i of rows) for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) df[X.indices[q] as number]! += 1;
  const candidates: number[] = [];
  for (let j = 0; j < X.cols; j++) if ((df[j] as number) >= p.min_df) candidates.push(j);
  candidates.sort((a, b) => (df[b] as number) - (df[a] as number) || a - b);
  const cols = Int32Array.from(candidates.slice(0, p.max_features)).sort();

  const n = rows.length;
  const idf = Float64Array.from(cols, (j) => Math.log((1 + n) / (1 + (df[j] as number))) + 1);
  let weights: Float64Array = idf;
  if (p.weighting !== 'tfidf') {
    const r = nbRatios(X, rows, y, cols, p.nb_alpha);
    weights = p.weighting === 'nb' ? r : Float64Array.from(r, (v, k) => v * (idf[k] as number));
  }
  return { weighting: p.weighting, sublinear: p.sublinear_tf, normalize: p.weighting !== 'nb', cols, weights };
}

/** r_j = ln((p_j / |p|_1) / (q_j / |q|_1)), p/q = alpha + binarised feature counts in positive/negative rows. */
function nbRatios(X: Csr, rows: readonly number[], y: ArrayLike<number>, cols: Int32Array, alpha: number): Float64Array {
  const local = localIndex(X.cols, cols);
  const pos = new Float64Array(cols.length).fill(alpha);
  const neg = new Float64Array(cols.length).fill(alpha);
  for (const i of rows) {
    const target = y[i] === 1 ? pos : neg;
    for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) {
      const k = local[X.indices[q] as number] as number;
      if (k >= 0) target[k]! += 1;
    }
  }
  const sp = pos.reduce((a, b) => a + b, 0);
  const sn = neg.reduce((a, b) => a + b, 0);
  return Float64Array.from(pos, (pv, k) => Math.log(pv / sp) - Math.log((neg[k] as number) / sn));
}

function localIndex(nCols: number, cols: Int32Array): Int32Array {
  const local = new Int32Array(nCols).fill(-1);
  cols.forEach((j, k) => (local[j] = k));
  return local;
}

/** The given rows of X in the vectoriser's feature space (rows x |cols|). */
export function transform(v: Vectorizer, X: Csr, rows: readonly number[]): Csr {
  const local = localIndex(X.cols, v.cols);
  const indptr = new Int32Array(rows.length + 1);
  let nnz = 0;
  rows.forEach((i, r) => {
    for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) if ((local[X.indices[q] as number] as number) >= 0) nnz++;
    indptr[r + 1] = nnz;
  });
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  let p = 0;
  rows.forEach((i) => {
    const start = p;
    for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) {
      const k = local[X.indices[q] as number] as number;
      if (k < 0) continue;
      const c = X.data[q] as number;
      const tf = v.weighting === 'nb' ? 1 : v.sublinear ? 1 + Math.log(c) : c;
      indices[p] = k;
      data[p++] = tf * (v.weights[k] as number);
    }
    if (v.normalize) {
      let ss = 0;
      for (let t = start; t < p; t++) ss += (data[t] as number) ** 2;
      if (ss > 0) {
        const inv = 1 / Math.sqrt(ss);
        for (let t = start; t < p; t++) data[t]! *= inv;
      }
    }
  });
  return { rows: rows.length, cols: v.cols.length, indptr, indices, data };
}

/**
 * The vectoriser depends on the training rows, not on the model's hyperparameters: a search fits
 * every candidate on the same rows array, so the fitted vectoriser and matrix are memoised per
 * (dataset, rows array, params) instead of being recomputed per candidate. Pure: the result is what
 * a fresh computation gives.
 */
const cache = new WeakMap<Dataset, WeakMap<readonly number[], { key: string; vec: Vectorizer; X: Csr }>>();

export function vectorized(data: Dataset, rows: readonly number[], tree: ParamTree): { vec: Vectorizer; X: Csr } {
  const vp = vectorizerParams(tree);
  const key = JSON.stringify(vp);
  let byRows = cache.get(data);
  if (!byRows) cache.set(data, (byRows = new WeakMap()));
  const hit = byRows.get(rows);
  if (hit && hit.key === key) return hit;
  const vec = fitVectorizer(data.counts, rows, data.labels, vp);
  const entry = { key, vec, X: transform(vec, data.counts, rows) };
  byRows.set(rows, entry);
  return entry;
}

/** Global column ids of saved n-grams in this dataset's vocabulary. */
export function columnsOf(grams: readonly string[], data: Dataset, dir: string): Int32Array {
  const id = new Map(data.vocab.map((g, j) => [g, j]));
  return Int32Array.from(grams, (g) => {
    const j = id.get(g);
    if (j === undefined) throw new Error(`${dir}: n-gram ${JSON.stringify(g)} is not in the features vocabulary`);
    return j;
  });
}

/** What a saved linear or tree model records of its vectoriser in `model.json`. */
export interface SavedVectorizerMeta {
  readonly vectorizer: { readonly weighting: Weighting; readonly sublinear_tf: boolean; readonly l2_normalize: boolean };
}

/**
 * A saved model's `model.json` and its vectoriser, rebuilt from `features.tsv` (n-gram, weight,
 * then the learner's own columns, returned per row for it to read).
 */
export function readSavedVectorizer<M extends SavedVectorizerMeta>(dir: string, data: Dataset): { meta: M; rows: string[][]; vec: Vectorizer } {
  const meta = readJson<M>(join(dir, 'model.json'));
  const rows = readFileSync(join(dir, 'features.tsv'), 'utf8').split('\n').slice(1, -1).map((l) => l.split('\t'));
  const vec: Vectorizer = {
    weighting: meta.vectorizer.weighting,
    sublinear: meta.vectorizer.sublinear_tf,
    normalize: meta.vectorizer.l2_normalize,
    cols: columnsOf(rows.map((r) => r[0] as string), data, dir),
    weights: Float64Array.from(rows, (r) => Number(r[1])),
  };
  return { meta, rows, vec };
}
