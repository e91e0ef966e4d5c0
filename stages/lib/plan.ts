/**
 * A split plan: which rows each training unit fits on and scores, derived from the `strategy`
 * params by one of the twelve splitters. The pipeline fans the train stage out over
 * `range(strategy.k)`, one stage per plan fold; the final model is refitted on `pool` and scored on
 * `test`. Official parts win over carving: an official test set is used as is, an official dev set
 * is the validation set of train/val strategies and joins the pool of cross-validating ones.
 */
import type { StrategyParams } from './params.js';
import { ConfigError } from './stage.js';
import {
  bootstrap, crossValidationFull, kFold, leaveOneOut, nestedCV, stratifiedKFold, timeSeriesSplit, trainTest,
  type Fold,
} from './splitters.js';

export interface PlanFold extends Fold {
  /** Tuning folds inside `train` (nested CV): this fold's own val rows never reach them. */
  readonly inner?: Fold[];
}

export interface Plan {
  readonly strategy: string;
  readonly splitter: string;
  readonly seed: number;
  readonly rows: number;
  /** official: the dataset's test part; carved: drawn from train by strategy.test_size; none: scores are out-of-fold. */
  readonly test_source: 'official' | 'carved' | 'none';
  readonly test: number[];
  /** Rows the final model is refitted on (never a test row). */
  readonly pool: number[];
  readonly folds: PlanFold[];
}

export interface RowParts {
  readonly train: number[];
  readonly dev: number[];
  readonly test: number[];
  readonly labels: ArrayLike<number>;
}

const asc = (a: number, b: number): number => a - b;
const merge = (...xs: number[][]): number[] => xs.flat().sort(asc);

export function buildPlan(parts: RowParts, s: StrategyParams, seed: number): Plan {
  const y = parts.labels;
  const strat = { seed, y, stratify: s.stratify };
  const rows = parts.train.length + parts.dev.length + parts.test.length;
  // Test: official, else carved from train (time series: the latest rows), else none.
  let test = parts.test;
  let rest = parts.train;
  let test_source: Plan['test_source'] = parts.test.length > 0 ? 'official' : 'none';
  if (test_source === 'none' && s.test_size > 0 && s.splitter !== 'crossValidationFull') {
    if (s.splitter === 'timeSeriesSplit') {
      const cut = rest.length - Math.round(s.test_size < 1 ? rest.length * s.test_size : s.test_size);
      test = rest.slice(cut);
      rest = rest.slice(0, cut);
    } else {
      ({ train: rest, test } = trainTest(rest, { ...strat, testSize: s.test_size }));
    }
    test_source = 'carved';
  }
  // Validation set for train/val strategies: official dev, else carved from what is left.
  const takeVal = (): { train: number[]; val: number[] } => {
    if (parts.dev.length > 0) return { train: rest, val: parts.dev };
    if (!(s.val_size > 0)) throw new ConfigError(`strategy ${s.name}: splitter ${s.splitter} needs strategy.val_size > 0 (no dev set in the data)`);
    const valCount = s.val_size < 1 ? Math.round(rows * s.val_size) : s.val_size;
    const h = trainTest(rest, { ...strat, seed: seed + 1, testSize: valCount });
    return { train: h.train, val: h.test };
  };
  const pool = merge(rest, parts.dev);
  const cv = (ids: number[], k: number, salt: number): Fold[] =>
    s.stratify ? stratifiedKFold(ids, { seed: seed + salt, k, y }) : kFold(ids, { seed: seed + salt, k });

  let folds: PlanFold[];
  let refitPool = pool;
  switch (s.splitter) {
    case 'trainTest':
      // The official dev set (if any) is scored for reference only, never trained on.
      folds = [{ train: rest, val: parts.dev }];
      refitPool = rest;
      break;
    case 'trainValTest': {
      const tv = takeVal();
      folds = [tv];
      refitPool = merge(tv.train, tv.val);
      break;
    }
    case 'trainValTestInnerCV': {
      const tv = takeVal();
      folds = cv(tv.train, s.k, 2);
      refitPool = merge(tv.train, tv.val);
      break;
    }
    case 'kFold':
      folds = kFold(pool, { seed, k: s.k });
      break;
    case 'stratifiedKFold':
      folds = stratifiedKFold(pool, { seed, k: s.k, y });
      break;
    case 'trainTestMiniCV':
    case 'cvHoldout':
      folds = cv(pool, s.k, 3);
      break;
    case 'crossValidationFull':
      folds = crossValidationFull(pool, { ...strat, k: s.k });
      break;
    case 'leaveOneOut':
      folds = leaveOneOut(pool, { maxN: s.loo_max_n });
      break;
    case 'nestedCV':
      folds = nestedCV(pool, { ...strat, outerK: s.k, innerK: s.inner_k });
      break;
    case 'timeSeriesSplit':
      folds = timeSeriesSplit(pool, { k: s.k });
      break;
    case 'bootstrap':
      folds = bootstrap(pool, { seed, rounds: s.k }).map((r) => ({ train: r.sample, val: r.oob }));
      break;
  }
  if (folds.length !== s.k) {
    throw new ConfigError(
      `strategy.k = ${s.k}, but ${s.splitter} over ${pool.length} rows makes ${folds.length} fold(s); ` +
        `set strategy.k: ${folds.length} (the pipeline runs one train stage per fold, over range(strategy.k))`,
    );
  }
  return { strategy: s.name, splitter: s.splitter, seed, rows, test_source, test, pool: refitPool, folds };
}

// ---------------------------------------------------------------- compact form

interface StoredFold {
  val: number[];
  /** Omitted when it is the complement of val in the parent (pool, or the outer fold's train). */
  train?: number[];
  inner?: StoredFold[];
}

function complement(parent: readonly number[], val: readonly number[]): number[] {
  const v = new Set(val);
  return parent.filter((x) => !v.has(x));
}

const sameList = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function store(f: Fold & { inner?: Fold[] }, parent: readonly number[]): StoredFold {
  const out: StoredFold = { val: f.val };
  if (!sameList(f.train, complement(parent, f.val))) out.train = f.train;
  if (f.inner) out.inner = f.inner.map((g) => store(g, f.train));
  return out;
}

function load(f: StoredFold, parent: readonly number[]): PlanFold {
  const train = f.train ?? complement(parent, f.val);
  return f.inner ? { train, val: f.val, inner: f.inner.map((g) => load(g, train)) } : { train, val: f.val };
}

/** The plan as written to data/splits/plan.json: fold train lists that are complements are left out. */
export function encodePlan(p: Plan): unknown {
  return { ...p, folds: p.folds.map((f) => store(f, p.pool)) };
}

export function decodePlan(raw: unknown): Plan {
  const p = raw as Plan & { folds: StoredFold[] };
  return { ...p, folds: p.folds.map((f) => load(f, p.pool)) };
}
