/**
 * L2-regularised logistic regression on sparse rows, solved exactly (to a tolerance) with L-BFGS:
 *
 *   min_{w,b}  1/2 |w|^2 + C * sum_i log(1 + exp(-s_i (w.x_i + b))),   s_i = +-1
 *
 * the objective of liblinear / scikit-learn's LogisticRegression (same meaning of C, intercept not
 * penalised). Deterministic: fixed iteration order, no randomness, so a fit is a pure function of
 * (X, y, C) and its bytes reproduce.
 */
import type { Csr } from './sparse.js';

export interface LogRegOptions {
  readonly C: number;
  readonly maxIter?: number;
  /** Stop when |grad| <= tol * |grad at start|. */
  readonly tol?: number;
  /** L-BFGS history length. */
  readonly memory?: number;
}

export interface LogRegModel {
  readonly w: Float64Array;
  readonly b: number;
}

export interface FitInfo {
  readonly iterations: number;
  readonly evaluations: number;
  readonly converged: boolean;
  readonly objective: number;
  /** Floating-point operations spent (about 4 per non-zero per evaluation): a deterministic cost. */
  readonly flops: number;
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + exp(m)) without overflow. */
const softplus = (m: number): number => (m > 0 ? m + Math.log1p(Math.exp(-m)) : Math.log1p(Math.exp(m)));

function margins(X: Csr, w: Float64Array, b: number, out: Float64Array): void {
  for (let i = 0; i < X.rows; i++) {
    let z = b;
    for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) z += (X.data[q] as number) * (w[X.indices[q] as number] as number);
    out[i] = z;
  }
}

export function fitLogReg(X: Csr, y: ArrayLike<number>, o: LogRegOptions, init?: LogRegModel): { model: LogRegModel; info: FitInfo } {
  if (y.length !== X.rows) throw new Error(`fitLogReg: ${X.rows} rows but ${y.length} labels`);
  if (!(o.C > 0)) throw new Error(`fitLogReg: C must be > 0, got ${o.C}`);
  const d = X.cols;
  const dim = d + 1; // last coordinate: intercept
  const maxIter = o.maxIter ?? 1000;
  const tol = o.tol ?? 1e-6;
  const m = o.memory ?? 10;
  const z = new Float64Array(X.rows);
  let evaluations = 0;

  // f and gradient at theta; the bias is theta[d].
  const evaluate = (theta: Float64Array, grad: Float64Array): number => {
    evaluations++;
    const w = theta.subarray(0, d);
    margins(X, w, theta[d] as number, z);
    let f = 0;
    for (let j = 0; j < d; j++) {
      f += 0.5 * (w[j] as number) ** 2;
      grad[j] = w[j] as number;
    }
    let gb = 0;
    for (let i = 0; i < X.rows; i++) {
      const zi = z[i] as number;
      const yi = y[i] === 1 ? 1 : 0;
      f += o.C * softplus(yi === 1 ? -zi : zi);
      const r = o.C * (sigmoid(zi) - yi);
      gb += r;
      for (let q = X.indptr[i] as number; q < (X.indptr[i + 1] as number); q++) grad[X.indices[q] as number]! += r * (X.data[q] as number);
    }
    grad[d] = gb;
    return f;
  };

  const theta = new Float64Array(dim);
  if (init) {
    theta.set(init.w.subarray(0, d));
    theta[d] = init.b;
  }
  const g = new Float64Array(dim);
  let f = evaluate(theta, g);
  const g0 = Math.max(norm(g), 1e-300);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const dir = new Float64Array(dim);
  const next = new Float64Array(dim);
  const gNext = new Float64Array(dim);
  const alpha = new Float64Array(m);
  let iterations = 0;
  let converged = norm(g) <= tol * g0;

  while (!converged && iterations < maxIter) {
    iterations++;
    // Two-loop recursion: dir = -H g.
    for (let j = 0; j < dim; j++) dir[j] = -(g[j] as number);
    for (let k = S.length - 1; k >= 0; k--) {
      const a = (rho[k] as number) * dot(S[k] as Float64Array, dir);
      alpha[k] = a;
      axpy(-a, Y[k] as Float64Array, dir);
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last] as Float64Array, Y[last] as Float64Array) / dot(Y[last] as Float64Array, Y[last] as Float64Array);
      for (let j = 0; j < dim; j++) dir[j]! *= gamma;
    }
    for (let k = 0; k < S.length; k++) {
      const bk = (rho[k] as number) * dot(Y[k] as Float64Array, dir);
      axpy((alpha[k] as number) - bk, S[k] as Float64Array, dir);
    }
    let slope = dot(g, dir);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let j = 0; j < dim; j++) dir[j] = -(g[j] as number);
      slope = dot(g, dir);
    }
    // Backtracking (Armijo) line search; the first step is scaled since H0 = I has no curvature info.
    let t = S.length === 0 ? Math.min(1, 1 / norm(g)) : 1;
    let fNext = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let j = 0; j < dim; j++) next[j] = (theta[j] as number) + t * (dir[j] as number);
      fNext = evaluate(next, gNext);
      if (fNext <= f + 1e-4 * t * slope) break;
      t *= 0.5;
    }
    if (!(fNext <= f + 1e-4 * t * slope)) break; // no progress possible at this precision
    const s = new Float64Array(dim);
    const yv = new Float64Array(dim);
    for (let j = 0; j < dim; j++) {
      s[j] = (next[j] as number) - (theta[j] as number);
      yv[j] = (gNext[j] as number) - (g[j] as number);
    }
    const sy = dot(s, yv);
    if (sy > 1e-12 * dot(yv, yv)) {
      if (S.length === m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(yv);
      rho.push(1 / sy);
    }
    const fPrev = f;
    theta.set(next);
    g.set(gNext);
    f = fNext;
    converged = norm(g) <= tol * g0 || fPrev - f <= 1e-14 * Math.abs(fPrev);
  }
  const nnz = X.indices.length;
  return {
    model: { w: theta.slice(0, d), b: theta[d] as number },
    info: { iterations, evaluations, converged, objective: f, flops: evaluations * (4 * nnz + 10 * X.rows + 2 * d) },
  };
}

export function predictProba(model: LogRegModel, X: Csr): Float64Array {
  const z = new Float64Array(X.rows);
  margins(X, model.w, model.b, z);
  return z.map(sigmoid);
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j] as number) * (b[j] as number);
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let j = 0; j < y.length; j++) y[j]! += a * (x[j] as number);
}

const norm = (a: Float64Array): number => Math.sqrt(dot(a, a));
