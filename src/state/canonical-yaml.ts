/**
 * A deterministic YAML emitter for state files, and a fast reader for exactly what it emits.
 *
 * Why not the `yaml` package for everything: it parses a 1000-stage lockfile (~500 KB) in
 * 300-700 ms, which alone would blow the no-op budget. The emitter writes block style only
 * (DVC's layout: sequences at the parent key's indent), keys in insertion order (callers sort),
 * and every scalar in one canonical spelling: plain when that is unambiguous in both YAML 1.2 and
 * 1.1 (so PyYAML/DVC tooling reads it the same), else single-quoted, else double-quoted with
 * JSON-compatible escapes. `parseCanonicalYaml` accepts only that language: it re-spells every
 * token it reads and gives up (returns FAIL) on the first line or token the emitter could not have
 * written — comments, flow collections, anchors, tabs, odd indentation, non-canonical scalars.
 * The caller then falls back to the full `yaml` parser, which also produces located errors.
 * Because each accepted token round-trips through the emitter, a successful fast parse yields the
 * same value the `yaml` package would.
 *
 * It knows nothing about lockfiles; lockfile.ts builds on it.
 */

/** Marker returned when text is outside the canonical subset. */
export const FAIL: unique symbol = Symbol('not-canonical-yaml');

const RESERVED = new Set(['null', 'true', 'false', 'yes', 'no', 'on', 'off', 'y', 'n']);
/**
 * Strings some YAML reader (1.2 core, 1.1, or the `yaml` package's 1.1 schema) resolves to a
 * number or timestamp: ints, floats (with 1.1 underscores, `e1`, `.`, `1.`), hex/octal/binary,
 * sexagesimal, .inf/.nan, and anything starting like a date. One regex, tested only when the
 * first character is a digit, `.` or `e`/`E` (nothing else can match).
 */
const NUMBERISH = new RegExp(
  [
    /^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?$/,
    /^[-+]?(?:[0-9][0-9_]*)?(?:\.[0-9_]*)?[eE][-+]?[0-9]+$/,
    /^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*$/,
    /^[-+]?0[xXoObB][0-9a-fA-F_]+$/,
    /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/,
    /^[-+]?\.(?:inf|Inf|INF)$/,
    /^\.(?:nan|NaN|NAN)$/,
    /^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}/,
  ]
    .map((r) => `(?:${r.source})`)
    .join('|'),
);
/** Strings the lockfile writes thousands of times; known safe. */
const COMMON = new Set(['path', 'hash', 'size', 'nfiles', 'cmd', 'deps', 'params', 'outs', 'schema', 'stages']);

/**
 * True when `s` can be written as a plain scalar and every YAML reader gets the string back:
 * ASCII printable only, first char in [A-Za-z0-9_./$(] (no YAML indicator), no `: ` or ` #`
 * inside, no trailing space or colon, not a reserved word, not number-like.
 */
export function isPlainSafe(s: string): boolean {
  if (COMMON.has(s)) return true;
  const n = s.length;
  if (n === 0) return false;
  const c = s.charCodeAt(0);
  const alpha = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
  const digitish = (c >= 0x30 && c <= 0x39) || c === 0x2e; // digit or '.'
  if (!alpha && !digitish && c !== 0x5f && c !== 0x2f && c !== 0x24 && c !== 0x28) return false;
  let prev = c;
  for (let i = 1; i < n; i++) {
    const d = s.charCodeAt(i);
    if (d < 0x20 || d > 0x7e) return false;
    if ((d === 0x20 && prev === 0x3a) || (d === 0x23 && prev === 0x20)) return false; // ': ' or ' #'
    prev = d;
  }
  if (prev === 0x20 || prev === 0x3a) return false;
  if (n <= 5 && RESERVED.has(s.toLowerCase())) return false;
  if (digitish || c === 0x45 || c === 0x65) return !NUMBERISH.test(s); // digit, '.', 'E', 'e'
  return true;
}

