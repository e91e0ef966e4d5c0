/**
 * The pipeline file's schema: the allowed keys at each level and typed readers over resolved
 * values (`LValue`) that report a located `wrong-type` / `unknown-key` / `bad-value` diagnostic
 * and return undefined instead of throwing. Also parses the extension units (`4G`, `90s`).
 *
 * It does not decide what a stage means (build-stage.ts) or resolve `${...}` (interpolate.ts).
 */
import type { Pair } from 'yaml';
import type { Diagnostic, DiagnosticCode } from '../report/diagnostic.js';
import type { LValue, ScalarValue } from './interpolate.js';
import { keyRange, keyText, locAt } from './pipeline-file.js';
import type { Range, YamlFile } from './pipeline-file.js';
import { suggest } from '../util/suggest.js';

/** Top-level keys: `metrics`, `params`, `artifacts` (and the refused `datasets`) are read by top-level.ts, `plots` by plots/definition.ts. */
export const TOP_KEYS = ['stages', 'vars', 'plots', 'metrics', 'params', 'artifacts', 'datasets'] as const;

export const STAGE_KEYS = [
  'cmd', 'wdir', 'deps', 'params', 'outs', 'metrics', 'plots', 'frozen', 'always_changed', 'desc', 'meta',
  'vars', 'foreach', 'do', 'matrix', 'resources', 'env', 'timeout', 'retries', 'slurm',
] as const;

/** Per-output options DVC accepts (`desc`, `type`, `labels`, `meta` are descriptive and stored nowhere; `remote` and `push: false` are refused in build-stage.ts). */
export const OUT_KEYS = ['cache', 'persist', 'desc', 'type', 'labels', 'meta', 'remote', 'push'] as const;
export const PLOT_KEYS = [...OUT_KEYS, 'x', 'y', 'template', 'title', 'x_label', 'y_label'] as const;
export const RESOURCE_KEYS = ['cpus', 'gpus', 'memory'] as const;
export const SLURM_STAGE_KEYS = ['partition', 'account', 'qos', 'extra'] as const;

/** Reports located diagnostics for one file. */
export class Checker {
  constructor(
    readonly file: YamlFile,
    readonly diags: Diagnostic[],
  ) {}

  error(range: Range, code: DiagnosticCode, message: string, hint: string): void {
    this.diags.push({ severity: 'error', code, message, location: locAt(this.file, range), hint });
  }

  warn(range: Range, code: DiagnosticCode, message: string, hint: string): void {
    this.diags.push({ severity: 'warning', code, message, location: locAt(this.file, range), hint });
  }

  /** Reports an unknown key with a "did you mean" hint. */
  unknownKey(range: Range, key: string, allowed: readonly string[], where: string): void {
    const near = suggest(key, allowed);
    this.error(
      range,
      'unknown-key',
      `unknown key '${key}' in ${where}`,
      near ? `did you mean '${near}'?` : `allowed keys: ${allowed.join(', ')}`,
    );
  }

  /** Checks every key of a YAML map against `allowed`; returns the pairs by key. */
  keys(pairs: readonly Pair[], allowed: readonly string[], where: string): Map<string, Pair> {
    const out = new Map<string, Pair>();
    for (const p of pairs) {
      const k = keyText(p);
      if (!allowed.includes(k)) this.unknownKey(keyRange(p), k, allowed, where);
      else out.set(k, p);
    }
    return out;
  }

  /** Same check on a resolved map (keys may come from interpolation). */
  entryKeys(v: LValue & { kind: 'map' }, allowed: readonly string[], where: string): Map<string, LValue> {
    const out = new Map<string, LValue>();
    for (const e of v.entries) {
      if (!allowed.includes(e.key)) this.unknownKey(e.keyRange, e.key, allowed, where);
      else out.set(e.key, e.value);
    }
    return out;
  }

  wrongType(v: LValue, what: string, expected: string, hint: string): undefined {
    this.error(v.range, 'wrong-type', `${what} must be ${expected}, got ${describe(v)}`, hint);
    return undefined;
  }

