/**
 * `${...}` interpolation (DVC semantics): resolves a YAML node against a layered context into a
 * located value tree (`LValue`), keeping the source range of every value so later checks can point
 * at it. A string that is exactly one `${...}` keeps the value's type; inside a larger string the
 * value becomes text. `\${` is a literal `${`. Supported expressions: key paths (`a.b`, `a[0]`,
 * `item.fold`), `range(n)` / `range(a, b[, step])` whose arguments are integers or key paths, and
 * `keys(path)`, the names of a map in file order, and `paths(a, ...)`, the plain paths among its
 * arguments (for deps that a param may name: see evalPaths).
 *
 * Every key path that resolved from the params tree (and was not shadowed by `vars` or `item`) is
 * recorded, so load.ts can add it to the stage as an implicit param dep.
 *
 * It does not validate the shape of the result (schema.ts) and reports errors into a sink
 * instead of throwing.
 */
import { isMap, isScalar, isSeq } from 'yaml';
import type { Document } from 'yaml';
import type { Diagnostic, DiagnosticCode } from '../report/diagnostic.js';
import { deref, keyText, locAt, rangeOf } from './pipeline-file.js';
import type { Range, YamlFile } from './pipeline-file.js';
import { deepMerge, deepestMap, getIn, isPlainObject, scalarText } from './tree.js';
import { suggest } from '../util/suggest.js';
import type { Seg, Tree } from './tree.js';

export type ScalarValue = string | number | boolean | null;

/** A resolved value with the source range it came from (a value produced by a lone `${...}` takes its range). */
export type LValue =
  | { readonly kind: 'scalar'; readonly value: ScalarValue; readonly range: Range }
  | { readonly kind: 'seq'; readonly items: readonly LValue[]; readonly range: Range }
  | { readonly kind: 'map'; readonly entries: readonly LEntry[]; readonly range: Range };

export interface LEntry {
  readonly key: string;
  readonly keyRange: Range;
  readonly value: LValue;
}

/**
 * The interpolation context: the params tree at the bottom, then `vars` layers and the foreach/matrix
 * `item`/`key` on top. `merged` is what lookups see; `overlays` tell a params value from a shadowed one.
 */
export interface Context {
  readonly params: Tree;
  readonly overlays: readonly Tree[];
  readonly merged: Tree;
}

export const rootContext = (params: Tree): Context => ({ params, overlays: [], merged: params });

export const extendContext = (ctx: Context, layer: Tree): Context => ({
  params: ctx.params,
  overlays: [...ctx.overlays, layer],
  merged: deepMerge(ctx.merged, layer),
});

/** Where resolution reports to. `paramRefs` (when set) collects params keys used through `${...}`. */
export interface ResolveSink {
  readonly file: YamlFile;
  readonly diags: Diagnostic[];
  paramRefs?: Set<string>;
}

// ---------------------------------------------------------------------------------------------
// Template parsing

type Expr =
  | { readonly kind: 'path'; readonly segs: readonly Seg[]; readonly text: string }
  | { readonly kind: 'num'; readonly value: number }
  | { readonly kind: 'call'; readonly fn: string; readonly args: readonly Expr[] };

type Part = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'expr'; readonly expr: Expr; readonly src: string };

type Parsed = { ok: true; parts: Part[] } | { ok: false; message: string; src: string };

// Memo of parsed templates: an expanded group resolves the same strings once per instance.
const parsedTemplates = new Map<string, Parsed>();

function parseTemplate(s: string): Parsed {
  let p = parsedTemplates.get(s);
  if (!p) {
    if (parsedTemplates.size > 10_000) parsedTemplates.clear();
    p = parseTemplateUncached(s);
    parsedTemplates.set(s, p);
  }
  return p;
}

function parseTemplateUncached(s: string): Parsed {
  const parts: Part[] = [];
  let text = '';
  let i = 0;
  while (i < s.length) {
    if (s.startsWith('\\${', i)) {
      text += '${';
      i += 3;
    } else if (s.startsWith('${', i)) {
      const end = s.indexOf('}', i + 2);
      if (end === -1) return { ok: false, message: `unclosed '\${' in '${s}'`, src: s.slice(i) };
      const src = s.slice(i, end + 1);
      const expr = parseExpr(s.slice(i + 2, end));
      if (typeof expr === 'string') return { ok: false, message: `cannot parse '${src}': ${expr}`, src };
      if (text) parts.push({ kind: 'text', text });
      text = '';
      parts.push({ kind: 'expr', expr, src });
      i = end + 1;
    } else {
      text += s[i];
      i++;
    }
  }
  if (text || parts.length === 0) parts.push({ kind: 'text', text });
  return { ok: true, parts };
}

