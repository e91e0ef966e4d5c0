/**
 * Reads one YAML input file (pipeline.yaml, dvc.yaml, a params or vars file) into a `yaml`
 * Document that keeps source ranges, and turns the parser's own errors into located diagnostics.
 * It also owns the small helpers every config module uses to point at a node.
 *
 * It does not validate the shape of the content (schema.ts and load.ts do) and never throws for
 * a user error: a missing or malformed file is a Result carrying diagnostics.
 *
 * Why the brace masking: the contract's examples write `deps: [data/fold-${item.fold}]`, but YAML
 * forbids `{`, `}`, `[`, `]` and `,` in plain scalars inside flow collections. Before parsing we
 * swap those characters inside `${...}` for private-use code points of the same UTF-16 length
 * (so every offset still matches the file text) and swap them back in scalar values afterwards.
 */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, YAMLParseError } from 'yaml';
import type { Document, Node as YamlNode, Pair } from 'yaml';
import { locate } from '../report/diagnostic.js';
import type { Diagnostic, SourceLocation } from '../report/diagnostic.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';

/** A parsed YAML file: its text (for locating) and the Document (for ranges and editing). */
export interface YamlFile {
  /** Absolute path. */
  readonly abs: string;
  /** Path as shown in diagnostics. */
  readonly display: string;
  readonly text: string;
  readonly doc: Document.Parsed;
  /** Offsets where each line starts, for locating many nodes without rescanning the text. */
  readonly lineStarts: readonly number[];
}

/** A [start, end) offset range into a file's text. */
export type Range = readonly [number, number];

// Private-use stand-ins for the flow indicators, one UTF-16 unit each like the characters they replace.
const MASK: Readonly<Record<string, string>> = { '{': '\uE000', '}': '\uE001', '[': '\uE002', ']': '\uE003', ',': '\uE004' };
const UNMASK: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(MASK).map(([k, v]) => [v, k]));
const UNMASK_RE = /[\uE000-\uE004]/g;

/** Masks flow indicators inside each single-line `${...}`, without changing any offset. */
function maskInterpolations(text: string): string {
  return text.replace(/\$\{[^}\n]*\}/g, (m) => `$${m.slice(1).replace(/[{}[\],]/g, (c) => MASK[c] ?? c)}`);
}

const unmask = (s: string): string => s.replace(UNMASK_RE, (c) => UNMASK[c] ?? c);

/** Path relative to `displayCwd` when that is shorter and inside it, else as given. */
export function displayPath(abs: string, displayCwd: string): string {
  const rel = path.relative(displayCwd, abs);
  return rel === '' ? path.basename(abs) : rel.split(path.sep).join('/');
}

/** Parses already-read text. `interpolated` turns on the `${...}` brace masking. */
export function parseYamlText(
  abs: string,
  display: string,
  text: string,
  interpolated: boolean,
): Result<YamlFile, Diagnostic[]> {
  if (text.length > MAX_YAML_CHARS) {
    // Parsing tens of MiB of YAML takes seconds and gigabytes: say so before trying.
    return err([
      {
        severity: 'error',
        code: 'file-too-big',
        message: `${display} is ${Math.round(text.length / (1 << 20))} MiB; configuration files over ${MAX_YAML_CHARS >> 20} MiB are refused`,
        location: { file: display, line: 1, col: 1, length: 1, sourceLine: text.slice(0, Math.min(text.indexOf('\n') >>> 0, 200)) },
        hint: 'keep data out of params and pipeline files: make it a dep (a file the stage reads)',
      },
    ]);
  }
  const masked = interpolated ? maskInterpolations(text) : text;
  // The library's own unique-keys check compares each key with every earlier one (quadratic: ~50
  // ms for a 1000-stage `stages:` map, seconds at 10 000); duplicateKeys does it with one set per map.
  const doc = parseDocument(masked, { keepSourceTokens: false, uniqueKeys: false });
  duplicateKeys(doc);
  // Nothing masked (no flow indicator inside any `${...}`): no scalar to unmask, and no walk over
  // every node of a 1000-stage file (~15 ms).
  if (masked !== text) {
    visit(doc, {
      Scalar(_key, node) {
        if (typeof node.value === 'string') node.value = unmask(node.value);
      },
    });
  }
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  const file: YamlFile = { abs, display, text, doc, lineStarts };
  if (doc.errors.length === 0 && ALIAS_TOKEN.test(text)) {
    const bomb = aliasBomb(file);
    if (bomb) return err([bomb]);
  }
  if (doc.errors.length > 0) {
    return err(
      doc.errors.map((e) => ({
        severity: 'error' as const,
        code: 'yaml-syntax',
        message: `invalid YAML: ${unmask(e.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '')}`,
        location: locate(display, text, e.pos[0], errorEnd(text, e.code, e.pos)),
        hint: yamlHint(e.code),
      })),
    );
  }
  return ok(file);
}

