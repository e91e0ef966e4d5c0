/** parseYamlText's guard against alias bombs, whichever way the aliases are written. */
import { describe, expect, it } from 'vitest';
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
