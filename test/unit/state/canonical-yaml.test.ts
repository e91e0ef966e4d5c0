import { describe, expect, it } from 'vitest';
import { parse as yamlParse } from 'yaml';
import {
  FAIL,
  emitDocument,
  isPlainSafe,
  parseCanonicalYaml,
  yamlScalar,
} from '../../../src/state/canonical-yaml.js';

const TRICKY = [
  '', ' ', 'x ', ' x', 'a  b', 'true', 'True', 'TRUE', 'false', 'yes', 'No', 'on', 'OFF', 'y', 'n', 'null', 'Null', '~',
  '1', '-1', '+1', '00', '09', '0x1f', '0o17', '0b1010', '1e5', '1E5', '1e', 'e1', '.5', '1.', '0.', '1_000', '1:20',
  '190:20:30.15', '2001-12-14', '2001-12-14t21:59:43.10-05:00', '.inf', '-.Inf', '.NaN', 'nan', 'NaN', 'Infinity',
  '12345678e1234567', '1234567890123456', '0123456789abcdef', 'abcdef0123456789.dir', '-', '- a', '--x', 'a: b',
  'a:b', 'a:', ':a', 'a #b', 'a#b', '#x', '? x', '?x', '<<', '=', '@x', 'a@b', '`x', '%x', '!x', '&x', '*x', '|', '>',
  '---', '...', '[a]', '{a}', 'a, b', 'a[0]', "it's", "'", "''", '"', 'a"b', 'a\\b', '\\', 'é', 'naïve/path', '😀',
  'a\nb', 'a\n', '\n', '\t', 'a\tb', '\r\n', '\x00', '\x7f', '\x85', '\u2028', '\ufeff', '\ud800', 'x\udc00y',
  'node stages/prepare.js --in data/raw --out data/prepared', 'python train.py > log.txt && echo done',
  'echo ${x} | tee out', 'data/splits/fold-0', 'train@0-logreg', '$HOME/x', '(a)', './x', '.gitignore', '/abs/path', '.', '..', '.e5', 'E5', '_1', '1__', '0_1', '0:0', '-.5e', 'x.y.z',
];

function sameValue(a: unknown, b: unknown): boolean {
  return Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b);
}

function roundTrip(v: unknown): void {
  const doc = { k: v, list: [v, [v], { k: v }], nested: { a: { b: v } } };
  const text = emitDocument(doc as Record<string, unknown>);
  const viaYaml = yamlParse(text) as Record<string, unknown>;
  const viaFast = parseCanonicalYaml(text);
  expect(viaFast, text).not.toBe(FAIL);
  for (const got of [viaYaml, viaFast as Record<string, unknown>]) {
    expect(sameValue(got.k, v), `${JSON.stringify(v)} in\n${text}`).toBe(true);
    expect(JSON.stringify(got), text).toBe(JSON.stringify(doc));
  }
}

describe('canonical YAML', () => {
  it.each(TRICKY.map((s) => [s]))('round-trips the string %j through yaml and the fast reader', (s) => {
    roundTrip(s);
    if (typeof s === 'string') {
      // As a key, too.
      const text = emitDocument({ [s]: 1 });
      expect(Object.keys(yamlParse(text) as object)).toEqual([s]);
      expect(Object.keys(parseCanonicalYaml(text) as object)).toEqual([s]);
    }
  });

  it('plain scalars mean the same string in YAML 1.1 (PyYAML/DVC readers)', () => {
    for (const s of TRICKY) {
      if (!isPlainSafe(s)) continue;
      expect(yamlParse(`k: ${s}\n`, { version: '1.1' }).k, s).toBe(s);
      expect(yamlParse(`k: ${s}\n`).k, s).toBe(s);
    }
  });

  it('spells scalars canonically', () => {
    expect(yamlScalar('data/raw')).toBe('data/raw');
    expect(yamlScalar('0123456789abcdef')).toBe('0123456789abcdef');
    expect(yamlScalar('1234567890123456')).toBe("'1234567890123456'");
    expect(yamlScalar('1.0')).toBe("'1.0'");
    expect(yamlScalar("it's: x")).toBe("'it''s: x'");
    expect(yamlScalar('a\tb\n')).toBe('"a\\u0009b\\u000a"');
    expect(yamlScalar('é')).toBe("'é'");
  });

  it('round-trips numbers, booleans, null and empty collections', () => {
    for (const v of [0, 7, -3, 1.5, 0.1 + 0.2, 1e21, 1e-7, -1e-300, 2 ** 53, NaN, Infinity, -Infinity, true, false, null, [], {}]) {
      roundTrip(v);
    }
  });

  it('round-trips random nested values', () => {
    let seed = 12345;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const scalar = (): unknown => {
      const k = rnd(5);
      return k === 0 ? TRICKY[rnd(TRICKY.length)] : k === 1 ? rnd(1000) - 500 : k === 2 ? rnd(1000) / 7 : k === 3 ? rnd(2) === 0 : null;
    };
    const value = (depth: number): unknown => {
      if (depth === 0 || rnd(3) === 0) return scalar();
      if (rnd(2) === 0) return Array.from({ length: rnd(4) }, () => value(depth - 1));
      const o: Record<string, unknown> = {};
      for (let i = rnd(4); i > 0; i--) o[String(TRICKY[rnd(TRICKY.length)])] = value(depth - 1);
      return o;
    };
    for (let i = 0; i < 300; i++) roundTrip(value(4));
  });

  it('emits block style with sequences at the parent key indent', () => {
    expect(emitDocument({ a: [1, { b: 2, c: [3, [4, 5]] }, []], d: { e: {} }, f: 'x' })).toBe(
      'a:\n- 1\n- b: 2\n  c:\n  - 3\n  - - 4\n    - 5\n- []\nd:\n  e: {}\nf: x\n',
    );
  });

  it('the fast reader rejects anything the emitter would not write', () => {
    const bad = [
      'a: 1', // no trailing newline
      'a: 1\r\n',
      '# comment\na: 1\n',
      'a: 1 # comment\n',
      'a: 1\n\nb: 2\n',
      'a:  1\n',
      'a: 1 \n',
      'a: [1, 2]\n',
      'a: {b: 1}\n',
      'a: &x 1\nb: *x\n',
      'a: |\n  text\n',
      'a: 1\na: 2\n',
      '123: x\n',
      'a: 1.0\n',
      'a: yes\n',
      'a: "plain"\n',
      "a: 'plain'\n",
      'a: 0x1f\n',
      'a:\n    b: 1\n',
      'a:\n  - 1\n',
      'a:\n- 1\n  - 2\n',
      'a:\tb\n',
      'a:\n',
      '---\na: 1\n',
    ];
    for (const t of bad) expect(parseCanonicalYaml(t), JSON.stringify(t)).toBe(FAIL);
  });
});