// Control chars, C1, line/paragraph separators, BOM, and lone surrogates need double quotes.
// (Matching control characters is the point here.)
// eslint-disable-next-line no-control-regex
const NEEDS_DQ = /[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const DQ_ESCAPE =
  // eslint-disable-next-line no-control-regex
  /[\x00-\x1f\x7f-\x9f"\\\u2028\u2029\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The canonical spelling of a string scalar. */
export function yamlScalar(s: string): string {
  if (isPlainSafe(s)) return s;
  if (!NEEDS_DQ.test(s)) return "'" + s.replace(/'/g, "''") + "'";
  return (
    '"' +
    s.replace(DQ_ESCAPE, (c) =>
      c === '"' ? '\\"' : c === '\\' ? '\\\\' : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
    ) +
    '"'
  );
}

function emitNumber(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Infinity) return '.inf';
  if (n === -Infinity) return '-.inf';
  return String(n);
}

type Collection = readonly unknown[] | Record<string, unknown>;

function isCollection(v: unknown): v is Collection {
  return typeof v === 'object' && v !== null && !(v instanceof Date);
}

function isEmptyCollection(v: Collection): boolean {
  return Array.isArray(v) ? v.length === 0 : Object.keys(v).length === 0;
}

/** A scalar or empty collection on one line. */
export function emitInline(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return yamlScalar(v);
    case 'number':
      return emitNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'undefined':
      return 'null';
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Date) return yamlScalar(v.toISOString());
      if (Array.isArray(v)) return v.length === 0 ? '[]' : fail('non-empty sequence');
      return Object.keys(v).length === 0 ? '{}' : fail('non-empty mapping');
    default:
      return fail(`a ${typeof v}`);
  }
}

function fail(what: string): never {
  throw new TypeError(`Internal error: cannot emit ${what} inline`);
}

const SPACES = ' '.repeat(64);
const sp = (n: number): string => (n <= 64 ? SPACES.slice(0, n) : ' '.repeat(n));

/** Appends the block lines of a mapping at `indent`, keys in insertion order. */
export function emitMapping(obj: Record<string, unknown>, indent: number, out: string[]): void {
  const pad = sp(indent);
  for (const k of Object.keys(obj)) {
    const v = obj[k];
    const key = pad + yamlScalar(k) + ':';
    if (!isCollection(v) || isEmptyCollection(v)) {
      out.push(key + ' ' + emitInline(v));
    } else if (Array.isArray(v)) {
      out.push(key);
      emitSequence(v, indent, out);
    } else {
      out.push(key);
      emitMapping(v as Record<string, unknown>, indent + 2, out);
    }
  }
}

/** Appends the block lines of a non-empty sequence whose dashes sit at `indent`. */
export function emitSequence(arr: readonly unknown[], indent: number, out: string[]): void {
  const dash = sp(indent) + '- ';
  for (const v of arr) {
    if (!isCollection(v) || isEmptyCollection(v)) {
      out.push(dash + emitInline(v));
      continue;
    }
    const start = out.length;
    if (Array.isArray(v)) emitSequence(v, indent + 2, out);
    else emitMapping(v as Record<string, unknown>, indent + 2, out);
    out[start] = dash + out[start]!.slice(indent + 2);
  }
}

/** A whole document whose root is a mapping, with a trailing newline. */
export function emitDocument(root: Record<string, unknown>): string {
  const out: string[] = [];
  emitMapping(root, 0, out);
  return out.join('\n') + '\n';
}

/** Sets a key without ever touching the prototype (`__proto__` is data here). */
export function setOwn(obj: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(obj, k, { value: v, enumerable: true, writable: true, configurable: true });
  else obj[k] = v;
}

const CANONICAL_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:e[-+][0-9]+)?$/;

/** Parses one inline token the emitter could have written; FAIL otherwise. */
export function parseInline(t: string): unknown {
  const c = t.charCodeAt(0);
  if (c === 0x27 /* ' */) {
    if (t.length < 2 || !t.endsWith("'")) return FAIL;
    // A stray lone quote survives unescaping and is re-spelled doubled, so the check rejects it.
    const v = t.slice(1, -1).replace(/''/g, "'");
    return yamlScalar(v) === t ? v : FAIL;
  }
  if (c === 0x22 /* " */) {
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch {
      return FAIL;
    }
    return typeof v === 'string' && yamlScalar(v) === t ? v : FAIL;
  }
  if (t === '[]') return [];
  if (t === '{}') return {};
  if (isPlainSafe(t)) return t;
  switch (t) {
    case 'null':
      return null;
    case 'true':
      return true;
    case 'false':
      return false;
    case '.nan':
      return NaN;
    case '.inf':
      return Infinity;
    case '-.inf':
      return -Infinity;
  }
  if (CANONICAL_NUMBER.test(t)) {
    const n = Number(t);
    if (String(n) === t) return n;
  }
  return FAIL;
}

/**
 * Index of the ':' that ends a key token starting at `at` (the ':' must be followed by a space or
 * the end of the line), or -1. The token itself is checked by the caller with parseInline.
 */
