/**
 * JSON for state files whose values may hold the non-finite numbers YAML params can express
 * (.inf, -.inf, .nan), which plain JSON turns into null. They are written as
 * `{"$mlbuild-number":"Infinity"}` and read back as numbers. Reading uses a reviver only when
 * the text contains the tag, so the common case stays a plain (native, fast) JSON.parse.
 */

const NUM_TAG = '$mlbuild-number';

function replacer(_k: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isFinite(v) ? { [NUM_TAG]: String(v) } : v;
}

function reviver(_k: string, v: unknown): unknown {
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const tag = (v as Record<string, unknown>)[NUM_TAG];
    if (typeof tag === 'string' && Object.keys(v).length === 1) return Number(tag);
  }
  return v;
}

/**
 * A non-finite number comes out of a plain JSON.stringify as `null`, so output without `null` is
 * already right; only then is the replacer (a call per value, ~5x slower: 1000 journal lines cost
 * ~15 ms with it) needed.
 */
export function stringifyTagged(v: unknown): string {
  const plain = JSON.stringify(v);
  return plain.includes('null') ? JSON.stringify(v, replacer) : plain;
}

/** JSON.parse that restores tagged numbers; throws SyntaxError like JSON.parse. */
export function parseTagged(text: string): unknown {
  return text.includes(NUM_TAG) ? JSON.parse(text, reviver) : JSON.parse(text);
}
