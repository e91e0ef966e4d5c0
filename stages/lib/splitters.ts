/**
 * The twelve validation strategies of docs/showcase.md as pure, seeded functions over row ids.
 * Each takes the ids it may use (so strategies compose: CV inside a training set only ever sees that
 * set's ids) and returns sorted id lists; labels, when given, are looked up by id. Nothing here reads
 * data: the pipeline's `split` stage turns a strategy into a plan, models never choose their rows.
 */
import { deriveSeed, rngFor, shuffled, randInt } from './rng.js';

export type Labels = ArrayLike<number>;

export interface Fold {
  readonly train: number[];
  readonly val: number[];
}
export interface HoldoutSplit {
  readonly train: number[];
  readonly test: number[];
}
export interface TrainValTestSplit extends HoldoutSplit {
  readonly val: number[];
}
/** A final test set plus tuning folds drawn from the training rows only. */
export interface TunedHoldout extends HoldoutSplit {
  readonly tuning: Fold[];
}
export interface TunedTrainValTest extends TrainValTestSplit {
  readonly tuning: Fold[];
}
export interface NestedFold extends Fold {
  /** Tuning folds drawn from this outer fold's train rows only. */
  readonly inner: Fold[];
}
export interface BootstrapRound {
  /** n draws with replacement (a row may appear several times), in draw order. */
  readonly sample: number[];
  /** Rows never drawn: the out-of-bag evaluation set, sorted. */
  readonly oob: number[];
}

/** A user-facing configuration error (bad k, too few rows, LOO over its limit). */
export class SplitError extends Error {
  override readonly name = 'SplitError';
}

