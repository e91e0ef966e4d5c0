import { describe, expect, it } from 'vitest';
import { diffFlat, flatten, parseMetricsText } from '../../../src/metrics/diff.js';

describe('flatten', () => {
  it('flattens nested maps with dots and lists by index, keeping only scalars', () => {
    const flat = flatten({ acc: 0.9, loss: { train: 0.4, val: [1, 2] }, name: 'x', ok: true, none: null, deep: { a: { b: { c: 3 } } } });
    expect([...flat]).toEqual([
      ['acc', 0.9],
      ['loss.train', 0.4],
      ['loss.val.0', 1],
      ['loss.val.1', 2],
      ['name', 'x'],
      ['ok', true],
      ['deep.a.b.c', 3],
    ]);
  });

  it('gives nothing for a bare scalar or null', () => {
    expect(flatten(3).size).toBe(0);
    expect(flatten(null).size).toBe(0);
  });
});

describe('parseMetricsText', () => {
  it('reads JSON and YAML by extension, and guesses otherwise', () => {
    expect(parseMetricsText('{"a": 1}', 'm.json')).toEqual({ a: 1 });
    expect(parseMetricsText('a: 1\nb: [2]\n', 'm.yaml')).toEqual({ a: 1, b: [2] });
    expect(parseMetricsText('a: 1\n', 'm.yml')).toEqual({ a: 1 });
    expect(parseMetricsText('a: 1\n', 'metrics.txt')).toEqual({ a: 1 });
    expect(() => parseMetricsText('{bad', 'm.json')).toThrow();
  });
});

describe('diffFlat', () => {
  const a = new Map<string, number | string | boolean>([
    ['acc', 0.8],
    ['name', 'a'],
    ['same', 1],
    ['gone', 2],
  ]);
  const b = new Map<string, number | string | boolean>([
    ['acc', 0.9],
    ['name', 'b'],
    ['same', 1],
    ['new', true],
  ]);

  it('lists changed and one-sided keys, with a clean numeric diff', () => {
    expect(diffFlat(a, b, false)).toEqual([
      { key: 'acc', old: 0.8, new: 0.9, diff: 0.1 },
      { key: 'name', old: 'a', new: 'b', diff: undefined },
      { key: 'gone', old: 2, new: undefined, diff: undefined },
      { key: 'new', old: undefined, new: true, diff: undefined },
    ]);
  });

  it('includes unchanged keys with all', () => {
    expect(diffFlat(a, b, true).map((r) => r.key)).toEqual(['acc', 'name', 'same', 'gone', 'new']);
    expect(diffFlat(a, b, true)[2]).toEqual({ key: 'same', old: 1, new: 1, diff: 0 });
  });

  it('treats a missing side as all keys missing', () => {
    expect(diffFlat(undefined, new Map([['x', 1]]), false)).toEqual([{ key: 'x', old: undefined, new: 1, diff: undefined }]);
  });
});
