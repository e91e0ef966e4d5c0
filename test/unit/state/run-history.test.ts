/**
 * RunHistory: `runs.jsonl` lines are buffered and appended in batches (by age, by count, and at
 * save()), so a 1000-stage run does not open the file 1000 times; durations.json is written once.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RunHistory, type RunRecord } from '../../../src/state/run-history.js';
import { makeTmp, rmTmp } from '../hashing/tmp.js';

let mlcache: string;
beforeEach(() => {
  mlcache = path.join(makeTmp(), '.mlcache');
});
afterEach(() => rmTmp(path.dirname(mlcache)));

const rec = (stage: string, wall: number, ok = true): RunRecord => ({
  stage, started: '2026-12-06T00:00:00.000Z', wall_s: wall, cpu_s: null, peak_rss_mb: null, gpu_s: 0, gpus: [], exit_code: ok ? 0 : 1, signal: null, ok,
});
const lines = (): RunRecord[] => {
  const f = path.join(mlcache, 'runs.jsonl');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RunRecord) : [];
};

describe('RunHistory', () => {
  it('buffers lines and writes them in one append at save(), with the durations of the successes', () => {
    const h = RunHistory.load(mlcache);
    const appends = vi.spyOn(fs, 'appendFileSync');
    try {
      h.record(rec('a', 1.2344), 0);
      h.record(rec('b', 2, false), 10);
      h.record(rec('c', 0.5), 20);
      expect(appends).not.toHaveBeenCalled();
      expect(lines()).toEqual([]);
      h.save();
      expect(appends).toHaveBeenCalledTimes(1);
    } finally {
      appends.mockRestore();
    }
    expect(lines().map((r) => [r.stage, r.ok])).toEqual([['a', true], ['b', false], ['c', true]]);
    const again = RunHistory.load(mlcache);
    expect([again.expectedSeconds('a'), again.expectedSeconds('b'), again.expectedSeconds('c')]).toEqual([1.234, undefined, 0.5]);
  });

  it('writes a batch a second after its first line even when no other stage finishes (a long stage runs next)', () => {
    vi.useFakeTimers();
    try {
      const h = RunHistory.load(mlcache);
      h.record(rec('a', 1), 0);
      vi.advanceTimersByTime(999);
      expect(lines()).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(lines().map((r) => r.stage)).toEqual(['a']);
      h.save();
      expect(lines()).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it('flushes a batch once its first line is a second old, or once it holds 256 lines', () => {
    const h = RunHistory.load(mlcache);
    h.record(rec('a', 1), 0);
    h.record(rec('b', 1), 999);
    expect(lines()).toEqual([]);
    h.record(rec('c', 1), 1000); // the batch started at 0: a second old
    expect(lines().map((r) => r.stage)).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < 255; i++) h.record(rec(`s${i}`, 1), 2000);
    expect(lines()).toHaveLength(3);
    h.record(rec('last', 1), 2000);
    expect(lines()).toHaveLength(3 + 256);
    h.save(); // nothing left over: no duplicate lines
    expect(lines()).toHaveLength(3 + 256);
  });
});
