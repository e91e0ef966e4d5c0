import { describe, expect, it } from 'vitest';
import { checkExpName, decodeMessage, encodeMessage, expRef, generateExpName, namesFor, queueRef, type ExpMeta } from '../../../src/exp/ref.js';

describe('experiment names and refs', () => {
  it('maps names to refs under refs/exps/ and the queue', () => {
    expect(expRef('best')).toBe('refs/exps/best');
    expect(queueRef('best')).toBe('refs/exps/queue/best');
  });

  it('accepts ref-safe names and says why others are refused', () => {
    for (const ok of ['best', 'lr-0.1', 'A_1', '7']) expect(checkExpName(ok)).toBeUndefined();
    for (const bad of ['', '-x', 'a/b', 'a..b', 'x.lock', 'x.', 'sp ace', 'a~1']) expect(checkExpName(bad)).toMatch(/is not a valid experiment name/);
    expect(checkExpName('queue')).toMatch(/reserved/);
    expect(checkExpName('x'.repeat(101))).toMatch(/too long/);
  });

  it('generates the same name for the same snapshot and overrides, another for others', () => {
    const a = generateExpName('tree1', ['lr=0.1']);
    expect(a).toMatch(/^exp-[0-9a-f]{7}$/);
    expect(generateExpName('tree1', ['lr=0.1'])).toBe(a);
    expect(generateExpName('tree1', ['lr=0.2'])).not.toBe(a);
    expect(generateExpName('tree2', ['lr=0.1'])).not.toBe(a);
    // The separator keeps ['a', 'b'] and ['a\0b'] ... and ['ab'] apart.
    expect(generateExpName('t', ['a', 'b'])).not.toBe(generateExpName('t', ['ab']));
  });

  it('numbers the experiments of a named sweep', () => {
    expect(namesFor('run', 1, () => 'g')).toEqual(['run']);
    expect(namesFor('run', 3, () => 'g')).toEqual(['run-1', 'run-2', 'run-3']);
    expect(namesFor(undefined, 2, (i) => `g${i}`)).toEqual(['g0', 'g1']);
  });
});

describe('experiment metadata in the commit message', () => {
  const meta: ExpMeta = {
    version: 1,
    name: 'best',
    base: 'a'.repeat(40),
    overrides: ['train.lr=0.5', 'model=cnn'],
    targets: [],
    status: 'succeeded',
    created: '2026-01-02T03:04:05.000Z',
    duration_s: 1.5,
    cost: { cpu_s: 2.25, gpu_s: 0, stage_runs: 1 },
    stages: { succeeded: 1, restored: 1 },
  };

  it('round-trips, with a readable subject line', () => {
    const msg = encodeMessage(meta);
    expect(msg.split('\n')[0]).toBe('mlbuild exp best (succeeded): train.lr=0.5 model=cnn');
    expect(decodeMessage(msg)).toEqual(meta);
  });

  it('ignores messages that are not ours or are damaged', () => {
    expect(decodeMessage('a normal commit\n')).toBeUndefined();
    expect(decodeMessage('x\n\nmlbuild-exp: {broken\n')).toBeUndefined();
    expect(decodeMessage('x\n\nmlbuild-exp: {"version":2,"name":"a","base":"b"}\n')).toBeUndefined();
  });
});