/**
 * Adds the library's DUPLICATE_KEY error (same code, message and offset) for each key that repeats
 * an earlier scalar key of its map, in document order among the other errors. Keys are compared as
 * the library does by default: scalars by value (`1` and `"1"` differ), other keys never.
 */
function duplicateKeys(doc: Document.Parsed): void {
  const found: YAMLParseError[] = [];
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        const key = pair.key;
        if (isScalar(key)) {
          if (seen.has(key.value)) found.push(new YAMLParseError([key.range![0], key.range![0] + 1], 'DUPLICATE_KEY', 'Map keys must be unique'));
          else seen.add(key.value);
        } else walk(key);
        walk(pair.value);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item);
    }
  };
  walk(doc.contents);
  if (found.length === 0) return;
  for (const e of found) {
    const at = doc.errors.findIndex((d) => d.pos[0] > e.pos[0]);
    doc.errors.splice(at === -1 ? doc.errors.length : at, 0, e);
  }
}

/**
 * The most alias uses (`*name`) a config file may hold: the yaml library's own limit when it
 * converts a document, which otherwise surfaces as an unlocated ReferenceError. Nested anchors
 * expand exponentially (the "billion laughs"), so a file with more is refused where the first
 * alias past the limit stands.
 */
export const MAX_ALIASES = 100;

/** The largest pipeline, params or vars file read (characters); a 10 000-stage pipeline is ~2 MiB. */
export const MAX_YAML_CHARS = 32 << 20;

/**
 * Where an alias can stand: `*` at the start of a node (after a line start, space, `[`, `{`, `,`
 * or `:`). A file without one has no aliases, and skips the walk over every node that counts them:
 * `cmd: cksum data/*` (a glob) is not one.
 */
