/**
 * Fans a stage definition out into named instances, following DVC's naming:
 *   - `foreach` over a list of scalars: `stage@<value>`; over a list holding any map or list:
 *     `stage@<index>`; over a map: `stage@<key>` (with `${key}` set);
 *   - `matrix`: the cartesian product of the axes in declaration order, `stage@<v1>-<v2>`, where a
 *     map or list value is named `<axis><index>`; `${item.<axis>}` holds each value.
 * The `foreach`/`matrix` value may be a `${...}` giving a list or map; params it references are
 * returned so every instance tracks them.
 *
 * It does not validate the stage body (build-stage.ts) and never throws.
 */
import { isMap } from 'yaml';
import type { Pair, YAMLMap } from 'yaml';
import type { Diagnostic, DiagnosticCode } from '../report/diagnostic.js';
import { resolveNode, toJs } from './interpolate.js';
import type { Context, LValue } from './interpolate.js';
import { deref, keyRange, keyText, locAt, rangeOf } from './pipeline-file.js';
import type { Range, YamlFile } from './pipeline-file.js';
import { isPlainObject, scalarText } from './tree.js';
import type { Tree } from './tree.js';

export interface Expansion {
  /** `train`, `train@a`, `train@0-logreg`. */
  readonly name: string;
  /** The map holding the stage keys (the `do:` block for foreach). */
  readonly body: YAMLMap;
  /** Keys of `body` that expansion consumed (`matrix`), so the stage builder skips them. */
  readonly skip: ReadonlySet<string>;
  /** The `item`/`key` layer, applied above the stage's own vars. */
  readonly item?: Tree;
  /** Params referenced by the foreach/matrix value. */
  readonly paramRefs: ReadonlySet<string>;
}

const isComposite = (v: unknown): boolean => Array.isArray(v) || isPlainObject(v);

/** DVC's to_str for names: booleans as true/false, numbers plainly. */
const nameOf = (v: unknown): string =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? scalarText(v) : JSON.stringify(v);

export function expandStage(file: YamlFile, group: string, body: YAMLMap, ctx: Context, diags: Diagnostic[]): Expansion[] {
  const pairs = new Map<string, Pair>();
  for (const p of body.items) pairs.set(keyText(p), p);
  const error = (range: Range, code: DiagnosticCode, message: string, hint: string): void => {
    diags.push({ severity: 'error', code, message, location: locAt(file, range), hint });
  };
  const foreach = pairs.get('foreach');
  const matrix = pairs.get('matrix');
  const doPair = pairs.get('do');
  const sink = { file, diags, paramRefs: new Set<string>() };

  if (foreach && matrix) {
    error(keyRange(matrix), 'bad-foreach', `stage '${group}' has both 'foreach' and 'matrix'`, 'use one of them: matrix for a product of axes, foreach for one list or map');
    return [];
  }
  if (!foreach) {
    if (doPair) error(keyRange(doPair), 'bad-foreach', `'do' is only valid together with 'foreach' (stage '${group}')`, 'add foreach: [...] next to do:, or move the keys under do: up one level');
    if (!matrix) return [{ name: group, body, skip: new Set(['do']), paramRefs: new Set() }];
    return expandMatrix(file, group, body, matrix, ctx, sink, error);
  }

  const doBody = doPair ? deref(file.doc, doPair.value) : null;
  let bad = false;
  if (!doPair) {
    error(keyRange(foreach), 'missing-key', `stage '${group}' uses 'foreach' but has no 'do:' block`, "put the stage keys (cmd, deps, outs, ...) under do:");
    bad = true;
  } else if (!isMap(doBody)) {
    error(rangeOf(doPair.value, keyRange(doPair)), 'wrong-type', `'do' of stage '${group}' must be a map of stage keys`, 'write do: {cmd: ..., deps: [...]}');
    bad = true;
  }
  for (const [k, p] of pairs) {
    if (k !== 'foreach' && k !== 'do') {
      error(keyRange(p), 'bad-foreach', `'${k}' must go under 'do:' when stage '${group}' uses 'foreach'`, `indent '${k}' under do:`);
      bad = true;
    }
  }
  const before = diags.length;
  const value = resolveNode(file.doc, foreach.value, ctx, sink, keyRange(foreach));
  const iterable = toJs(value);
  if (!Array.isArray(iterable) && !isPlainObject(iterable)) {
    if (!interpolationFailed(value, diags.length > before)) {
      error(value.range, 'wrong-type', `'foreach' of stage '${group}' must be a list or a map`, 'write foreach: [a, b], foreach: {a: 1, b: 2} or foreach: ${some.list}');
    }
    return [];
  }
  if (bad || !isMap(doBody)) return [];
  // Params read by the foreach/matrix values shape the set of stages, not one stage's work: growing
  // a list adds stages and leaves the existing ones cached, so they are not param deps.
  const refs = new Set<string>();
  if (Array.isArray(iterable)) {
    const byIndex = iterable.some(isComposite);
    return iterable.map((item, i) => ({
      name: `${group}@${byIndex ? i : nameOf(item)}`,
      body: doBody,
      skip: new Set<string>(),
      item: { item },
      paramRefs: refs,
    }));
  }
  return Object.entries(iterable).map(([key, item]) => ({
    name: `${group}@${key}`,
    body: doBody,
    skip: new Set<string>(),
    item: { item, key },
    paramRefs: refs,
  }));
}

