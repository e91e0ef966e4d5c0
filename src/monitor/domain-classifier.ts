/**
 * Text drift by a domain classifier: can a model tell current inputs from reference inputs? Rows
 * of both samples are labelled by origin (0 reference, 1 current), turned into L2-normalised binary
 * features of hashed unigrams and bigrams (hashes, because a request log holds no raw text), and
 * scored by stratified k-fold cross-validation with the showcase's exact L-BFGS logistic regression
 * (stages/lib/logreg.ts). The mean out-of-fold ROC AUC is 0.5 when the samples are exchangeable and
 * approaches 1 when they differ. Small samples make AUC noisy, so a permutation null (origin labels
 * shuffled, same procedure) gives the AUC that chance alone reaches. A last fit on all rows names
 * the hashed tokens that most mark each side. Deterministic for a seed. It does not decide drift.
 */
import { fitLogReg, predictProba } from '../../stages/lib/logreg.js';
import { rocAuc } from '../../stages/lib/metrics.js';
import { rngFor, shuffled, type Rng } from '../../stages/lib/rng.js';
import type { Csr } from '../../stages/lib/sparse.js';
import { quantileSorted } from './stats.js';

export interface DomainOptions {
  readonly folds: number;
  readonly C: number;
  /** Permutation rounds (0: none). */
  readonly permutations: number;
  /** Quantile of the null reported as its threshold (e.g. 0.95). */
  readonly nullQuantile: number;
  readonly seed: number;
  /** How many marker tokens to name per side. */
  readonly top: number;
}

export interface Marker {
  /** A unigram's hash, or a bigram's two hashes. */
  readonly hashes: readonly number[];
  readonly weight: number;
}

export interface DomainResult {
  readonly auc: number;
  readonly foldAucs: number[];
  readonly rows: { readonly reference: number; readonly current: number };
  /** Sorted null AUCs (empty without permutations). */
  readonly nullAucs: number[];
  /** The nullQuantile of the null, or null without permutations. */
  readonly nullThreshold: number | null;
  /** (1 + #null >= auc) / (1 + rounds), or null without permutations. */
  readonly pValue: number | null;
  /** Features that most mark the current sample (positive weight) and the reference (negative). */
  readonly markers: { readonly current: Marker[]; readonly reference: Marker[] };
}

interface Features {
  readonly X: Csr;
  /** Per column: the hashes it stands for. */
  readonly columns: number[][];
}

/** Binary uni+bigram features over both samples' rows (column ids in first-seen order: deterministic). */
export function hashedFeatures(rows: readonly Uint32Array[]): Features {
  const col = new Map<string, number>();
  const columns: number[][] = [];
  const perRow: number[][] = rows.map((h) => {
    const set = new Set<number>();
    const add = (key: string, hs: number[]): void => {
      let j = col.get(key);
      if (j === undefined) {
        j = columns.length;
        col.set(key, j);
        columns.push(hs);
      }
      set.add(j);
    };
    for (let i = 0; i < h.length; i++) {
      add(`u${h[i]}`, [h[i] as number]);
      if (i + 1 < h.length) add(`b${h[i]}:${h[i + 1]}`, [h[i] as number, h[i + 1] as number]);
    }
    return [...set].sort((a, b) => a - b);
  });
  const nnz = perRow.reduce((a, r) => a + r.length, 0);
  const X = { rows: rows.length, cols: columns.length, indptr: new Int32Array(rows.length + 1), indices: new Int32Array(nnz), data: new Float64Array(nnz) };
  let p = 0;
  perRow.forEach((r, i) => {
    const v = r.length > 0 ? 1 / Math.sqrt(r.length) : 0;
    for (const j of r) {
      X.indices[p] = j;
      X.data[p++] = v;
    }
    X.indptr[i + 1] = p;
  });
  return { X, columns };
}