const ALIAS_TOKEN = /(?:^|[\s,[{:])\*/;

function aliasBomb(file: YamlFile): Diagnostic | undefined {
  let count = 0;
  let at: Range | undefined;
  visit(file.doc, {
    Alias(_key, node) {
      count++;
      if (count === MAX_ALIASES + 1) at = rangeOf(node);
    },
  });
  if (at === undefined) return undefined;
  return {
    severity: 'error',
    code: 'yaml-alias-limit',
    message: `too many YAML aliases: ${count} uses of \`*anchor\` (at most ${MAX_ALIASES}), a shape that can expand exponentially`,
    location: locAt(file, at),
    hint: 'write the values out, or move shared values into params and refer to them with ${...}',
  };
}

/**
 * `node.toJS()` (or the whole document's) as a value, or a located diagnostic when the yaml
 * library refuses it (its alias limit: nested anchors that expand past it).
 */
export function yamlToJS(file: YamlFile, node?: { toJS(doc: YamlFile['doc']): unknown }): Result<unknown, Diagnostic[]> {
  try {
    return ok(node ? node.toJS(file.doc) : file.doc.toJS());
  } catch (e) {
    if (!(e instanceof ReferenceError)) throw e;
    let first: Range = [0, 0];
    visit(file.doc, {
      Alias(_key, n) {
        first = rangeOf(n);
        return visit.BREAK;
      },
    });
    return err([{ severity: 'error', code: 'yaml-alias-limit', message: `YAML aliases expand too far: ${e.message}`, location: locAt(file, first), hint: 'write the values out instead of nesting anchors' }]);
  }
}

/** A duplicate key is reported on its first character: underline the whole key. */
function errorEnd(text: string, code: string, pos: [number, number]): number {
  if (code !== 'DUPLICATE_KEY') return pos[1];
  const m = /^[^\s:,[\]{}]+/.exec(text.slice(pos[0]));
  return pos[0] + Math.max(1, m?.[0].length ?? 1);
}

function yamlHint(code: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear only once in a mapping; remove or rename one of them';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
    case 'UNEXPECTED_TOKEN':
      return 'check the indentation and the brackets/quotes on this line';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    default:
      return 'fix the YAML syntax at this position';
  }
}

/** Reads and parses a YAML file; a missing file is a `missing-file` diagnostic. */
export async function readYamlFile(
  abs: string,
  displayCwd: string,
  opts: { interpolated: boolean; what: string; hint?: string },
): Promise<Result<YamlFile, Diagnostic[]>> {
  const display = displayPath(abs, displayCwd);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return err([
      {
        severity: 'error',
        code: code === 'ENOENT' ? 'missing-file' : 'unreadable-file',
        message: code === 'ENOENT' ? `${opts.what} not found: ${display}` : `cannot read ${opts.what} ${display}: ${code ?? String(e)}`,
        hint: opts.hint ?? (code === 'ENOENT' ? `create ${display} or pass another file with -f` : 'check the file permissions'),
      },
    ]);
  }
  return parseYamlText(abs, display, text, opts.interpolated);
}

/** The [start, end) range of a node's value (not its trailing comment or newline). */
export function rangeOf(node: unknown, fallback: Range = [0, 0]): Range {
  const r = (node as { range?: [number, number, number] } | null)?.range;
  return r ? [r[0], r[1]] : fallback;
}

/** The range of a pair's key (falls back to its value). */
export function keyRange(pair: Pair, fallback: Range = [0, 0]): Range {
  return rangeOf(pair.key, rangeOf(pair.value, fallback));
}

/**
 * Same result as `locate()` from report/diagnostic.ts, but finds the line by binary search over
 * `lineStarts`: a 1k-stage file has thousands of located values. A zero-width range (an empty
 * value) still gets a one-character caret.
 */
export function locAt(file: YamlFile, range: Range): SourceLocation {
  const { text, lineStarts } = file;
  const offset = Math.max(0, Math.min(range[0], text.length));
  let lo = 0;
  let hi = lineStarts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((lineStarts[mid] ?? 0) <= offset) lo = mid;
    else hi = mid - 1;
  }
  const lineStart = lineStarts[lo] ?? 0;
  const next = lineStarts[lo + 1];
  const lineEnd = next === undefined ? text.length : next - 1;
  const end = Math.min(range[1] > range[0] ? range[1] : offset + 1, lineEnd);
  return {
    file: file.display,
    line: lo + 1,
    col: offset - lineStart + 1,
    length: Math.max(1, end - offset),
    sourceLine: text.slice(lineStart, lineEnd).replace(/\r$/, ''),
  };
}

/** A pair's key as a string (keys that are not scalars are rendered as their source). */
export function keyText(pair: Pair): string {
  const k = pair.key;
  if (isScalar(k)) return String(k.value);
  return String(k);
}

/** Follows aliases so callers see the anchored node; non-nodes (an absent value) become null. */
export function deref(doc: Document, node: unknown): YamlNode | null {
  let n = node;
  for (let i = 0; i < 32 && isAlias(n); i++) n = n.resolve(doc);
  return isScalar(n) || isMap(n) || isSeq(n) ? n : null;
}