/** Recursive-descent parser for the inside of `${...}`; returns an error string on failure. */
function parseExpr(src: string): Expr | string {
  let pos = 0;
  const ws = (): void => {
    while (src[pos] === ' ' || src[pos] === '\t') pos++;
  };
  const ident = (): string | undefined => {
    const m = /^[A-Za-z_][\w-]*/.exec(src.slice(pos));
    if (m) pos += m[0].length;
    return m?.[0];
  };
  const expr = (): Expr | string => {
    ws();
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(pos));
    if (num) {
      pos += num[0].length;
      return { kind: 'num', value: Number(num[0]) };
    }
    const start = pos;
    const head = ident();
    if (head === undefined) return pos >= src.length ? 'expected a name' : `unexpected '${src[pos]}'`;
    ws();
    if (src[pos] === '(') {
      pos++;
      const args: Expr[] = [];
      ws();
      if (src[pos] !== ')') {
        for (;;) {
          const a = expr();
          if (typeof a === 'string') return a;
          args.push(a);
          ws();
          if (src[pos] === ',') pos++;
          else break;
        }
      }
      if (src[pos] !== ')') return `expected ')' in call to ${head}()`;
      pos++;
      return { kind: 'call', fn: head, args };
    }
    const segs: Seg[] = [head];
    for (;;) {
      if (src[pos] === '.') {
        pos++;
        const m = /^[\w-]+/.exec(src.slice(pos));
        if (!m) return `expected a key after '.'`;
        pos += m[0].length;
        segs.push(m[0]);
      } else if (src[pos] === '[') {
        const m = /^\[\s*(\d+)\s*\]/.exec(src.slice(pos));
        if (!m) return `expected an index like [0]`;
        pos += m[0].length;
        segs.push(Number(m[1]));
      } else break;
    }
    return { kind: 'path', segs, text: src.slice(start, pos).trim() };
  };
  const e = expr();
  ws();
  if (typeof e !== 'string' && pos < src.length) return `unexpected '${src.slice(pos)}'`;
  return e;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

type Eval = { ok: true; value: unknown } | { ok: false; code: DiagnosticCode; message: string; hint: string };

/** True when an overlay defines this path (or a leaf above it), so the value is not the param's. */
function shadowed(layer: Tree, segs: readonly Seg[]): boolean {
  let cur: unknown = layer;
  for (const s of segs) {
    if (isPlainObject(cur) || Array.isArray(cur)) {
      const next = getIn(cur, [s]);
      if (!next.found) return false;
      cur = next.value;
    } else return true;
  }
  return true;
}

/** The params key a path depends on: the segments reached through maps (a list counts as one value). */
function paramKeyOf(params: Tree, segs: readonly Seg[]): string {
  const out: string[] = [];
  let cur: unknown = params;
  for (const s of segs) {
    if (!isPlainObject(cur)) break;
    out.push(String(s));
    cur = cur[String(s)];
  }
  return out.join('.');
}

