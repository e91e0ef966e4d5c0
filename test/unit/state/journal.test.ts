import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { JOURNAL_FILE, Journal } from '../../../src/state/journal.js';
import type { LockEntry } from '../../../src/state/lockfile.js';
import { contentHash, stageName } from '../../../src/util/brand.js';
import { makeTmp, rmTmp } from '../hashing/tmp.js';

let mlcache: string;
let file: string;
beforeEach(() => {
  mlcache = path.join(makeTmp(), '.mlcache');
  file = path.join(mlcache, JOURNAL_FILE);
});
afterEach(() => rmTmp(path.dirname(mlcache)));

const entry = (n: number): LockEntry => ({
  cmd: `node stages/s.js ${n}`,
  deps: [{ path: `data/in${n}`, hash: contentHash('0123456789abcdef.dir'), size: n, nfiles: 1 }],
  params: { 'a.b': n, weird: [Infinity, -Infinity, NaN, null, { x: 'y' }] },
  outs: [{ path: `out/${n}`, hash: contentHash('fedcba9876543210'), size: 10 }],
});
const A = stageName('a');
const B = stageName('b@1');
const C = stageName('c');

describe('Journal', () => {
  it('opening writes nothing; the first record creates the file with a version header', async () => {
    const j = await Journal.open(mlcache);
    expect(j.pendingEntries().size).toBe(0);
    expect(j.interrupted()).toEqual([]);
    await j.clear();
    expect(fs.existsSync(mlcache)).toBe(false); // read-only use (status) leaves no trace
    await j.markRunning(A);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"mlbuild-journal":1}\n{"op":"run","stage":"a"}\n');
    j.close();
  });

  it('replays successes and reports interrupted stages after a simulated crash', async () => {
    const j = await Journal.open(mlcache);
    await j.markRunning(A);
    await j.appendSuccess(A, entry(1));
    await j.markRunning(B);
    await j.markRunning(C);
    await j.markDone(C); // failed: finished, no entry
    // crash: no clear(), no close()

    const j2 = await Journal.open(mlcache);
    expect([...j2.pendingEntries()]).toEqual([[A, entry(1)]]);
    expect(j2.interrupted()).toEqual([B]);
    // Non-finite numbers survive the JSON round trip.
    expect(j2.pendingEntries().get(A)!.params.weird).toEqual([Infinity, -Infinity, NaN, null, { x: 'y' }]);
    j.close();
    j2.close();
  });

  it('a later success for the same stage wins', async () => {
    const j = await Journal.open(mlcache);
    await j.appendSuccess(A, entry(1));
    await j.appendSuccess(A, entry(2));
    j.close();
    const j2 = await Journal.open(mlcache);
    expect(j2.pendingEntries().get(A)).toEqual(entry(2));
    j2.close();
  });

  it('ignores a torn last line and appends after it on a fresh line', async () => {
    const j = await Journal.open(mlcache);
    await j.appendSuccess(A, entry(1));
    j.close();
    const full = JSON.stringify({ op: 'ok', stage: 'b@1', entry: entry(2) });
    fs.appendFileSync(file, full.slice(0, 40)); // crash mid-write

    const j2 = await Journal.open(mlcache);
    expect([...j2.pendingEntries().keys()]).toEqual([A]);
    expect(fs.readFileSync(file, 'utf8').endsWith('\n')).toBe(false); // reading alone cuts nothing
    await j2.markRunning(C);
    j2.close();
    const j3 = await Journal.open(mlcache);
    expect([...j3.pendingEntries().keys()]).toEqual([A]);
    expect(j3.interrupted()).toEqual([C]);
    expect(fs.readFileSync(file, 'utf8').split('\n').every((l) => l === '' || JSON.parse(l))).toBe(true);
    j3.close();
  });

  it('clear() drops replayed entries but keeps unresolved running markers', async () => {
    const j = await Journal.open(mlcache);
    await j.markRunning(A);
    await j.markRunning(B);
    await j.appendSuccess(C, entry(3));
    j.close();

    const j2 = await Journal.open(mlcache);
    expect(j2.interrupted()).toEqual([A, B]);
    await j2.clear(); // the caller has folded C into the lockfile
    expect(j2.pendingEntries().size).toBe(0);
    expect(j2.interrupted()).toEqual([A, B]);
    await j2.appendSuccess(A, entry(1)); // A reran and succeeded
    j2.close();

    const j3 = await Journal.open(mlcache);
    expect(j3.interrupted()).toEqual([B]);
    expect([...j3.pendingEntries().keys()]).toEqual([A]);
    await j3.markDone(B);
    await j3.clear();
    j3.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('{"mlbuild-journal":1}\n');
    expect(fs.readdirSync(mlcache)).toEqual([JOURNAL_FILE]); // no temp files
  });

  it('a foreign or corrupt file is replaced by a fresh journal', async () => {
    fs.mkdirSync(mlcache, { recursive: true });
    fs.writeFileSync(file, 'garbage\n{"op":"ok"}\n');
    const j = await Journal.open(mlcache);
    expect(j.pendingEntries().size).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('garbage\n{"op":"ok"}\n'); // untouched until a write
    await j.markDone(A);
    j.close();
    expect(fs.readFileSync(file, 'utf8')).toBe('{"mlbuild-journal":1}\n{"op":"done","stage":"a"}\n');
  });

  it('appends one line per event (no rewrite), also with fsync on', async () => {
    const j = await Journal.open(mlcache, { fsync: true });
    for (let i = 0; i < 50; i++) {
      await j.markRunning(stageName(`s${i}`));
      await j.appendSuccess(stageName(`s${i}`), entry(i));
    }
    j.close();
    expect(fs.readFileSync(file, 'utf8').split('\n').length).toBe(1 + 100 + 1);
    const j2 = await Journal.open(mlcache);
    expect(j2.pendingEntries().size).toBe(50);
    expect(j2.interrupted()).toEqual([]);
    j2.close();
  });

  it('defers ok lines to the end of the event-loop turn: a kill before then leaves the stage interrupted, never recorded', async () => {
    const j = await Journal.open(mlcache);
    await j.markRunning(A);
    await j.appendSuccess(A, entry(1));
    // SIGKILL now: memory is lost, the file is what it holds. A's `run` marker is there, its `ok` is not.
    const killed = await Journal.open(mlcache);
    expect(killed.pendingEntries().size).toBe(0);
    expect(killed.interrupted()).toEqual([A]);
    // One turn later the batch is written.
    await new Promise((r) => setImmediate(r));
    const later = await Journal.open(mlcache);
    expect([...later.pendingEntries()]).toEqual([[A, entry(1)]]);
    expect(later.interrupted()).toEqual([]);
    j.close();
  });

  it('writes deferred ok lines together with the next run marker (one write), before that stage touches its outs', async () => {
    const j = await Journal.open(mlcache);
    await j.markRunning(A);
    await j.markRunning(B);
    const writes = vi.spyOn(fs, 'writeSync');
    try {
      await j.appendSuccess(A, entry(1));
      await j.appendSuccess(B, entry(2));
      expect(writes).not.toHaveBeenCalled();
      await j.markRunning(C);
      expect(writes).toHaveBeenCalledTimes(1);
    } finally {
      writes.mockRestore();
    }
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { op?: string; stage?: string });
    expect(lines.slice(1).map((l) => `${l.op} ${l.stage}`)).toEqual(['run a', 'run b@1', 'ok a', 'ok b@1', 'run c']);
    const after = await Journal.open(mlcache);
    expect(after.interrupted()).toEqual([C]);
    expect(after.pendingEntries().size).toBe(2);
    j.close();
  });

  it('flush() and close() write what is deferred at once; clear() needs none of it', async () => {
    const j = await Journal.open(mlcache);
    await j.markRunning(A);
    await j.appendSuccess(A, entry(1));
    j.flush();
    expect((await Journal.open(mlcache)).pendingEntries().size).toBe(1);
    await j.markRunning(B);
    await j.appendSuccess(B, entry(2));
    j.close();
    expect((await Journal.open(mlcache)).pendingEntries().size).toBe(2);

    const k = await Journal.open(mlcache);
    await k.markRunning(C);
    await k.appendSuccess(C, entry(3));
    await k.clear(); // the caller saved the lockfile: the compacted journal holds no entries, no markers
    await new Promise((r) => setImmediate(r)); // and no late write of the dropped batch
    expect(fs.readFileSync(file, 'utf8')).toBe('{"mlbuild-journal":1}\n');
    k.close();
  });

  it('refuses use after close', async () => {
    const j = await Journal.open(mlcache);
    j.close();
    await expect(j.markRunning(A)).rejects.toThrow(/after close/);
  });
});