export interface BaseOptions {
  readonly seed: number;
  /** Labels by id; when given with `stratify` (default true), splits keep class proportions. */
  readonly y?: Labels;
  readonly stratify?: boolean;
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

const ascending = (a: number, b: number): number => a - b;
const sorted = (xs: number[]): number[] => xs.sort(ascending);

/** A size given as a fraction of n (0 < s < 1) or a row count (integer >= 1). */
export function resolveCount(n: number, size: number, what: string): number {
  let count: number;
  if (size > 0 && size < 1) count = Math.round(n * size);
  else if (Number.isInteger(size) && size >= 1) count = size;
  else throw new SplitError(`${what} must be a fraction in (0, 1) or a whole number of rows, got ${size}`);
  if (count < 1 || count >= n) {
    throw new SplitError(`${what} = ${size} gives ${count} of ${n} rows; both sides of the split need at least one row`);
  }
  return count;
}

function checkK(k: number, n: number, what: string): void {
  if (!Number.isInteger(k) || k < 2) throw new SplitError(`${what} must be an integer >= 2, got ${k}`);
  if (k > n) throw new SplitError(`${what} = ${k} is more than the ${n} rows available`);
}

/** Groups ids by label, classes in ascending label order (a fixed order keeps results seed-stable). */
function byClass(ids: readonly number[], y: Labels): number[][] {
  const groups = new Map<number, number[]>();
  for (const id of ids) {
    const label = y[id];
    if (label === undefined) throw new SplitError(`no label for row ${id}`);
    const g = groups.get(label);
    if (g) g.push(id);
    else groups.set(label, [id]);
  }
  return [...groups.keys()].sort(ascending).map((k) => groups.get(k) as number[]);
}

const useStrata = (o: BaseOptions): o is BaseOptions & { y: Labels } => o.y !== undefined && o.stratify !== false;

/**
 * Picks `count` ids for the held-out side. Stratified: each class contributes its proportional
 * share, rounded by largest remainder so the total is exactly `count`.
 */
function holdout(ids: readonly number[], count: number, o: BaseOptions, label: string): HoldoutSplit {
  const rng = rngFor(o.seed, label);
  let picked: number[];
  if (useStrata(o)) {
    const classes = byClass(ids, o.y);
    const exact = classes.map((c) => (c.length * count) / ids.length);
    const quota = exact.map(Math.floor);
    let left = count - quota.reduce((a, b) => a + b, 0);
    const order = exact.map((e, i) => ({ i, frac: e - Math.floor(e) })).sort((a, b) => b.frac - a.frac || a.i - b.i);
    for (const { i } of order) {
      if (left === 0) break;
      quota[i] = (quota[i] as number) + 1;
      left--;
    }
    picked = classes.flatMap((c, i) => shuffled(c, rng).slice(0, quota[i]));
  } else {
    picked = shuffled(ids, rng).slice(0, count);
  }
  const chosen = new Set(picked);
  return { train: ids.filter((id) => !chosen.has(id)).sort(ascending), test: sorted(picked) };
}

function foldsFromAssignment(ids: readonly number[], foldOf: Map<number, number>, k: number): Fold[] {
  const vals: number[][] = Array.from({ length: k }, () => []);
  for (const id of ids) (vals[foldOf.get(id) as number] as number[]).push(id);
  return vals.map((val, f) => ({ train: ids.filter((id) => foldOf.get(id) !== f).sort(ascending), val: sorted(val) }));
}

// ---------------------------------------------------------------- the strategies

/** trainTest: one seeded split; `testSize` is a fraction or a row count. */
export function trainTest(ids: readonly number[], o: BaseOptions & { testSize: number }): HoldoutSplit {
  return holdout(ids, resolveCount(ids.length, o.testSize, 'testSize'), o, 'trainTest');
}

/** trainValTest: test held out first, then val from the rest; both sizes are fractions of all rows. */
export function trainValTest(ids: readonly number[], o: BaseOptions & { testSize: number; valSize: number }): TrainValTestSplit {
  const first = holdout(ids, resolveCount(ids.length, o.testSize, 'testSize'), o, 'trainValTest/test');
  const valCount = o.valSize > 0 && o.valSize < 1 ? Math.round(ids.length * o.valSize) : o.valSize;
  const second = holdout(first.train, resolveCount(first.train.length, valCount, 'valSize'), o, 'trainValTest/val');
  return { train: second.train, val: second.test, test: first.test };
}

/** kFold: shuffled, k contiguous folds whose sizes differ by at most one. */
export function kFold(ids: readonly number[], o: { seed: number; k: number; shuffle?: boolean }): Fold[] {
  checkK(o.k, ids.length, 'k');
  const order = o.shuffle === false ? ids.slice() : shuffled(ids, rngFor(o.seed, 'kFold'));
  const foldOf = new Map<number, number>();
  const base = Math.floor(order.length / o.k);
  const extra = order.length % o.k;
  let pos = 0;
  for (let f = 0; f < o.k; f++) {
    const size = base + (f < extra ? 1 : 0);
    for (let j = 0; j < size; j++) foldOf.set(order[pos++] as number, f);
  }
  return foldsFromAssignment(ids, foldOf, o.k);
}

/**
 * stratifiedKFold: fold sizes as in kFold; how many rows of each class go to each fold comes from a
 * controlled rounding of the exact shares n_c * |fold| / n (floor or ceil of each, rows and columns
 * still summing to class and fold sizes), which keeps every fold within one row of the global class
 * ratio. Round-robin dealing (scikit-learn's way) can miss that bound with three or more classes.
 */
export function stratifiedKFold(ids: readonly number[], o: { seed: number; k: number; y: Labels }): Fold[] {
  checkK(o.k, ids.length, 'k');
  const rng = rngFor(o.seed, 'stratifiedKFold');
  const classes = byClass(ids, o.y);
  const n = ids.length;
  const sizes = Array.from({ length: o.k }, (_, f) => Math.floor(n / o.k) + (f < n % o.k ? 1 : 0));
  const counts = controlledRounding(classes.map((c) => c.length), sizes);
  const foldOf = new Map<number, number>();
  classes.forEach((members, c) => {
    let pos = 0;
    const order = shuffled(members, rng);
    (counts[c] as number[]).forEach((count, f) => {
      for (let j = 0; j < count; j++) foldOf.set(order[pos++] as number, f);
    });
  });
  return foldsFromAssignment(ids, foldOf, o.k);
}

/**
 * Integer table a[c][f] with row sums `rows`, column sums `cols` and each a[c][f] the floor or ceil
 * of rows[c] * cols[f] / total. Such a rounding always exists (transportation polytopes are
 * integral); the fractional parts are placed by a max-flow over the (class, fold) cells.
 */
function controlledRounding(rows: readonly number[], cols: readonly number[]): number[][] {
  const total = rows.reduce((a, b) => a + b, 0);
  const exact = rows.map((r) => cols.map((c) => (r * c) / total));
  const table = exact.map((row) => row.map((x) => Math.floor(x + 1e-9)));
  const rowNeed = rows.map((r, i) => r - (table[i] as number[]).reduce((a, b) => a + b, 0));
  const colNeed = cols.map((c, j) => c - table.reduce((a, row) => a + (row[j] as number), 0));
  // Augmenting paths class -> fold (a cell may take +1 if fractional) and back along used cells.
  const used = exact.map((row) => row.map(() => false));
  const fractional = (i: number, j: number): boolean => (exact[i]?.[j] as number) - (table[i]?.[j] as number) > 1e-9;
  const augment = (i: number, seen: boolean[]): boolean => {
    for (let j = 0; j < cols.length; j++) {
      if (seen[j] || used[i]?.[j] || !fractional(i, j)) continue;
      seen[j] = true;
      if ((colNeed[j] as number) > 0) {
        colNeed[j] = (colNeed[j] as number) - 1;
        (used[i] as boolean[])[j] = true;
        return true;
      }
      // Fold j is full: move one of its +1 cells from another class elsewhere.
      for (let i2 = 0; i2 < rows.length; i2++) {
        if (used[i2]?.[j] && augment(i2, seen)) {
          (used[i2] as boolean[])[j] = false;
          (used[i] as boolean[])[j] = true;
          return true;
        }
      }
    }
    return false;
  };
  rows.forEach((_, i) => {
    while ((rowNeed[i] as number) > 0) {
      if (!augment(i, cols.map(() => false))) throw new Error('controlledRounding: no feasible rounding (bug)');
      rowNeed[i] = (rowNeed[i] as number) - 1;
    }
  });
  return table.map((row, i) => row.map((x, j) => x + (used[i]?.[j] ? 1 : 0)));
}

function cv(ids: readonly number[], o: BaseOptions & { k: number }, label: string): Fold[] {
  const seed = deriveSeed(o.seed, label);
  return useStrata(o) ? stratifiedKFold(ids, { seed, k: o.k, y: o.y }) : kFold(ids, { seed, k: o.k });
}

/** trainTestMiniCV: train/test, then a small CV on train only, for tuning. */
export function trainTestMiniCV(ids: readonly number[], o: BaseOptions & { testSize: number; k?: number }): TunedHoldout {
  const split = trainTest(ids, o);
  return { ...split, tuning: cv(split.train, { ...o, k: o.k ?? 3 }, 'trainTestMiniCV/tuning') };
}

/** trainValTestInnerCV: train/val/test; tune by CV on train, refit on train+val, score on test. */
export function trainValTestInnerCV(
  ids: readonly number[],
  o: BaseOptions & { testSize: number; valSize: number; k?: number },
): TunedTrainValTest {
  const split = trainValTest(ids, o);
  return { ...split, tuning: cv(split.train, { ...o, k: o.k ?? 3 }, 'trainValTestInnerCV/tuning') };
}

/** crossValidationFull: k-fold over every row, no test set (small data: every row trains and validates). */
export function crossValidationFull(ids: readonly number[], o: BaseOptions & { k: number }): Fold[] {
  return cv(ids, o, 'crossValidationFull');
}

/** cvHoldout: hold out a test set, k-fold on the rest. */
export function cvHoldout(ids: readonly number[], o: BaseOptions & { testSize: number; k: number }): TunedHoldout {
  const split = holdout(ids, resolveCount(ids.length, o.testSize, 'testSize'), o, 'cvHoldout/test');
  return { ...split, tuning: cv(split.train, o, 'cvHoldout/folds') };
}

export const DEFAULT_LOO_LIMIT = 1000;

/** leaveOneOut: n folds of one row; refuses n above `maxN` because that is n model fits. */
export function leaveOneOut(ids: readonly number[], o: { maxN?: number } = {}): Fold[] {
  const maxN = o.maxN ?? DEFAULT_LOO_LIMIT;
  if (ids.length > maxN) {
    throw new SplitError(
      `leaveOneOut over ${ids.length} rows means ${ids.length} model fits, above the limit of ${maxN}; ` +
        `use kFold/stratifiedKFold, or raise the limit (strategy.loo_max_n) if you really mean it`,
    );
  }
  if (ids.length < 2) throw new SplitError(`leaveOneOut needs at least 2 rows, got ${ids.length}`);
  const all = sorted(ids.slice());
  return all.map((id) => ({ train: all.filter((x) => x !== id), val: [id] }));
}

/** nestedCV: outer folds score, inner folds (inside each outer train set) tune. */
export function nestedCV(ids: readonly number[], o: BaseOptions & { outerK: number; innerK: number }): NestedFold[] {
  return cv(ids, { ...o, k: o.outerK }, 'nestedCV/outer').map((fold, i) => ({
    ...fold,
    inner: cv(fold.train, { ...o, k: o.innerK }, `nestedCV/inner/${i}`),
  }));
}

/**
 * timeSeriesSplit: `ids` are in time order; expanding window as in scikit-learn: fold i validates
 * the i-th of k blocks at the end and trains on everything before it (minus `gap` rows).
 */
export function timeSeriesSplit(
  ids: readonly number[],
  o: { k: number; testSize?: number; gap?: number; maxTrainSize?: number },
): Fold[] {
  const n = ids.length;
  const gap = o.gap ?? 0;
  if (!Number.isInteger(o.k) || o.k < 1) throw new SplitError(`k must be an integer >= 1, got ${o.k}`);
  const block = o.testSize ?? Math.floor(n / (o.k + 1));
  if (block < 1 || n - o.k * block - gap < 1) {
    throw new SplitError(`timeSeriesSplit: ${n} rows are too few for k = ${o.k} blocks of ${block} with gap ${gap}`);
  }
  const folds: Fold[] = [];
  for (let i = 0; i < o.k; i++) {
    const valStart = n - (o.k - i) * block;
    const trainEnd = valStart - gap;
    const trainStart = o.maxTrainSize ? Math.max(0, trainEnd - o.maxTrainSize) : 0;
    folds.push({ train: ids.slice(trainStart, trainEnd), val: ids.slice(valStart, valStart + block) });
  }
  return folds;
}

/** bootstrap: `rounds` resamples of n rows with replacement; the rows never drawn are out-of-bag. */
export function bootstrap(ids: readonly number[], o: { seed: number; rounds: number }): BootstrapRound[] {
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new SplitError(`rounds must be an integer >= 1, got ${o.rounds}`);
  if (ids.length < 2) throw new SplitError(`bootstrap needs at least 2 rows, got ${ids.length}`);
  const rng = rngFor(o.seed, 'bootstrap');
  const out: BootstrapRound[] = [];
  for (let r = 0; r < o.rounds; r++) {
    const drawn = new Set<number>();
    const sample: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[randInt(rng, ids.length)] as number;
      sample.push(id);
      drawn.add(id);
    }
    out.push({ sample, oob: ids.filter((id) => !drawn.has(id)).sort(ascending) });
  }
  return out;
}

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** Percentile interval of bootstrap estimates (linear interpolation between order statistics). */
export function percentileInterval(values: readonly number[], level = 0.95): Interval {
  if (values.length === 0) throw new SplitError('percentileInterval of no values');
  const xs = values.slice().sort(ascending);
  const at = (q: number): number => {
    const pos = q * (xs.length - 1);
    const lo = Math.floor(pos);
    const hi = Math.min(lo + 1, xs.length - 1);
    return (xs[lo] as number) + ((xs[hi] as number) - (xs[lo] as number)) * (pos - lo);
  };
  const tail = (1 - level) / 2;
  return { low: at(tail), high: at(1 - tail) };
}
