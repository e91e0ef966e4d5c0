/**
 * The monitor's thresholds and knobs: the `monitor:` params group (params/base.yaml or an option
 * file), every key optional with the defaults below, overridable with `-S monitor.psi=0.3`. A value
 * of the wrong type or range is an error naming the key and what it accepts. It does not load the
 * params files (config/params.ts does).
 */
import type { ParamTree } from '../model/stage.js';

export interface MonitorSettings {
  readonly seed: number;
  readonly domain: {
    /** Drift when the cross-validated AUC exceeds this. */
    readonly auc: number;
    readonly folds: number;
    readonly C: number;
    /** Rows drawn (seeded) from each side at most: the classifier's cost stays bounded. */
    readonly max_rows: number;
    /** Below this many rows on the smaller side, the permutation null's quantile is also required. */
    readonly small_sample: number;
    readonly permutations: number;
    readonly null_quantile: number;
    readonly top: number;
  };
  readonly score: {
    readonly bins: number;
    readonly psi: number;
    /** Jensen-Shannon divergence in bits. */
    readonly js: number;
    /** The chi-square test of the predicted class flags drift below this p-value. */
    readonly class_alpha: number;
    /** Rounds of the PSI/JS permutation null for small samples (no model fits: cheap). */
    readonly permutations: number;
  };
  readonly oov: {
    /** Drift when the current OOV rate exceeds the reference's own held-out rate by more than this. */
    readonly max_increase: number;
    readonly top: number;
  };
  readonly length: {
    /** Drift when the mean token count changes by more than this fraction. */
    readonly max_change: number;
  };
  readonly performance: {
    /** Drift when accuracy or F1 falls by more than this and the interval excludes no change. */
    readonly max_drop: number;
    readonly bootstrap_rounds: number;
    readonly level: number;
  };
}

export const DEFAULT_SETTINGS: MonitorSettings = {
  seed: 42,
  domain: { auc: 0.55, folds: 5, C: 1, max_rows: 2000, small_sample: 500, permutations: 50, null_quantile: 0.95, top: 15 },
  score: { bins: 10, psi: 0.2, js: 0.05, class_alpha: 0.01, permutations: 1000 },
  oov: { max_increase: 0.05, top: 20 },
  length: { max_change: 0.5 },
  performance: { max_drop: 0.05, bootstrap_rounds: 1000, level: 0.95 },
};

interface Rule {
  readonly min: number;
  readonly max: number;
  readonly int?: boolean;
  readonly minExclusive?: boolean;
}

const PROB: Rule = { min: 0, max: 1 };
const RULES: Record<string, Record<string, Rule>> = {
  domain: {
    auc: { min: 0.5, max: 1 },
    folds: { min: 2, max: 20, int: true },
    C: { min: 0, max: 1e6, minExclusive: true },
    max_rows: { min: 10, max: 1e6, int: true },
    small_sample: { min: 0, max: 1e9, int: true },
    permutations: { min: 0, max: 10000, int: true },
    null_quantile: { min: 0.5, max: 1, minExclusive: true },
    top: { min: 0, max: 1000, int: true },
  },
  score: { bins: { min: 2, max: 100, int: true }, psi: { min: 0, max: 100 }, js: PROB, class_alpha: PROB, permutations: { min: 0, max: 100000, int: true } },
  oov: { max_increase: PROB, top: { min: 0, max: 1000, int: true } },
  length: { max_change: { min: 0, max: 100 } },
  performance: { max_drop: PROB, bootstrap_rounds: { min: 10, max: 1e6, int: true }, level: { min: 0.5, max: 1, minExclusive: true } },
};

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A bad `monitor:` setting: its dotted key (for locating it in the params files) and the message, which starts with the key. */
export interface SettingProblem {
  readonly key: string;
  readonly message: string;
}

/** The settings from a resolved params tree, or the problems (each names a `monitor.` key). */
export function monitorSettings(tree: ParamTree): { settings: MonitorSettings; problems: SettingProblem[] } {
  const problems: SettingProblem[] = [];
  const bad = (key: string, why: string): void => void problems.push({ key, message: `${key}: ${why}` });
  const root = (tree as Record<string, unknown>).monitor;
  const topSeed = (tree as Record<string, unknown>).seed;
  const out = structuredClone(DEFAULT_SETTINGS) as { -readonly [K in keyof MonitorSettings]: MonitorSettings[K] } & Record<string, unknown>;
  if (typeof topSeed === 'number' && Number.isInteger(topSeed)) out.seed = topSeed;
  if (root === undefined || root === null) return { settings: out, problems };
  if (!isMap(root)) return { settings: out, problems: [{ key: 'monitor', message: 'monitor: must be a map of settings (see docs/lifecycle.md)' }] };
  for (const [key, value] of Object.entries(root)) {
    if (key === 'seed') {
      if (typeof value === 'number' && Number.isInteger(value) && value >= 0) out.seed = value;
      else bad('monitor.seed', `must be a whole number >= 0, got ${JSON.stringify(value)}`);
      continue;
    }
    const rules = RULES[key];
    if (!rules) {
      bad(`monitor.${key}`, `unknown setting (known: seed, ${Object.keys(RULES).join(', ')})`);
      continue;
    }
    if (!isMap(value)) {
      bad(`monitor.${key}`, `must be a map (keys: ${Object.keys(rules).join(', ')})`);
      continue;
    }
    const group = out[key] as Record<string, number>;
    for (const [k, v] of Object.entries(value)) {
      const rule = rules[k];
      if (!rule) {
        bad(`monitor.${key}.${k}`, `unknown setting (known: ${Object.keys(rules).join(', ')})`);
        continue;
      }
      const okNum = typeof v === 'number' && Number.isFinite(v) && (rule.minExclusive ? v > rule.min : v >= rule.min) && v <= rule.max && (!rule.int || Number.isInteger(v));
      if (!okNum) {
        const range = `${rule.minExclusive ? '>' : '>='} ${rule.min} and <= ${rule.max}`;
        bad(`monitor.${key}.${k}`, `must be ${rule.int ? 'a whole number' : 'a number'} ${range}, got ${JSON.stringify(v)}`);
        continue;
      }
      group[k] = v;
    }
  }
  return { settings: out, problems };
}