function evalExpr(e: Expr, ctx: Context, refs: Set<string> | undefined): Eval {
  switch (e.kind) {
    case 'num':
      return { ok: true, value: e.value };
    case 'path': {
      const got = getIn(ctx.merged, e.segs);
      if (!got.found) {
        const { depth, node } = deepestMap(ctx.merged, e.segs);
        const near = node && depth < e.segs.length ? suggest(String(e.segs[depth]), Object.keys(node)) : undefined;
        const better = near === undefined ? undefined : [...e.segs.slice(0, depth), near].join('.');
        return {
          ok: false,
          code: 'undefined-var',
          message: `undefined variable '${e.text}'`,
          hint: better
            ? `did you mean '${better}'?`
            : `define '${e.text}' in the params files (params.yaml or params/) or under vars:`,
        };
      }
      if (refs && getIn(ctx.params, e.segs).found && !ctx.overlays.some((l) => shadowed(l, e.segs))) {
        refs.add(paramKeyOf(ctx.params, e.segs));
      }
      return { ok: true, value: got.value };
    }
    case 'call': {
      if (e.fn === 'keys') {
        // The names of a map, in file order: e.g. the options selected in a params group, so
        // `-S model=logreg,cnn` can drive a matrix axis.
        const arg = e.args.length === 1 ? evalExpr(e.args[0] as Expr, ctx, refs) : undefined;
        if (!arg) return { ok: false, code: 'bad-interpolation', message: `keys() takes one argument, got ${e.args.length}`, hint: 'write keys(some.map), e.g. keys(model)' };
        if (!arg.ok) return arg;
        if (!isPlainObject(arg.value)) {
          return { ok: false, code: 'bad-interpolation', message: `keys() needs a map, got ${Array.isArray(arg.value) ? 'a list' : JSON.stringify(arg.value)}`, hint: 'pass a key path to a map, e.g. keys(model) when params/base.yaml selects a list of model options' };
        }
        return { ok: true, value: Object.keys(arg.value) };
      }
      if (e.fn === 'paths') return evalPaths(e.args, ctx, refs);
      if (e.fn !== 'range') {
        return { ok: false, code: 'bad-interpolation', message: `unknown function '${e.fn}()'`, hint: 'the functions are range(n), range(start, stop[, step]), keys(map) and paths(a, ...)' };
      }
      const args: number[] = [];
      for (const a of e.args) {
        const v = evalExpr(a, ctx, refs);
        if (!v.ok) return v;
        if (typeof v.value !== 'number' || !Number.isInteger(v.value)) {
          return { ok: false, code: 'bad-interpolation', message: `range() takes integers, got ${JSON.stringify(v.value)}`, hint: 'pass integer values, e.g. range(3) or range(split.k)' };
        }
        args.push(v.value);
      }
      if (args.length < 1 || args.length > 3) {
        return { ok: false, code: 'bad-interpolation', message: `range() takes 1 to 3 arguments, got ${args.length}`, hint: 'write range(n), range(start, stop) or range(start, stop, step)' };
      }
      const [start, stop, step] = args.length === 1 ? [0, args[0] ?? 0, 1] : [args[0] ?? 0, args[1] ?? 0, args[2] ?? 1];
      if (step === 0) return { ok: false, code: 'bad-interpolation', message: 'range() step must not be 0', hint: 'use a positive or negative step' };
      const out: number[] = [];
      for (let i = start; step > 0 ? i < stop : i > stop; i += step) {
        if (out.length >= 100_000) return { ok: false, code: 'bad-interpolation', message: 'range() is too large (over 100000 items)', hint: 'use a smaller range' };
        out.push(i);
      }
      return { ok: true, value: out };
    }
  }
}

/**
 * `paths(a, b, ...)`: the plain paths among the values, as a list: a non-empty string is one path,
 * a list adds its non-empty strings, and null, '' or anything else adds nothing. So a param that
 * is either a user's file (`data.train: reviews.tsv`) or entries that carry their own pinned hash
 * (`[{file, sha256}]`) becomes a dep exactly when it names a file (`deps: [${paths(data.train)}]`).
 */
function evalPaths(args: readonly Expr[], ctx: Context, refs: Set<string> | undefined): Eval {
  if (args.length === 0) return { ok: false, code: 'bad-interpolation', message: 'paths() takes at least one argument', hint: 'write paths(some.key), e.g. paths(data.train, data.test)' };
  const out: string[] = [];
  for (const a of args) {
    const v = evalExpr(a, ctx, refs);
    if (!v.ok) return v;
    for (const x of Array.isArray(v.value) ? v.value : [v.value]) if (typeof x === 'string' && x.trim() !== '' && !out.includes(x)) out.push(x);
  }
  return { ok: true, value: out };
}

/** The range of `src` inside the node's source text, else the whole node. */
function rangeWithin(file: YamlFile, node: Range, src: string): Range {
  const at = file.text.slice(node[0], node[1]).indexOf(src);
  return at === -1 ? node : [node[0] + at, node[0] + at + src.length];
}

