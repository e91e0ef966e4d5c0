/** The project lock's owner tokens, pid-reuse check and takeover, on a real temp dir and real processes. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireProjectLock, ownerAlive, parseToken, processStartTime, takeOver } from '../../../src/state/project-lock.js';
import { removeLeftovers, tempOwner } from '../../../src/state/leftovers.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-lock-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const deadPid = (): number => Number(spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim());

describe('owner tokens', () => {
  it('parse the new and the old (pid-only) format', () => {
    expect(parseToken('12 345 abcdef')).toEqual({ pid: 12, started: '345', nonce: 'abcdef' });
    expect(parseToken('12\n')).toEqual({ pid: 12, started: '-', nonce: '' });
    expect(parseToken('')).toBeUndefined();
    expect(parseToken('x 1 2')).toBeUndefined();
  });

  it('a live pid is the owner only with the recorded start time', () => {
    const mine = processStartTime('self');
    expect(mine).toMatch(/^\d+$/);
    expect(ownerAlive({ pid: process.pid, started: mine!, nonce: '' })).toBe(true);
    expect(ownerAlive({ pid: process.pid, started: '1', nonce: '' })).toBe(false);
    expect(ownerAlive({ pid: deadPid(), started: '-', nonce: '' })).toBe(false);
    // Old format: this process started before a lock written now, so it may own it; not one written a day before it started.
    expect(ownerAlive({ pid: process.pid, started: '-', nonce: '' }, Date.now())).toBe(true);
    expect(ownerAlive({ pid: process.pid, started: '-', nonce: '' }, Date.now() - 86_400_000 * 365 * 30)).toBe(false);
  });
});

describe('takeover', () => {
  it('removes a dead owner\'s lock only while it still holds the token that was judged dead', () => {
    const file = path.join(dir, 'lock');
    const stale = `${deadPid()} - 000000000000`;
    fs.writeFileSync(file, stale);
    // Waiter B saw `stale` and took over first; a fresh lock now stands where the stale one was.
    const fresh = `${process.pid} ${processStartTime('self')} 111111111111`;
    fs.rmSync(file);
    fs.writeFileSync(file, fresh);
    // Waiter A, late, acts on what it saw: the fresh lock must survive.
    expect(takeOver(file, stale)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(fresh);
    // With the stale token still in place, it goes.
    fs.writeFileSync(file, stale);
    expect(takeOver(file, stale)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(`${file}.takeover`)).toBe(false);
  });

  it('waits while another process holds the takeover guard', () => {
    const file = path.join(dir, 'lock');
    const stale = `${deadPid()} - 000000000000`;
    fs.writeFileSync(file, stale);
    fs.writeFileSync(`${file}.takeover`, `${process.pid} ${processStartTime('self')} 222222222222`);
    expect(takeOver(file, stale)).toBe(false);
    expect(fs.readFileSync(file, 'utf8')).toBe(stale);
  });

  it('acquire takes over a dead owner\'s lock and says so; release leaves another owner\'s lock alone', async () => {
    fs.writeFileSync(path.join(dir, 'lock'), `${deadPid()} - 000000000000`);
    const lock = await acquireProjectLock(dir, () => {
      throw new Error('must not wait for a dead owner');
    });
    expect(lock.tookOver).toBe(true);
    const token = fs.readFileSync(path.join(dir, 'lock'), 'utf8');
    expect(parseToken(token)!.pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(path.join(dir, 'lock'))).toBe(false);
    const again = await acquireProjectLock(dir, () => undefined);
    expect(again.tookOver).toBe(false);
    fs.writeFileSync(path.join(dir, 'lock'), 'someone else');
    again.release();
    expect(fs.readFileSync(path.join(dir, 'lock'), 'utf8')).toBe('someone else');
  });

  it('a run killed while creating the lock leaves lock.<pid>.tmp and no lock: the next acquire removes it', async () => {
    const dead = deadPid();
    fs.writeFileSync(path.join(dir, `lock.${dead}.tmp`), `${dead} - 000000000000`);
    fs.writeFileSync(path.join(dir, `lock.${process.pid}.tmp.keep`), 'not a temp name of ours');
    const lock = await acquireProjectLock(dir, () => undefined);
    expect(lock.tookOver).toBe(false);
    expect(fs.readdirSync(dir).sort()).toEqual(['lock', `lock.${process.pid}.tmp.keep`]);
    lock.release();
  });
});

describe('leftovers', () => {
  it('knows the temp names mlbuild writes', () => {
    expect(tempOwner('.mlbuild.lock.4242.0123456789ab.tmp')).toBe(4242);
    expect(tempOwner('0123456789abcd.tmp-4242-x1y2z3')).toBe(4242);
    expect(tempOwner('ab12.jsonl.tmp-4242')).toBe(4242);
    expect(tempOwner('lock.4242.tmp')).toBe(4242);
    expect(tempOwner('lock.takeover.4242.tmp')).toBe(4242);
    expect(tempOwner('mlbuild.lock')).toBeUndefined();
    expect(tempOwner('notes.tmp')).toBeUndefined();
  });

  it("removes dead processes' temp files and nothing else", () => {
    const dead = deadPid();
    const files = {
      root: [`.mlbuild.lock.${dead}.0123456789ab.tmp`, `.mlbuild.lock.${process.pid}.0123456789ab.tmp`, 'keep.tmp', 'data.csv'],
      obj: [`0123456789abcd.tmp-${dead}-abc`, '0123456789abcd'],
    };
    const mlcache = path.join(dir, '.mlcache');
    fs.mkdirSync(path.join(mlcache, 'objects', 'aa'), { recursive: true });
    for (const f of files.root) fs.writeFileSync(path.join(dir, f), '');
    for (const f of files.obj) fs.writeFileSync(path.join(mlcache, 'objects', 'aa', f), '');
    const removed = removeLeftovers(dir, mlcache).map((f) => path.basename(f)).sort();
    expect(removed).toEqual([files.root[0], files.obj[0]].sort());
    expect(fs.readdirSync(dir).sort()).toEqual(['.mlcache', files.root[1]!, 'data.csv', 'keep.tmp'].sort());
  });
});
