/** parseYamlText's guard against alias bombs, whichever way the aliases are written. */
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { MAX_ALIASES, parseYamlText } from '../../../src/config/pipeline-file.js';

const parse = (text: string) => parseYamlText('/p/params.yaml', 'params.yaml', text, false);
const codes = (text: string): string[] => {
  const r = parse(text);
  return r.ok ? [] : r.error.map((d) => d.code);
};
const n = MAX_ALIASES + 1;

describe('alias limit', () => {
  it('counts aliases in block sequences, block maps, flow sequences without spaces, and JSON-style flow maps', () => {
    expect(codes(`a: &a [1]\nb:\n${'  - *a\n'.repeat(n)}`)).toEqual(['yaml-alias-limit']);
    expect(codes(`a: &a [1]\nb:\n${Array.from({ length: n }, (_, i) => `  k${i}: *a\n`).join('')}`)).toEqual(['yaml-alias-limit']);
    expect(codes(`a: &a [1]\nb: [${Array.from({ length: n }, () => '*a').join(',')}]\n`)).toEqual(['yaml-alias-limit']);
    expect(codes(`a: &a [1]\nb: {${Array.from({ length: n }, (_, i) => `"k${i}":*a`).join(',')}}\n`)).toEqual(['yaml-alias-limit']);
    expect(codes(`&a [1]`)).toEqual([]);
  });

  it('a few aliases, and globs in commands, are fine', () => {
    expect(codes('a: &a [1]\nb: *a\nc: [*a, *a]\n')).toEqual([]);
    const r = parse('stages:\n  s:\n    cmd: cksum in/* more/*.txt > out/x\n');
    expect(r.ok && r.value.doc.toJS()).toEqual({ stages: { s: { cmd: 'cksum in/* more/*.txt > out/x' } } });
  });
});

describe('duplicate keys', () => {
  // The library's own (quadratic) check is the oracle: same errors, same places, same order.
  const oracle = (text: string): string[] =>
    parseDocument(text, { uniqueKeys: true }).errors.map((e) => `${e.message.split(' at line ')[0]} @${e.linePos?.[0].line}:${e.linePos?.[0].col}`);
  const ours = (text: string): string[] => {
    const r = parse(text);
    return r.ok ? [] : r.error.map((d) => `${d.message.replace(/^invalid YAML: /, '')} @${d.location?.line}:${d.location?.col}`);
  };
  const cases = [
    'a: 1\nb: 2\na: 3\n',
    'stages:\n  s:\n    cmd: a\n    deps: [x]\n    cmd: b\n  t:\n    cmd: c\n  s:\n    cmd: d\n',
    'm: {a: 1, b: 2, a: 3}\nn: [{k: 1, k: 2}, {k: 3}]\n',
    '1: a\n"1": b\n? [x]\n: c\n? [x]\n: d\n',
    'a: &k 1\nb: *k\nc:\n  - x: 1\n    x: 2\n',
    'a: 1\na: 2\nb: [unclosed\n',
    'x: {a: 1, a: 2\n',
  ];
  it.each(cases)('%j', (text) => {
    expect(ours(text)).toEqual(oracle(text));
  });

  it('two empty keys: reported on the second one\'s line (the library points past it, at the value)', () => {
    expect(ours('? \n: a\n? \n: b\n')).toEqual(['Map keys must be unique @3:3']);
    expect(oracle('? \n: a\n? \n: b\n')).toEqual(['Map keys must be unique @4:1']);
  });

  it('a 5000-key map with one duplicate at the end', () => {
    const text = Array.from({ length: 5000 }, (_, i) => `k${i}: ${i}\n`).join('') + 'k17: again\n';
    expect(ours(text)).toEqual(['Map keys must be unique @5001:1']);
  });
});
