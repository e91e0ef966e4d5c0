/**
 * Binary classification metrics (positive class = 1), as scikit-learn defines them: precision,
 * recall and F1 are 0 when their denominator is 0; ROC AUC gives tied scores half credit (average
 * ranks) and is null when only one class is present. Pure functions over label/score arrays.
 */
import { rngFor, randInt } from './rng.js';
import { percentileInterval, type Interval } from './splitters.js';

export interface Confusion {
  readonly tn: number;
  readonly fp: number;
  readonly fn: number;
  readonly tp: number;
}

export function confusion(y: ArrayLike<number>, pred: ArrayLike<number>): Confusion {
  if (y.length !== pred.length) throw new Error(`confusion: ${y.length} labels but ${pred.length} predictions`);
  let tn = 0, fp = 0, fn = 0, tp = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] === 1) {
      if (pred[i] === 1) tp++;
      else fn++;
    } else if (pred[i] === 1) fp++;
    else tn++;
  }
  return { tn, fp, fn, tp };
}

const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

export const accuracy = (c: Confusion): number => ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn);
export const precision = (c: Confusion): number => ratio(c.tp, c.tp + c.fp);
export const recall = (c: Confusion): number => ratio(c.tp, c.tp + c.fn);
export const f1 = (c: Confusion): number => ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn);

/** Labels predicted from scores: positive when score >= threshold. */
export function threshold(scores: ArrayLike<number>, at = 0.5): Uint8Array {
  const out = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = (scores[i] as number) >= at ? 1 : 0;
  return out;
}

/** ROC AUC = Mann-Whitney U / (nPos * nNeg) with average ranks for ties; null with one class only. */
export function rocAuc(y: ArrayLike<number>, scores: ArrayLike<number>): number | null {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[a] as number) - (scores[b] as number));
  let rankSumPos = 0;
  let nPos = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1] as number] === scores[order[i] as number]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let t = i; t <= j; t++) {
      if (y[order[t] as number] === 1) {
        rankSumPos += avgRank;
        nPos++;
      }
    }
    i = j + 1;
  }
  const nNeg = n - nPos;
  if (nPos === 0 || nNeg === 0) return null;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface RocPoint {
  readonly fpr: number;
  readonly tpr: number;
  /** Predict positive when score >= threshold; null for the (0, 0) start point. */
  readonly threshold: number | null;
}

/** ROC curve: one point per distinct score (tied scores move diagonally), from (0,0) to (1,1). */
export function rocCurve(y: ArrayLike<number>, scores: ArrayLike<number>): RocPoint[] {
  const n = y.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let nPos = 0;
  for (let i = 0; i < n; i++) if (y[i] === 1) nPos++;
  const nNeg = n - nPos;
  const points: RocPoint[] = [{ fpr: 0, tpr: 0, threshold: null }];
  let tp = 0, fp = 0;
  for (let i = 0; i < n; ) {
    const s = scores[order[i] as number] as number;
    while (i < n && scores[order[i] as number] === s) {
      if (y[order[i] as number] === 1) tp++;
      else fp++;
      i++;
    }
    points.push({ fpr: ratio(fp, nNeg), tpr: ratio(tp, nPos), threshold: s });
  }
  return points;
}

export interface BinaryMetrics {
  readonly accuracy: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly roc_auc: number | null;
  readonly n: number;
  readonly confusion: Confusion;
}

export function binaryMetrics(y: ArrayLike<number>, scores: ArrayLike<number>, at = 0.5): BinaryMetrics {
  const c = confusion(y, threshold(scores, at));
  return { accuracy: accuracy(c), precision: precision(c), recall: recall(c), f1: f1(c), roc_auc: rocAuc(y, scores), n: y.length, confusion: c };
}

export interface BootstrapCI {
  readonly accuracy: Interval;
  readonly f1: Interval;
}

/**
 * Percentile bootstrap CI for accuracy and F1: resample (label, prediction) pairs with replacement.
 * Seeded, so the interval is as reproducible as the point estimate.
 */
export function bootstrapCI(
  y: ArrayLike<number>,
  pred: ArrayLike<number>,
  o: { rounds: number; seed: number; level?: number },
): BootstrapCI {
  const n = y.length;
  if (n === 0) throw new Error('bootstrapCI: no predictions');
  const rng = rngFor(o.seed, 'metrics/bootstrapCI');
  const accs: number[] = [];
  const f1s: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    let tn = 0, fp = 0, fn = 0, tp = 0;
    for (let i = 0; i < n; i++) {
      const j = randInt(rng, n);
      if (y[j] === 1) {
        if (pred[j] === 1) tp++;
        else fn++;
      } else if (pred[j] === 1) fp++;
      else tn++;
    }
    const c = { tn, fp, fn, tp };
    accs.push(accuracy(c));
    f1s.push(f1(c));
  }
  return { accuracy: percentileInterval(accs, o.level), f1: percentileInterval(f1s, o.level) };
}

/** Rounds for output files: keeps JSON short and stable against last-bit noise. */
export function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
