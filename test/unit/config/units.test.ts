/** Small pure helpers: sizes, durations, suggestions, deep merge, locating. */
import { describe, expect, test } from 'vitest';
import { parseDocument } from 'yaml';
import { locAt } from '../../../src/config/pipeline-file.js';
import { locate } from '../../../src/report/diagnostic.js';
import { parseDuration, parseMemory } from '../../../src/config/schema.js';
import { deepMerge } from '../../../src/config/tree.js';
import { suggest } from '../../../src/util/suggest.js';

describe('parseMemory (MiB)', () => {
  test.each([
    ['4G', 4096],
    ['512M', 512],
    ['1.5GB', 1536],
    ['2GiB', 2048],
    ['1T', 1048576],
    ['100K', 1],
    ['64', 64],
    [256, 256],
  ] as const)('%s -> %d', (input, mb) => expect(parseMemory(input)).toBe(mb));

  test.each(['lots', '4X', '', -1, true, null])('%s is not a size', (input) => expect(parseMemory(input)).toBeUndefined());
});

describe('parseDuration (seconds)', () => {
  test.each([
    [90, 90],
    ['90', 90],
    ['90s', 90],
    ['10m', 600],
    ['2h', 7200],
    ['1h30m', 5400],
    ['1d', 86400],
    [0.5, 0.5],
  ] as const)('%s -> %d', (input, s) => expect(parseDuration(input)).toBe(s));

  test.each(['soon', '10x', '1h30', 0, -5, '', false])('%s is not a duration', (input) => expect(parseDuration(input)).toBeUndefined());
});

describe('suggest', () => {
  const keys = ['cmd', 'deps', 'outs', 'params', 'always_changed'];
  test.each([
    ['cmdd', 'cmd'],
    ['dep', 'deps'],
    ['otus', 'outs'],
    ['param', 'params'],
    ['always_change', 'always_changed'],
    ['CMD', 'cmd'],
  ])('%s -> %s', (word, near) => expect(suggest(word, keys)).toBe(near));

  test('nothing close', () => expect(suggest('resources', keys)).toBeUndefined());
});

test('deepMerge merges maps and replaces everything else without mutating', () => {
  const a = { x: { y: 1, z: [1] }, k: 1 };
  const b = { x: { z: [2], w: 3 }, k: { n: 1 } };
  expect(deepMerge(a, b)).toEqual({ x: { y: 1, z: [2], w: 3 }, k: { n: 1 } });
  expect(a).toEqual({ x: { y: 1, z: [1] }, k: 1 });
});

test('locAt gives what locate() gives, for every offset and a few span lengths', () => {
  const text = 'stages:\r\n  a:\n    cmd: x\n\n  b: {cmd: y}\nlast';
  const file = { abs: '/p.yaml', display: 'p.yaml', text, doc: parseDocument(text), lineStarts: [0] };
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) file.lineStarts.push(i + 1);
  for (let off = 0; off <= text.length; off++) {
    for (const len of [0, 1, 3, 40]) {
      expect(locAt(file, [off, off + len])).toEqual(locate('p.yaml', text, off, len > 0 ? off + len : undefined));
    }
  }
});
