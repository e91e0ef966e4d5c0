/**
 * The resolved, immutable model of one expanded stage: what config/ produces from pipeline.yaml
 * and params, and what graph/, run/ and state/ consume. All paths are project-relative, POSIX,
 * normalised (no `./`, no trailing `/`). It holds no file-system state and no hashes.
 */
import type { StageName } from '../util/brand.js';
import type { SourceLocation } from '../report/diagnostic.js';

export interface ResourceDemand {
  /** CPU job slots (default 1). */
  readonly cpus: number;
  /** Whole GPUs (default 0). */
  readonly gpus: number;
  /** Memory in MiB (default 0 = not accounted). */
  readonly memoryMb: number;
}

export interface DepSpec {
  readonly path: string;
  readonly loc?: SourceLocation;
}

export type OutKind = 'out' | 'metric' | 'plot';

export interface PlotSpec {
  readonly x?: string;
  readonly y?: string | readonly string[];
  readonly template?: string;
  readonly title?: string;
  readonly x_label?: string;
  readonly y_label?: string;
}

export interface OutSpec {
  readonly path: string;
  readonly kind: OutKind;
  /**
   * Kept out of git and in the cache (default true for outs, false for metrics and plots, which
   * are committed). See `isStored`: metrics and plots are stored in the cache either way.
   */
  readonly cache: boolean;
  /** Not removed before the stage runs. */
  readonly persist: boolean;
  readonly plot?: PlotSpec;
  readonly loc?: SourceLocation;
}

export interface ParamDep {
  /** Dotted key path into the resolved params tree, e.g. `model.logreg.lr`. A subtree counts as one key. */
  readonly key: string;
  /**
   * A custom params file (project-relative) the key is read from, DVC's `{custom.yaml: [a.b]}`;
   * `key` is then `<file>:<path>` (config/param-files.ts). Absent: the project params.
   */
  readonly file?: string;
  /** True when the dep was added automatically because `${key}` was interpolated. */
  readonly implicit: boolean;
  readonly loc?: SourceLocation;
}

/** Where a stage's Slurm job goes, over the project config's `slurm:` section (pipeline key `slurm:`). */
export interface SlurmStageOptions {
  readonly partition?: string;
  readonly account?: string;
  readonly qos?: string;
  /** Further sbatch flags, verbatim, after the config's `extra` (so they win). */
  readonly extra: readonly string[];
}

export interface Stage {
  /** Expanded name: `train`, `train@b`, `train@0-logreg`. */
  readonly name: StageName;
  /** Name as written in pipeline.yaml (the group for foreach/matrix stages). */
  readonly group: string;
  readonly desc?: string;
  /** Commands run in order by /bin/sh; a single string in the file gives one element. */
  readonly cmd: readonly string[];
  /** Working directory, project-relative ('' for the root). */
  readonly wdir: string;
  readonly deps: readonly DepSpec[];
  readonly params: readonly ParamDep[];
  /** outs, metrics and plots together, each tagged with its kind. */
  readonly outs: readonly OutSpec[];
  /**
   * Metrics and plots declared inside one of this stage's own directory outs: read by `metrics`
   * and `plots` through that out, never hashed, cached or locked on their own.
   */
  readonly views?: readonly OutSpec[];
  readonly frozen: boolean;
  readonly alwaysChanged: boolean;
  readonly env: Readonly<Record<string, string>>;
  readonly resources: ResourceDemand;
  /** Seconds; undefined = no limit. */
  readonly timeout?: number;
  readonly retries: number;
  /** Only read by the Slurm executor; not part of the fingerprint (where a stage runs does not change what it makes). */
  readonly slurm?: SlurmStageOptions;
  readonly meta?: unknown;
  /** Where the stage is defined (its key in `stages:`). */
  readonly loc?: SourceLocation;
}

/** The resolved params tree given to stages (JSON-compatible). */
export type ParamTree = Readonly<Record<string, unknown>>;

/**
 * Whether an out's content goes into the cache. Cached outs always do; `cache: false` metrics and
 * plots do too (they are small), so the run-cache can restore a stage that writes them, where DVC
 * would rerun it. A big `cache: false` out is not duplicated into the cache.
 */
export const isStored = (o: OutSpec): boolean => o.cache || o.kind !== 'out';