function fail(sink: ResolveSink, range: Range, code: DiagnosticCode, message: string, hint: string): void {
  sink.diags.push({ severity: 'error', code, message, location: locAt(sink.file, range), hint });
}

/**
 * Interpolates one string. Returns the typed value for a lone `${...}`, a string otherwise, or
 * undefined after reporting an error.
 */
export function interpolateString(s: string, range: Range, ctx: Context, sink: ResolveSink): { value: unknown } | undefined {
  if (!s.includes('${')) return { value: s };
  const parsed = parseTemplate(s);
  if (!parsed.ok) {
    fail(sink, rangeWithin(sink.file, range, parsed.src), 'bad-interpolation', parsed.message, "write '${name}', or '\\${' for a literal '${'");
    return undefined;
  }
  const [first] = parsed.parts;
  if (parsed.parts.length === 1 && first?.kind === 'expr') {
    const v = evalExpr(first.expr, ctx, sink.paramRefs);
    if (!v.ok) {
      fail(sink, rangeWithin(sink.file, range, first.src), v.code, v.message, v.hint);
      return undefined;
    }
    return { value: v.value };
  }
  let out = '';
  let failed = false;
  for (const p of parsed.parts) {
    if (p.kind === 'text') {
      out += p.text;
      continue;
    }
    const v = evalExpr(p.expr, ctx, sink.paramRefs);
    const at = rangeWithin(sink.file, range, p.src);
    if (!v.ok) {
      fail(sink, at, v.code, v.message, v.hint);
      failed = true;
    } else if (v.value !== null && typeof v.value === 'object') {
      fail(sink, at, 'bad-interpolation', `cannot put a ${Array.isArray(v.value) ? 'list' : 'map'} inside a string: '${p.src}'`, 'reference a single value (e.g. a key inside it), or make the whole value just this ${...}');
      failed = true;
    } else {
      out += scalarText(v.value as ScalarValue);
    }
  }
  return failed ? undefined : { value: out };
}

/** Converts a plain JS value into an LValue located at `range`. */
export function fromJs(v: unknown, range: Range): LValue {
  if (Array.isArray(v)) return { kind: 'seq', items: v.map((x) => fromJs(x, range)), range };
  if (isPlainObject(v)) return { kind: 'map', entries: Object.entries(v).map(([key, x]) => ({ key, keyRange: range, value: fromJs(x, range) })), range };
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return { kind: 'scalar', value: v, range };
  return { kind: 'scalar', value: null, range };
}

/** Converts an LValue back to plain JS. */
export function toJs(v: LValue): unknown {
  if (v.kind === 'scalar') return v.value;
  if (v.kind === 'seq') return v.items.map(toJs);
  return Object.fromEntries(v.entries.map((e) => [e.key, toJs(e.value)]));
}

/**
 * Resolves a YAML node (and everything below it) with interpolation. An absent value is a null
 * scalar at `fallback`. Errors are reported to the sink and the offending string kept as written.
 */
export function resolveNode(doc: Document, node: unknown, ctx: Context, sink: ResolveSink, fallback: Range): LValue {
  const n = deref(doc, node);
  const range = n ? rangeOf(n, fallback) : fallback;
  if (n === null) return { kind: 'scalar', value: null, range };
  if (isScalar(n)) {
    const v = n.value;
    if (typeof v === 'string') {
      const r = interpolateString(v, range, ctx, sink);
      return r ? fromJs(r.value, range) : { kind: 'scalar', value: v, range };
    }
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) return { kind: 'scalar', value: v, range };
    return { kind: 'scalar', value: String(v), range };
  }
  if (isSeq(n)) return { kind: 'seq', items: n.items.map((it) => resolveNode(doc, it, ctx, sink, range)), range };
  if (isMap(n)) {
    const entries: LEntry[] = [];
    for (const pair of n.items) {
      const kr = rangeOf(pair.key, range);
      const raw = keyText(pair);
      const k = interpolateString(raw, kr, ctx, sink);
      const key = k && (k.value === null || typeof k.value !== 'object') ? scalarText(k.value as ScalarValue) : raw;
      entries.push({ key, keyRange: kr, value: resolveNode(doc, pair.value, ctx, sink, [kr[1], kr[1]]) });
    }
    return { kind: 'map', entries, range };
  }
  return { kind: 'scalar', value: null, range };
}
