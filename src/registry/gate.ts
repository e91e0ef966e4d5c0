/**
 * Promotion gates: `.mlbuild/registry.yaml` may require, before a version is assigned to a stage,
 * that its metrics are not worse than those of the version holding the stage now, compared through
 * the metrics-diff machinery (the metrics file read from git at both commits, flattened with dots):
 *
 *   gates:
 *     prod:
 *       - file: metrics/test.json    # a metrics file committed with the model
 *         metric: logreg.accuracy    # flattened key, as `mlbuild metrics diff` prints it
 *         max_drop: 0.005            # refuse when candidate < current - max_drop (default 0)
 *         lower_is_better: false     # for losses (default false)
 *
 * A stage with no version yet passes (nothing to compare with). A refusal names the metric, both
 * values and by how much. It does not write tags.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isSeq, parseDocument, type Node } from 'yaml';
import { flatten, parseMetricsText } from '../metrics/diff.js';
import { locate, type Diagnostic } from '../report/diagnostic.js';
import { type Result, err, ok } from '../util/result.js';

export const REGISTRY_CONFIG = join('.mlbuild', 'registry.yaml');

export interface GateRule {
  readonly file: string;
  readonly metric: string;
  readonly maxDrop: number;
  readonly lowerIsBetter: boolean;
}

export type Gates = ReadonlyMap<string, readonly GateRule[]>;

const RULE_KEYS = ['file', 'metric', 'max_drop', 'lower_is_better'];

/** The gates of `.mlbuild/registry.yaml` (none when the file is absent), or located diagnostics. */
export async function readGates(root: string): Promise<Result<Gates, Diagnostic[]>> {
  const file = join(root, REGISTRY_CONFIG);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return ok(new Map());
  }
  const doc = parseDocument(text);
  const diags: Diagnostic[] = [];
  const at = (n: Node | null | undefined, message: string, hint: string): void => {
    diags.push({ severity: 'error', code: 'bad-registry-config', message, hint, location: locate(REGISTRY_CONFIG, text, n?.range?.[0] ?? 0, n?.range?.[1]) });
  };
  for (const e of doc.errors) diags.push({ severity: 'error', code: 'yaml', message: e.message, location: locate(REGISTRY_CONFIG, text, e.pos[0]) });
  const gates = new Map<string, GateRule[]>();
  const top = doc.contents;
  if (diags.length === 0 && top && !isMap(top)) at(top as Node, 'registry.yaml must be a mapping', 'write "gates:" at the top level');
  if (diags.length === 0 && isMap(top)) {
    for (const pair of top.items) {
      const key = String((pair.key as { value?: unknown }).value);
      if (key !== 'gates') {
        at(pair.key as Node, `unknown key '${key}'`, 'the only top-level key is gates');
        continue;
      }
      if (!isMap(pair.value)) {
        at(pair.value as Node, 'gates must map stage names to lists of rules', 'e.g. gates: {prod: [{file: metrics/test.json, metric: logreg.accuracy}]}');
        continue;
      }
      for (const g of pair.value.items) {
        const stage = String((g.key as { value?: unknown }).value);
        if (!isSeq(g.value)) {
          at(g.value as Node, `gates.${stage} must be a list of rules`, 'each rule: {file, metric, max_drop?, lower_is_better?}');
          continue;
        }
        const rules: GateRule[] = [];
        for (const item of g.value.items) {
          const r = (item as Node).toJSON() as Record<string, unknown>;
          const bad = !isMap(item) ? 'a mapping' : Object.keys(r).find((k) => !RULE_KEYS.includes(k));
          if (bad || typeof r.file !== 'string' || typeof r.metric !== 'string' || (r.max_drop !== undefined && typeof r.max_drop !== 'number') || (r.lower_is_better !== undefined && typeof r.lower_is_better !== 'boolean')) {
            at(item as Node, `gates.${stage}: a rule needs file and metric (strings)${bad ? `; unknown key ${bad}` : ''}, max_drop a number, lower_is_better a boolean`, 'e.g. {file: metrics/test.json, metric: logreg.accuracy, max_drop: 0.01}');
            continue;
          }
          rules.push({ file: r.file, metric: r.metric, maxDrop: (r.max_drop as number | undefined) ?? 0, lowerIsBetter: (r.lower_is_better as boolean | undefined) ?? false });
        }
        gates.set(stage, rules);
      }
    }
  }
  return diags.length > 0 ? err(diags) : ok(gates);
}

export interface GateCheck {
  readonly rule: GateRule;
  readonly candidate: number | undefined;
  readonly current: number | undefined;
  readonly passed: boolean;
  /** Why it failed, naming the metric and by how much. */
  readonly reason?: string;
}

/** A metrics file's text at a commit, or undefined when it is not there. */
export type ReadAt = (commit: string, file: string) => Promise<string | undefined>;

const valueOf = (text: string | undefined, rule: GateRule): number | undefined => {
  if (text === undefined) return undefined;
  const v = flatten(parseMetricsText(text, rule.file)).get(rule.metric);
  return typeof v === 'number' ? v : undefined;
};

/** Each rule of the stage's gate checked for `candidate` against `current` (undefined: stage empty). */
export async function checkGate(rules: readonly GateRule[], read: ReadAt, candidate: { version: string; commit: string }, current: { version: string; commit: string } | undefined): Promise<GateCheck[]> {
  const out: GateCheck[] = [];
  for (const rule of rules) {
    const cand = valueOf(await read(candidate.commit, rule.file), rule);
    if (cand === undefined) {
      out.push({ rule, candidate: cand, current: undefined, passed: false, reason: `${rule.file}: ${rule.metric} is not a number at ${candidate.version} (${candidate.commit.slice(0, 7)}); commit the metrics with the model` });
      continue;
    }
    if (!current) {
      out.push({ rule, candidate: cand, current: undefined, passed: true });
      continue;
    }
    const cur = valueOf(await read(current.commit, rule.file), rule);
    if (cur === undefined) {
      out.push({ rule, candidate: cand, current: cur, passed: true, reason: `${rule.metric} not recorded for ${current.version}: nothing to compare` });
      continue;
    }
    const drop = rule.lowerIsBetter ? cand - cur : cur - cand;
    const passed = drop <= rule.maxDrop + 1e-12;
    out.push({
      rule,
      candidate: cand,
      current: cur,
      passed,
      ...(passed ? {} : { reason: `${rule.file}: ${rule.metric} ${fmt(cand)} (${candidate.version}) is ${fmt(drop)} ${rule.lowerIsBetter ? 'above' : 'below'} ${fmt(cur)} (${current.version}), more than the allowed ${fmt(rule.maxDrop)}` }),
    });
  }
  return out;
}

const fmt = (x: number): string => String(Number(x.toPrecision(6)));
