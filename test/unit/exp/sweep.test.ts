import { describe, expect, it } from 'vitest';
import { expandSweep, splitSweepValues, MAX_SWEEP } from '../../../src/exp/sweep.js';

describe('splitSweepValues', () => {
  it('splits at top-level commas only', () => {
    expect(splitSweepValues('0.01,0.1, 1')).toEqual(['0.01', '0.1', '1']);
    expect(splitSweepValues('[1,2],[3]')).toEqual(['[1,2]', '[3]']);
    expect(splitSweepValues('{a: 1, b: 2}')).toEqual(['{a: 1, b: 2}']);
    expect(splitSweepValues(`"a,b",'c,d',e`)).toEqual(['"a,b"', "'c,d'", 'e']);
    expect(splitSweepValues('"x\\",y",z')).toEqual(['"x\\",y"', 'z']);
    expect(splitSweepValues('')).toEqual(['']);
  });

  it('refuses unbalanced brackets and quotes', () => {
    expect(splitSweepValues('[1,2')).toBeUndefined();
    expect(splitSweepValues('1]')).toBeUndefined();
    expect(splitSweepValues('"open')).toBeUndefined();
  });
});

describe('expandSweep', () => {
  it('gives the cartesian product, in the order of the flags', () => {
    const r = expandSweep(['train.lr=0.01,0.1', 'model=logreg,cnn', 'seed=1']);
    expect(r).toEqual({
      ok: true,
      value: [
        ['train.lr=0.01', 'model=logreg', 'seed=1'],
        ['train.lr=0.01', 'model=cnn', 'seed=1'],
        ['train.lr=0.1', 'model=logreg', 'seed=1'],
        ['train.lr=0.1', 'model=cnn', 'seed=1'],
      ],
    });
  });

  it('no overrides is one experiment; repeated values count once', () => {
    expect(expandSweep([])).toEqual({ ok: true, value: [[]] });
    expect(expandSweep(['a=1,1,2'])).toEqual({ ok: true, value: [['a=1'], ['a=2']] });
  });

  it('collects every malformed flag', () => {
    const r = expandSweep(['nokey', '=3', 'a=1,,2', 'b=[1', 'ok=1']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((d) => d.message)).toEqual([
      "invalid -S override 'nokey': expected KEY=VALUE[,VALUE...] or GROUP=OPTION[,OPTION...]",
      "invalid -S override '=3': expected KEY=VALUE[,VALUE...] or GROUP=OPTION[,OPTION...]",
      "invalid -S override 'a=1,,2': an empty value in the list",
      "invalid -S override 'b=[1': unbalanced brackets or quotes",
    ]);
    expect(r.error.every((d) => d.code === 'bad-override' && d.hint !== undefined)).toBe(true);
  });

  it('refuses a sweep too big to be meant', () => {
    const values = Array.from({ length: 40 }, (_, i) => i).join(',');
    const r = expandSweep([`a=${values}`, `b=${values}`]);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]!.message).toBe(`the -S values make 1600 experiments (more than ${MAX_SWEEP})`);
  });
});
