/**
 * Typed views of the params groups the showcase uses, validated when read so that a typo in a
 * params file is an error naming the key (exit 2), not a NaN three stages later.
 */
import { ConfigError, type ParamTree } from './stage.js';

function at(tree: ParamTree, path: string): unknown {
  let cur: unknown = tree;
  for (const part of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const bad = (path: string, want: string, got: unknown): ConfigError =>
  new ConfigError(`params: ${path} must be ${want}, got ${JSON.stringify(got) ?? 'nothing'} (set it in params/ or with -S ${path}=...)`);

export function num(tree: ParamTree, path: string, o: { min?: number; max?: number; int?: boolean; def?: number } = {}): number {
  const v = at(tree, path) ?? o.def;
  const want = `${o.int ? 'an integer' : 'a number'}${o.min !== undefined ? ` >= ${o.min}` : ''}${o.max !== undefined ? ` <= ${o.max}` : ''}`;
  if (typeof v !== 'number' || !Number.isFinite(v) || (o.int && !Number.isInteger(v))) throw bad(path, want, v);
  if ((o.min !== undefined && v < o.min) || (o.max !== undefined && v > o.max)) throw bad(path, want, v);
  return v;
}

export function str<T extends string>(tree: ParamTree, path: string, allowed?: readonly T[], def?: T): T {
  const v = at(tree, path) ?? def;
  if (typeof v !== 'string' || (allowed && !allowed.includes(v as T))) {
    throw bad(path, allowed ? `one of ${allowed.join(', ')}` : 'a string', v);
  }
  return v as T;
}

export function bool(tree: ParamTree, path: string, def?: boolean): boolean {
  const v = at(tree, path) ?? def;
  if (typeof v !== 'boolean') throw bad(path, 'true or false', v);
  return v;
}

export function optStr(tree: ParamTree, path: string): string | undefined {
  const v = at(tree, path);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw bad(path, 'a string or null', v);
  return v;
}

export function list(tree: ParamTree, path: string, def: unknown[] = []): unknown[] {
  const v = at(tree, path) ?? def;
  if (!Array.isArray(v)) throw bad(path, 'a list', v);
  return v;
}

export function numList(tree: ParamTree, path: string): number[] {
  const v = list(tree, path);
  if (v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) throw bad(path, 'a non-empty list of numbers', v);
  return v as number[];
}

// ---------------------------------------------------------------- groups

export interface DataFile {
  readonly file: string;
  readonly sha256: string;
  readonly url?: string;
  /** SHA-256 of the downloaded bytes when they differ from the local copy (e.g. upstream lacks a header). */
  readonly url_sha256?: string;
  /** Prefix of row ids (default: the file name). */
  readonly source?: string;
}

/**
 * A user's own file, named by a plain path (`-S data.train=reviews.tsv`; absolute, or relative to
 * the project root). It needs no pinned hash: pipeline.yaml makes it a dep of the data stage
 * (`${paths(data.train, ...)}`), so its content is tracked like any input.
 */
export interface UserFile {
  readonly path: string;
}

/** One input file of a part: a pinned file of a bundled dataset, or a user's file. */
export type DataSource = DataFile | UserFile;

export const isUserFile = (s: DataSource): s is UserFile => 'path' in s;

export interface DataParams {
  readonly name: string;
  readonly dir?: string;
  readonly subdir: string;
  readonly header: boolean | 'auto';
  readonly dedupe: boolean;
  readonly parts: Readonly<Record<Part, readonly DataSource[]>>;
}

export const PARTS = ['train', 'dev', 'test'] as const;
export type Part = (typeof PARTS)[number];

/** A part: a plain path (one user file), nothing (null or ''), or the pinned list of a bundled dataset. */
function dataFiles(tree: ParamTree, path: string): DataSource[] {
  const v = at(tree, path);
  if (typeof v === 'string') return v.trim() === '' ? [] : [{ path: v }];
  if (v === null || v === undefined) return [];
  if (!Array.isArray(v)) throw bad(path, 'a file path (e.g. reviews.tsv) or a list of pinned files', v);
  return v.map((f, i) => {
    const p = `${path}[${i}]`;
    if (typeof f === 'string' && f.trim() !== '') return { path: f };
    if (f === null || typeof f !== 'object') throw bad(p, 'a file path or a map with file and sha256', f);
    const r = f as Record<string, unknown>;
    if (typeof r.file !== 'string' || r.file === '') throw bad(`${p}.file`, 'a file name', r.file);
    if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256)) throw bad(`${p}.sha256`, '64 lower-case hex digits', r.sha256);
    for (const k of ['url', 'url_sha256', 'source'] as const) {
      if (r[k] !== undefined && typeof r[k] !== 'string') throw bad(`${p}.${k}`, 'a string', r[k]);
    }
    return r as unknown as DataFile;
  });
}

export function dataParams(tree: ParamTree): DataParams {
  const header = at(tree, 'data.header') ?? 'auto';
  if (header !== true && header !== false && header !== 'auto') throw bad('data.header', 'true, false or auto', header);
  const parts = { train: dataFiles(tree, 'data.train'), dev: dataFiles(tree, 'data.dev'), test: dataFiles(tree, 'data.test') };
  if (parts.train.length === 0) throw bad('data.train', 'a file path (e.g. -S data.train=reviews.tsv) or a non-empty list of pinned files', null);
  return {
    name: str(tree, 'data.name'),
    dir: optStr(tree, 'data.dir'),
    subdir: optStr(tree, 'data.subdir') ?? '',
    header,
    dedupe: bool(tree, 'data.dedupe', true),
    parts,
  };
}