/** True when the value is still an unresolved `${...}` string after resolution reported errors. */
function interpolationFailed(v: LValue, hadErrors: boolean): boolean {
  return hadErrors && v.kind === 'scalar' && typeof v.value === 'string' && v.value.includes('${');
}

function expandMatrix(
  file: YamlFile,
  group: string,
  body: YAMLMap,
  matrix: Pair,
  ctx: Context,
  sink: { file: YamlFile; diags: Diagnostic[]; paramRefs: Set<string> },
  error: (range: Range, code: DiagnosticCode, message: string, hint: string) => void,
): Expansion[] {
  const before = sink.diags.length;
  const value = resolveNode(file.doc, matrix.value, ctx, sink, keyRange(matrix));
  const hadErrors = sink.diags.length > before;
  if (value.kind !== 'map' || value.entries.length === 0) {
    if (!interpolationFailed(value, hadErrors)) {
      error(value.range, 'wrong-type', `'matrix' of stage '${group}' must be a map of axis names to lists`, 'write matrix: {model: [a, b], fold: ${range(3)}}');
    }
    return [];
  }
  const axes: { name: string; values: unknown[] }[] = [];
  let bad = false;
  for (const e of value.entries) {
    const v = toJs(e.value);
    if (!Array.isArray(v)) {
      if (!interpolationFailed(e.value, hadErrors)) {
        error(e.value.range, 'wrong-type', `matrix axis '${e.key}' of stage '${group}' must be a list`, `write ${e.key}: [a, b] or ${e.key}: \${some.list}`);
      }
      bad = true;
    } else axes.push({ name: e.key, values: v });
  }
  if (bad) return [];
  // Cartesian product, first axis outermost (DVC/itertools.product order).
  let combos: { item: Tree; parts: string[] }[] = [{ item: {}, parts: [] }];
  for (const axis of axes) {
    const next: typeof combos = [];
    for (const c of combos) {
      axis.values.forEach((v, i) => {
        next.push({ item: { ...c.item, [axis.name]: v }, parts: [...c.parts, isComposite(v) ? `${axis.name}${i}` : nameOf(v)] });
      });
    }
    combos = next;
  }
  return combos.map((c) => {
    const key = c.parts.join('-');
    return { name: `${group}@${key}`, body, skip: new Set(['matrix']), item: { item: c.item, key }, paramRefs: new Set<string>() };
  });
}
