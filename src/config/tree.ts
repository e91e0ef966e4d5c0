/**
 * Plain-data helpers for params and vars trees: key paths, lookup, deep merge, set, and the
 * "did you mean" suggestion used by every config diagnostic. Pure functions on JSON-like values;
 * nothing here reads files or knows about YAML nodes.
 */

export type Tree = Record<string, unknown>;
export type Seg = string | number;

export const isPlainObject = (v: unknown): v is Tree =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** `a.b.0` -> ['a', 'b', '0']; numeric segments index lists at lookup time. */
export const splitKey = (key: string): string[] => key.split('.');

/** Looks a path up through maps and lists. */
export function getIn(tree: unknown, segs: readonly Seg[]): { found: true; value: unknown } | { found: false } {
  let cur = tree;
  for (const s of segs) {
    if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, String(s))) cur = cur[String(s)];
    else if (Array.isArray(cur) && /^\d+$/.test(String(s)) && Number(s) < cur.length) cur = cur[Number(s)];
    else return { found: false };
  }
  return { found: true, value: cur };
}

/** The longest prefix of `segs` that is reached through maps only (the deepest existing map). */
export function deepestMap(tree: unknown, segs: readonly Seg[]): { depth: number; node: Tree | undefined } {
  let cur = tree;
  let depth = 0;
  let last: Tree | undefined = isPlainObject(tree) ? tree : undefined;
  for (const s of segs) {
    if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, String(s))) break;
    cur = cur[String(s)];
    depth++;
    if (isPlainObject(cur)) last = cur;
    else break;
  }
  return { depth, node: last };
}

/** Deep merge: maps merge key by key, anything else in `over` replaces. Inputs are not mutated. */
export function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? deepMerge(b, v) : v;
  }
  return out;
}

/** Returns a copy of `tree` with `segs` set to `value`, creating (or replacing non-map) parents. */
export function setIn(tree: Tree, segs: readonly string[], value: unknown): Tree {
  const [head, ...rest] = segs;
  if (head === undefined) return tree;
  if (rest.length === 0) return { ...tree, [head]: value };
  const child = tree[head];
  return { ...tree, [head]: setIn(isPlainObject(child) ? child : {}, rest, value) };
}

/** Renders a scalar the way it appears inside a string: numbers plainly, booleans as true/false. */
export function scalarText(v: string | number | boolean | null): string {
  return v === null ? 'null' : String(v);
}

/** Optimal-string-alignment distance: edits plus adjacent transpositions (`trian` -> `train` is 1). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i]!;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest candidate within a small edit distance (a third of the word, at least 1), if any. */
export function suggest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3));
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD && d <= limit) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
