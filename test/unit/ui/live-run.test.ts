/**
 * LiveRun and RunLog against a real .mlcache folder written the way repro writes it (the project
 * lock with a live pid, the journal through its own writer, runs.jsonl lines, stage logs): which
 * stages run, which finished, the log text with its byte offsets, an interrupted run, torn lines.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/state/journal.js';
import { processStartTime } from '../../../src/state/project-lock.js';
import { stageName } from '../../../src/util/brand.js';
import { LiveRun, type LiveEvent } from '../../../src/ui/live-run.js';
import { RunLog } from '../../../src/ui/run-log.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-live-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const record = (stage: string, ok: boolean, started = new Date().toISOString()) =>
  JSON.stringify({ stage, started, wall_s: 1.5, cpu_s: null, peak_rss_mb: null, gpu_s: 0, gpus: [], exit_code: ok ? 0 : 3, signal: null, ok }) + '\n';

describe('RunLog', () => {
  it('reads appended records, keeps a torn last line for the next poll, and skips a corrupt one', () => {
    const file = path.join(dir, 'runs.jsonl');
    fs.writeFileSync(file, record('a', true) + '{not json}\n' + record('b', false).slice(0, 20));
    const log = new RunLog(dir);
    expect(log.poll().map((r) => r.stage)).toEqual(['a']);
    fs.appendFileSync(file, record('b', false).slice(20));
    expect(log.poll().map((r) => [r.stage, r.ok])).toEqual([['b', false]]);
    expect(log.last('b')?.exit_code).toBe(3);
    expect(log.poll()).toEqual([]);
  });
});

describe('LiveRun', () => {
  it('follows a run: lock taken, a stage running with its log, finished, lock released', () => {
    fs.mkdirSync(path.join(dir, 'state'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'state', 'durations.json'), JSON.stringify({ train: 12.5 }));
    const runs = new RunLog(dir);
    const live = new LiveRun(dir, runs);
    const events: LiveEvent[] = [];
    live.subscribe((e) => events.push(e));
    expect(live.snapshot).toMatchObject({ active: false, running: [], finished: [] });

    // repro takes the lock (an owner token `pid start-time nonce`: ours, alive) and marks a stage running in the journal.
    fs.writeFileSync(path.join(dir, 'lock'), `${process.pid} ${processStartTime('self') ?? '-'} 0123456789ab`);
    const journal = Journal.openSync(dir);
    journal.markRunningSync(stageName('train'));
    fs.mkdirSync(path.join(dir, 'logs'));
    fs.writeFileSync(path.join(dir, 'logs', 'train.log'), 'epoch 1 ✓\n');
    live.poll();
    expect(live.snapshot).toMatchObject({ active: true, pid: process.pid, running: [{ stage: 'train', expected_s: 12.5 }] });
    expect(events.filter((e) => e.type === 'log')).toEqual([{ type: 'log', stage: 'train', text: 'epoch 1 ✓\n', end: Buffer.byteLength('epoch 1 ✓\n') }]);

    fs.appendFileSync(path.join(dir, 'logs', 'train.log'), 'epoch 2\n');
    events.length = 0;
    live.poll();
    // Only the new output; the snapshot did not change, so no `live` event.
    expect(events).toEqual([{ type: 'log', stage: 'train', text: 'epoch 2\n', end: Buffer.byteLength('epoch 1 ✓\nepoch 2\n') }]);

    fs.appendFileSync(path.join(dir, 'runs.jsonl'), record('train', true));
    journal.markDoneSync(stageName('train'));
    live.poll();
    expect(live.snapshot).toMatchObject({ active: true, running: [], finished: [{ stage: 'train', ok: true, wall_s: 1.5 }] });

    fs.rmSync(path.join(dir, 'lock'));
    live.poll();
    expect(live.snapshot).toMatchObject({ active: false, pid: null, running: [], interrupted: [], finished: [{ stage: 'train' }] });
    journal.close();
  });

  it('a lock whose owner is dead is no run; stages left running by it are interrupted', () => {
    const journal = Journal.openSync(dir);
    journal.markRunningSync(stageName('prepare'));
    journal.close();
    // A pid that cannot be alive (above the kernel's pid_max).
    fs.writeFileSync(path.join(dir, 'lock'), '99999999');
    const live = new LiveRun(dir, new RunLog(dir));
    expect(live.snapshot).toMatchObject({ active: false, running: [], interrupted: ['prepare'] });
  });

  it('a lock whose pid now belongs to another process (another start time) is no run', () => {
    fs.writeFileSync(path.join(dir, 'lock'), `${process.pid} 1 0123456789ab`);
    const live = new LiveRun(dir, new RunLog(dir));
    expect(live.snapshot).toMatchObject({ active: false });
  });
});