export const SPLITTERS = [
  'trainTest', 'trainValTest', 'kFold', 'stratifiedKFold', 'trainTestMiniCV', 'trainValTestInnerCV',
  'crossValidationFull', 'cvHoldout', 'leaveOneOut', 'nestedCV', 'timeSeriesSplit', 'bootstrap',
] as const;
export type SplitterName = (typeof SPLITTERS)[number];
export const TUNING_METRICS = ['accuracy', 'f1', 'roc_auc'] as const;
export type TuningMetric = (typeof TUNING_METRICS)[number];

export interface StrategyParams {
  readonly name: string;
  readonly splitter: SplitterName;
  /** Number of fold units the train stage fans out over (the pipeline's `${range(strategy.k)}`). */
  readonly k: number;
  readonly inner_k: number;
  readonly test_size: number;
  readonly val_size: number;
  readonly stratify: boolean;
  /** Search the model's `search` grid (else its defaults only). */
  readonly search: boolean;
  /** Refit the chosen configuration on all non-test rows (else keep fold 0's model). */
  readonly refit: boolean;
  readonly metric: TuningMetric;
  readonly loo_max_n: number;
}

export function strategyParams(tree: ParamTree): StrategyParams {
  return {
    name: str(tree, 'strategy.name'),
    splitter: str(tree, 'strategy.splitter', SPLITTERS),
    k: num(tree, 'strategy.k', { int: true, min: 1 }),
    inner_k: num(tree, 'strategy.inner_k', { int: true, min: 2, def: 3 }),
    test_size: num(tree, 'strategy.test_size', { min: 0, def: 0 }),
    val_size: num(tree, 'strategy.val_size', { min: 0, def: 0 }),
    stratify: bool(tree, 'strategy.stratify', true),
    search: bool(tree, 'strategy.search', false),
    refit: bool(tree, 'strategy.refit', false),
    metric: str(tree, 'strategy.metric', TUNING_METRICS, 'accuracy'),
    loo_max_n: num(tree, 'strategy.loo_max_n', { int: true, min: 2, def: 1000 }),
  };
}

export interface TextParams {
  readonly ngram_max: number;
}

export function textParams(tree: ParamTree): TextParams {
  return { ngram_max: num(tree, 'features.text.ngram_max', { int: true, min: 1, max: 4 }) };
}

export const WEIGHTINGS = ['tfidf', 'nb', 'nb-tfidf'] as const;
export type Weighting = (typeof WEIGHTINGS)[number];

export interface VectorizerParams {
  readonly weighting: Weighting;
  readonly max_features: number;
  readonly min_df: number;
  readonly sublinear_tf: boolean;
  readonly nb_alpha: number;
}

/** Vectoriser settings: `features.tfidf` defaults, overridden by the model's own `features` block. */
export function vectorizerParams(tree: ParamTree): VectorizerParams {
  const pick = (key: string): string => (at(tree, `model.features.${key}`) !== undefined ? `model.features.${key}` : `features.tfidf.${key}`);
  return {
    weighting: str(tree, pick('weighting'), WEIGHTINGS, 'tfidf'),
    max_features: num(tree, pick('max_features'), { int: true, min: 1 }),
    min_df: num(tree, pick('min_df'), { int: true, min: 1, def: 1 }),
    sublinear_tf: bool(tree, pick('sublinear_tf'), true),
    nb_alpha: num(tree, pick('nb_alpha'), { min: 1e-9, def: 1 }),
  };
}

export const seedParam = (tree: ParamTree): number => num(tree, 'seed', { int: true, min: 0 });

// ---------------------------------------------------------------- models of a run

/**
 * The models this run trains and compares: the options of the `model` params group
 * (`model: {logreg: {...}, cnn: {...}}`, the pipeline's `${keys(model)}`), in selection order.
 */
export function modelsParam(tree: ParamTree): string[] {
  const m = at(tree, 'model');
  if (m === null || typeof m !== 'object' || Array.isArray(m) || Object.keys(m).length === 0) throw bad('model', 'a map of the selected model options (params/base.yaml: - model: [logreg])', m);
  // The one-model form (`model: {name: logreg, ...}`) of a group that base.yaml selects by name.
  const names = typeof (m as Record<string, unknown>).name === 'string' ? [(m as Record<string, unknown>).name as string] : Object.keys(m);
  for (const name of names) modelTree(tree, name);
  return names;
}

/**
 * The params as one model sees them: `model` is that model's settings. Accepts the tree with the
 * selected models under their names (`model: {logreg: {...}, cnn: {...}}`) and the one-model form
 * (`model: {name: logreg, ...}`) alike, so a learner reads `model.C` either way.
 */
export function modelTree(tree: ParamTree, name: string): ParamTree {
  const m = at(tree, 'model') as Record<string, unknown> | undefined;
  if (m?.name === name) return tree;
  const own = m?.[name];
  if (own === null || typeof own !== 'object' || (own as Record<string, unknown>).name !== name) {
    throw new ConfigError(
      `params: no settings for model ${name} under model.${name}: select it with -S model=${name} ` +
        `(several: -S model=logreg,${name}), which loads params/model/${name}.yaml`,
    );
  }
  return { ...tree, model: own };
}