/** Rows of X picked in order. */
function pickRows(X: Csr, idx: readonly number[]): Csr {
  const indptr = new Int32Array(idx.length + 1);
  let nnz = 0;
  idx.forEach((i, r) => {
    nnz += (X.indptr[i + 1] as number) - (X.indptr[i] as number);
    indptr[r + 1] = nnz;
  });
  const indices = new Int32Array(nnz);
  const data = new Float64Array(nnz);
  idx.forEach((i, r) => {
    const s = X.indptr[i] as number;
    const e = X.indptr[i + 1] as number;
    indices.set(X.indices.subarray(s, e), indptr[r] as number);
    data.set(X.data.subarray(s, e), indptr[r] as number);
  });
  return { rows: idx.length, cols: X.cols, indptr, indices, data };
}

/** Stratified fold of each row: each class shuffled, then dealt round-robin. */
export function stratifiedFolds(y: ArrayLike<number>, k: number, rng: Rng): Int32Array {
  const fold = new Int32Array(y.length);
  for (const cls of [0, 1]) {
    const idx: number[] = [];
    for (let i = 0; i < y.length; i++) if (y[i] === cls) idx.push(i);
    shuffled(idx, rng).forEach((i, t) => (fold[i] = t % k));
  }
  return fold;
}

/** Mean out-of-fold ROC AUC over k stratified folds. */
export function crossValidatedAuc(X: Csr, y: Uint8Array, folds: Int32Array, k: number, C: number): number[] {
  const aucs: number[] = [];
  for (let f = 0; f < k; f++) {
    const train: number[] = [];
    const val: number[] = [];
    for (let i = 0; i < y.length; i++) (folds[i] === f ? val : train).push(i);
    const { model } = fitLogReg(pickRows(X, train), train.map((i) => y[i] as number), { C, tol: 1e-4, maxIter: 200 });
    const auc = rocAuc(val.map((i) => y[i] as number), predictProba(model, pickRows(X, val)));
    if (auc !== null) aucs.push(auc);
  }
  return aucs;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export function domainClassifier(reference: readonly Uint32Array[], current: readonly Uint32Array[], o: DomainOptions): DomainResult {
  const k = Math.min(o.folds, reference.length, current.length);
  if (k < 2) throw new Error(`the domain classifier needs at least 2 rows on each side (reference ${reference.length}, current ${current.length})`);
  const { X, columns } = hashedFeatures([...reference, ...current]);
  const y = new Uint8Array(reference.length + current.length);
  y.fill(1, reference.length);
  const foldAucs = crossValidatedAuc(X, y, stratifiedFolds(y, k, rngFor(o.seed, 'monitor/domain/folds')), k, o.C);
  const auc = mean(foldAucs);

  const nullAucs: number[] = [];
  const prng = rngFor(o.seed, 'monitor/domain/permutations');
  for (let r = 0; r < o.permutations; r++) {
    const yp = Uint8Array.from(shuffled(Array.from(y), prng));
    nullAucs.push(mean(crossValidatedAuc(X, yp, stratifiedFolds(yp, k, prng), k, o.C)));
  }
  nullAucs.sort((a, b) => a - b);

  const { model } = fitLogReg(X, y, { C: o.C, tol: 1e-4, maxIter: 200 });
  const order = Array.from(model.w.keys()).sort((a, b) => (model.w[b] as number) - (model.w[a] as number) || a - b);
  const marker = (j: number): Marker => ({ hashes: columns[j] as number[], weight: model.w[j] as number });
  const curMarkers = order.slice(0, o.top).filter((j) => (model.w[j] as number) > 0).map(marker);
  const refMarkers = order.slice(-o.top).reverse().filter((j) => (model.w[j] as number) < 0).map(marker);

  return {
    auc,
    foldAucs,
    rows: { reference: reference.length, current: current.length },
    nullAucs,
    nullThreshold: nullAucs.length > 0 ? quantileSorted(nullAucs, o.nullQuantile) : null,
    pValue: nullAucs.length > 0 ? (1 + nullAucs.filter((a) => a >= auc).length) / (1 + nullAucs.length) : null,
    markers: { current: curMarkers, reference: refMarkers },
  };
}
