/**
 * Plain-data helpers for params and vars trees: key paths, lookup, deep merge, set ("did you
 * mean" lives in util/suggest.ts). Pure functions on JSON-like values;
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