  string(v: LValue, what: string, hint: string): string | undefined {
    return v.kind === 'scalar' && typeof v.value === 'string' ? v.value : this.wrongType(v, what, 'a string', hint);
  }

  bool(v: LValue, what: string, example: string): boolean | undefined {
    return v.kind === 'scalar' && typeof v.value === 'boolean' ? v.value : this.wrongType(v, what, 'true or false', `write ${example}`);
  }

  int(v: LValue, what: string, min: number, example: string): number | undefined {
    if (v.kind === 'scalar' && typeof v.value === 'number' && Number.isInteger(v.value)) {
      if (v.value >= min) return v.value;
      this.error(v.range, 'bad-value', `${what} must be at least ${min}, got ${v.value}`, `write e.g. ${example}`);
      return undefined;
    }
    return this.wrongType(v, what, `an integer >= ${min}`, `write e.g. ${example}`);
  }

  /** A string, or a list of strings (each located). */
  stringList(v: LValue, what: string, hint: string): { value: string; range: Range }[] | undefined {
    if (v.kind === 'scalar' && typeof v.value === 'string') return [{ value: v.value, range: v.range }];
    if (v.kind !== 'seq') return this.wrongType(v, what, 'a string or a list of strings', hint);
    const out: { value: string; range: Range }[] = [];
    let bad = false;
    for (const it of v.items) {
      const s = this.string(it, `each item of ${what}`, hint);
      if (s === undefined) bad = true;
      else out.push({ value: s, range: it.range });
    }
    return bad ? undefined : out;
  }

  /** A map of scalars rendered as strings (numbers and booleans allowed, as env values commonly are). */
  stringMap(v: LValue, what: string, hint: string): Record<string, string> | undefined {
    if (v.kind !== 'map') return this.wrongType(v, what, 'a map of names to strings', hint);
    const out: Record<string, string> = {};
    let bad = false;
    for (const e of v.entries) {
      const x = e.value;
      if (x.kind === 'scalar' && x.value !== null) out[e.key] = String(x.value);
      else {
        this.wrongType(x, `${what}.${e.key}`, 'a string', hint);
        bad = true;
      }
    }
    return bad ? undefined : out;
  }
}

export function describe(v: LValue): string {
  if (v.kind === 'seq') return 'a list';
  if (v.kind === 'map') return 'a map';
  return describeScalar(v.value);
}

function describeScalar(v: ScalarValue): string {
  if (v === null) return 'an empty value';
  if (typeof v === 'string') return `the string '${v}'`;
  if (typeof v === 'number') return `the number ${v}`;
  return `the boolean ${v}`;
}

/** `4G`, `512M`, `1.5GB`, `2048` (MiB) -> MiB, rounded up; undefined when not a size. */
export function parseMemory(v: ScalarValue): number | undefined {
  if (typeof v === 'number') return v >= 0 ? Math.ceil(v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(v);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toUpperCase();
  const factor = unit === 'K' ? 1 / 1024 : unit === 'G' ? 1024 : unit === 'T' ? 1024 * 1024 : 1;
  return Math.ceil(Number(m[1]) * factor);
}

/** `90`, `90s`, `10m`, `2h`, `1h30m` -> seconds; undefined when not a duration. */
export function parseDuration(v: ScalarValue): number | undefined {
  if (typeof v === 'number') return v > 0 ? v : undefined;
  if (typeof v !== 'string' || !/^\s*(\d+(\.\d+)?\s*[smhd]?\s*)+$/i.test(v)) return undefined;
  let total = 0;
  const parts = [...v.matchAll(/(\d+(?:\.\d+)?)\s*([smhd]?)/gi)];
  if (parts.length > 1 && parts.some((p) => !p[2])) return undefined;
  for (const p of parts) {
    const unit = (p[2] ?? '').toLowerCase();
    total += Number(p[1]) * (unit === 'm' ? 60 : unit === 'h' ? 3600 : unit === 'd' ? 86400 : 1);
  }
  return total > 0 ? total : undefined;
}
