/**
 * Sweep expansion for `exp run`: each `-S KEY=V1,V2` lists values (or group options) to try, and
 * several `-S` combine as a cartesian product, one experiment per combination, in the order the
 * flags were given. Pure: it checks the shape of each flag only; whether a key or option exists is
 * for params loading to say.
 */
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';

/** More experiments than this from one command is almost certainly a typo. */
export const MAX_SWEEP = 1000;

/**
 * Splits a -S value at top-level commas: not inside [] / {} or quotes, so `-S a=[1,2]` stays one
 * YAML list. Returns undefined for unbalanced brackets or quotes.
 */
export function splitSweepValues(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '[' || c === '{') depth++;
    else if (c === ']' || c === '}') {
      if (--depth < 0) return undefined;
    } else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (quote || depth !== 0) return undefined;
  parts.push(text.slice(start).trim());
  return parts;
}

const bad = (raw: string, why: string): Diagnostic => ({
  severity: 'error',
  code: 'bad-override',
  message: `invalid -S override '${raw}': ${why}`,
  hint: 'write e.g. -S train.lr=0.01,0.1 (one experiment per value) or -S model=logreg,cnn (one per option)',
});

/** The override lists of every combination: `[['a=1','m=x'], ['a=1','m=y'], ...]`. */
export function expandSweep(overrides: readonly string[]): Result<string[][], Diagnostic[]> {
  const axes: string[][] = [];
  const problems: Diagnostic[] = [];
  for (const raw of overrides) {
    const eq = raw.indexOf('=');
    const key = eq === -1 ? '' : raw.slice(0, eq).trim();
    if (key === '') {
      problems.push(bad(raw, 'expected KEY=VALUE[,VALUE...] or GROUP=OPTION[,OPTION...]'));
      continue;
    }
    const values = splitSweepValues(raw.slice(eq + 1));
    if (!values) problems.push(bad(raw, 'unbalanced brackets or quotes'));
    else if (values.some((v) => v === '')) problems.push(bad(raw, 'an empty value in the list'));
    else axes.push([...new Set(values)].map((v) => `${key}=${v}`));
  }
  if (problems.length > 0) return err(problems);
  const count = axes.reduce((n, a) => n * a.length, 1);
  if (count > MAX_SWEEP) {
    return err([{ severity: 'error', code: 'sweep-too-big', message: `the -S values make ${count} experiments (more than ${MAX_SWEEP})`, hint: 'sweep fewer values at once' }]);
  }
  let combos: string[][] = [[]];
  for (const axis of axes) combos = combos.flatMap((c) => axis.map((v) => [...c, v]));
  return ok(combos);
}
