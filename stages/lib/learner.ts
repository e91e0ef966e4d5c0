/**
 * The interface every model implements, so the train/final stages stay model-agnostic: a learner
 * lists its hyperparameter candidates (defaults, or the `search` grid) and fits on a set of row ids;
 * a fitted model scores rows (P(label = 1)), saves itself, and releases native memory on dispose.
 */
import { list, num } from './params.js';
import type { Csr } from './sparse.js';
import { ConfigError, type ParamTree } from './stage.js';

export type Hyper = Readonly<Record<string, number>>;

export interface Dataset {
  readonly counts: Csr;
  readonly labels: Uint8Array;
  readonly vocab: readonly string[];
  /** Token-id sequences (ids into vocab, in text order), for sequence models. */
  readonly sequences?: Csr;
}

export interface Fitted {
  readonly hyper: Hyper;
  /** Deterministic training cost (floating-point operations, counted or estimated). */
  readonly flops: number;
  predict(data: Dataset, rows: readonly number[]): Float64Array;
  save(dir: string, data: Dataset): void;
  /** Frees what the garbage collector cannot (WASM heap); the model is unusable afterwards. */
  dispose(): void;
}

/**
 * Called by an epoch-wise learner after each epoch with the live model (its hyper's `epochs` is the
 * epochs trained so far; do not dispose it) and `keep`, which copies it into a model the caller owns.
 */
export type EpochVisitor = (live: Fitted, keep: () => Fitted) => void;

export interface Learner {
  readonly name: string;
  /** Loads native code (WASM) before the first fit; stages await it once. Says what runs the fits (logged). */
  prepare(tree: ParamTree): Promise<string>;
  candidates(tree: ParamTree, search: boolean): Hyper[];
  fit(data: Dataset, rows: readonly number[], hyper: Hyper, tree: ParamTree, onEpoch?: EpochVisitor): Fitted;
  /**
   * Set by learners trained in epochs whose first e epochs are exactly a shorter fit with
   * `epochs: e` (same batches, dropout masks and optimiser state): fit() then calls `onEpoch` after
   * every epoch, so a search over epochs costs one training run.
   */
  readonly epochwise?: boolean;
  /** A model saved by Fitted.save, ready to score rows of `data` again. */
  load(dir: string, data: Dataset): Fitted;
}

export const hyperLabel = (h: Hyper): string => Object.entries(h).map(([k, v]) => `${k}=${v}`).join(',');

/**
 * Candidates from `model.<key>` defaults and, when searching, the grid `model.search.<key>: [...]`
 * (cartesian product, keys in `keys` order, values ascending): listing simpler settings first makes
 * "ties go to the first" prefer them.
 */
export function gridCandidates(tree: ParamTree, keys: readonly string[], search: boolean): Hyper[] {
  const defaults: Record<string, number> = Object.fromEntries(keys.map((k) => [k, num(tree, `model.${k}`)]));
  if (!search) return [defaults];
  const space = tree.model && typeof tree.model === 'object' ? (tree.model as Record<string, unknown>).search : undefined;
  if (!space || typeof space !== 'object') throw new ConfigError('params: model.search must map hyperparameters to lists of values');
  for (const k of Object.keys(space)) {
    if (!keys.includes(k)) throw new ConfigError(`params: model.search.${k} is not a hyperparameter of this model (${keys.join(', ')})`);
  }
  let grid: Record<string, number>[] = [defaults];
  for (const k of keys) {
    if (!(k in space)) continue;
    const values = list(tree, `model.search.${k}`);
    if (values.length === 0 || values.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new ConfigError(`params: model.search.${k} must be a non-empty list of numbers`);
    }
    const sorted = [...new Set(values as number[])].sort((a, b) => a - b);
    grid = grid.flatMap((g) => sorted.map((v) => ({ ...g, [k]: v })));
  }
  return grid;
}