function keyColon(line: string, at: number): number {
  const c = line.charCodeAt(at);
  let end: number;
  if (c === 0x27 /* ' */) {
    let j = at + 1;
    for (;;) {
      j = line.indexOf("'", j);
      if (j < 0) return -1;
      if (line.charCodeAt(j + 1) === 0x27) j += 2;
      else break;
    }
    end = j + 1;
  } else if (c === 0x22 /* " */) {
    let j = at + 1;
    while (j < line.length && line.charCodeAt(j) !== 0x22) j += line.charCodeAt(j) === 0x5c ? 2 : 1;
    if (j >= line.length) return -1;
    end = j + 1;
  } else {
    end = line.indexOf(': ', at);
    if (end < 0) return line.charCodeAt(line.length - 1) === 0x3a ? line.length - 1 : -1;
    return end;
  }
  if (line.charCodeAt(end) !== 0x3a) return -1;
  return end + 1 === line.length || line.charCodeAt(end + 1) === 0x20 ? end : -1;
}

/**
 * Reads a key token starting at `at`: returns [key, restAfterColon] where rest is '' (block value
 * follows) or ' token'; undefined when the line does not start with a canonical key.
 */
export function readKey(line: string, at: number): [string, string] | undefined {
  const colon = keyColon(line, at);
  if (colon < 0) return undefined;
  // parseInline only accepts canonical spellings, so the key needs no further check.
  const key = parseInline(line.slice(at, colon));
  return typeof key === 'string' ? [key, line.slice(colon + 1)] : undefined;
}

function indentOf(line: string): number {
  let i = 0;
  while (line.charCodeAt(i) === 0x20) i++;
  return i;
}

const isDash = (line: string, at: number): boolean => line.charCodeAt(at) === 0x2d && line.charCodeAt(at + 1) === 0x20;

class Reader {
  i = 0;
  constructor(readonly lines: readonly string[]) {}

  /**
   * A mapping whose keys sit at column `n`. With `dashed`, its first line is a sequence item
   * (`- key: ...` with the dash at n-2), so that line's indentation is not checked.
   */
  map(n: number, dashed: boolean): Record<string, unknown> | typeof FAIL {
    const obj: Record<string, unknown> = {};
    const lines = this.lines;
    let first = dashed;
    while (this.i < lines.length) {
      const line = lines[this.i]!;
      if (first) {
        first = false;
      } else {
        const ind = indentOf(line);
        if (ind < n) break;
        if (ind > n) return FAIL;
        if (isDash(line, n)) break; // a sequence at this indent belongs to the parent key
      }
      const colon = keyColon(line, n);
      if (colon < 0) return FAIL;
      const key = parseInline(line.slice(n, colon));
      if (typeof key !== 'string' || Object.prototype.hasOwnProperty.call(obj, key)) return FAIL;
      let v: unknown;
      this.i++;
      if (colon + 1 === line.length) {
        const next = lines[this.i];
        if (next === undefined) return FAIL;
        const nind = indentOf(next);
        if (nind === n && isDash(next, n)) v = this.seq(n, false);
        else if (nind === n + 2) v = this.map(n + 2, false);
        else return FAIL;
        if (v === FAIL || isEmptyCollection(v as Collection)) return FAIL;
      } else {
        v = parseInline(line.slice(colon + 2));
        if (v === FAIL) return FAIL;
      }
      setOwn(obj, key, v);
    }
    return obj;
  }

  /** A sequence whose dashes sit at column `n` (with `dashed`, the first dash follows another). */
  seq(n: number, dashed: boolean): unknown[] | typeof FAIL {
    const arr: unknown[] = [];
    const lines = this.lines;
    let first = dashed;
    while (this.i < lines.length) {
      const line = lines[this.i]!;
      if (first) first = false;
      else if (indentOf(line) !== n || !isDash(line, n)) break;
      const at = n + 2;
      let v: unknown;
      if (isDash(line, at)) {
        v = this.seq(at, true);
      } else if (line.charCodeAt(at) !== 0x20 && keyColon(line, at) >= 0) {
        v = this.map(at, true);
      } else {
        v = parseInline(line.slice(at));
        this.i++;
      }
      if (v === FAIL) return FAIL;
      arr.push(v);
    }
    return arr;
  }
}

/** Parses text written by {@link emitDocument}; FAIL for anything else (then use the `yaml` package). */
export function parseCanonicalYaml(text: string): Record<string, unknown> | typeof FAIL {
  if (!text.endsWith('\n') || text.includes('\r') || text.includes('\t')) return FAIL;
  const lines = text.split('\n');
  lines.pop();
  const r = new Reader(lines);
  const v = r.map(0, false);
  return v !== FAIL && r.i === lines.length ? v : FAIL;
}
