/** Re-recording the fresh snapshot as a patch: the same bytes as a whole build, only the changed part re-stat'ed, every rule kept. */
import { describe, expect, it } from 'vitest';
import { buildSnapshot, checkSnapshot, decodeSnapshot, type Snapshot, type SnapshotInput } from '../../../src/run/fresh-snapshot.js';
import { patchSnapshot, topsToRedo, type PatchInput } from '../../../src/run/snapshot-patch.js';
import { project, type FakeFs } from './fake-snapshot-fs.js';

const KEY = { build: 'b1', root: '/p', pipelineFile: '/p/pipeline.yaml', displayCwd: '/p' };

const hashOf = (fs: FakeFs, p: string): string =>
  p === 'data'
    ? 'dir:' + fs.readdir('/p/data').sort().map((n) => fs.files.get(`/p/data/${n}`)!.content).join(',')
    : 'h:' + (fs.files.get(`/p/${p}`)?.content ?? '');

const record = (fs: FakeFs) => (p: string) => (fs.files.has(`/p/${p}`) ? { path: p, hash: hashOf(fs, p), size: 3, ...(p === 'data' ? { nfiles: fs.readdir('/p/data').length } : {}) } : undefined);

const META: [string, string][] = [
  ['/p/pipeline.yaml', 'h:stages: ...'],
  ['/p/mlbuild.lock', 'h:lock'],
  ['/p/params.yaml', 'absent'],
];

function wholeInput(fs: FakeFs, over: Partial<SnapshotInput> = {}): SnapshotInput {
  return {
    ...KEY,
    stages: [
      { name: 'prep', frozen: false, paths: ['data', 'mid.txt'], gpus: 0, memoryMb: 0 },
      { name: 'train', frozen: false, paths: ['mid.txt', 'model.bin'], gpus: 0, memoryMb: 0 },
    ],
    record: record(fs),
    recorded: (_stage, p) => hashOf(fs, p),
    meta: META,
    absent: [],
    observedFrom: fs.nowMs,
    windowMs: 2000,
    ...over,
  };
}

const decoded = (r: ReturnType<typeof buildSnapshot> | undefined): Snapshot => {
  if (r === undefined || !r.ok) throw new Error(r === undefined ? 'no patch' : r.why);
  return decodeSnapshot(r.bytes)!;
};

/** A settled snapshot, then `edit`, then the check a run starts with, 10 s later. */
function afterEdit(edit: (fs: FakeFs) => void): { fs: FakeFs; previous: { snapshot: Snapshot; trusted: ReadonlyMap<number, ReturnType<FakeFs['stat']> & object> }; dirty: string[] } {
  const fs = project();
  fs.nowMs += 10_000;
  const snap = decoded(buildSnapshot(wholeInput(fs), fs));
  fs.nowMs += 1000;
  edit(fs);
  fs.nowMs += 10_000;
  const v = checkSnapshot(snap, KEY, fs);
  if (v.kind !== 'checked') throw new Error(v.why);
  return { fs, previous: { snapshot: snap, trusted: v.trusted }, dirty: [...v.dirty].sort() };
}

function patchInput(fs: FakeFs, previous: PatchInput['previous'], over: Partial<PatchInput> = {}, stillPrimed: (p: string) => boolean = () => true): PatchInput {
  return {
    ...KEY,
    previous,
    redo: topsToRedo(previous, stillPrimed),
    record: record(fs),
    recorded: (_stage, p) => hashOf(fs, p),
    stageNames: ['prep', 'train'],
    meta: META,
    pipelineInputs: 1,
    absent: [],
    observedFrom: fs.nowMs,
    windowMs: 2000,
    ...over,
  };
}

describe('snapshot patch', () => {
  it('writes the same bytes as a whole build, re-stating only the changed top', () => {
    const { fs, previous, dirty } = afterEdit((f) => f.put('/p/data/a.csv', 'AAA'));
    expect(dirty).toEqual(['prep']);
    const whole = buildSnapshot(wholeInput(fs, { previous }), fs);
    fs.statCalls = 0;
    const patched = patchSnapshot(patchInput(fs, previous), fs);
    // data, a.csv, b.csv (the changed top) + 3 meta files; mid.txt and model.bin are copied.
    expect(fs.statCalls).toBe(6);
    expect(patched).toBeDefined();
    expect(Buffer.from((patched as { bytes: Uint8Array }).bytes).equals(Buffer.from((whole as { bytes: Uint8Array }).bytes))).toBe(true);
    const snap = decoded(patched);
    expect(snap.tops.map((t) => t.hash)).toEqual(['dir:AAA,bbb', 'h:mid', 'h:model']);
    // The next check proves everything again.
    const v = checkSnapshot(snap, KEY, fs);
    expect(v.kind === 'checked' && [...v.dirty]).toEqual([]);
  });

  it('re-stats a proved top the run looked at again (an out its stage rewrote with the same bytes), so the next check trusts it', () => {
    const { fs, previous } = afterEdit((f) => f.put('/p/data/a.csv', 'AAA'));
    // The run reran prep, which rewrote mid.txt (same bytes, new inode): no longer as primed.
    fs.put('/p/mid.txt', 'mid');
    fs.nowMs += 10_000;
    const redo = topsToRedo(previous, (p) => p !== 'mid.txt');
    expect(redo.map((t) => previous.snapshot.tops[t]!.path).sort()).toEqual(['data', 'mid.txt']);
    const snap = decoded(patchSnapshot(patchInput(fs, previous, { redo }), fs));
    const v = checkSnapshot(snap, KEY, fs);
    expect(v.kind === 'checked' && [...v.dirty]).toEqual([]);
  });

  it('flags what changed inside the racy window: an edit in the same tick afterwards is still caught', () => {
    const { fs, previous } = afterEdit((f) => f.put('/p/data/a.csv', 'AAA'));
    // The run records 1 s after the edit: a.csv (and its folder) are young.
    fs.nowMs -= 9_000;
    const snap = decoded(patchSnapshot(patchInput(fs, previous), fs));
    fs.files.get('/p/data/a.csv')!.content = 'XYZ'; // same size, same times
    const v = checkSnapshot(snap, KEY, fs);
    expect(v.kind === 'checked' && [...v.dirty]).toEqual(['prep']);
  });

  it('refuses, as a whole build does, a top the lockfile records otherwise, or one that is gone', () => {
    const { fs, previous } = afterEdit((f) => f.put('/p/data/a.csv', 'AAA'));
    const stale = patchSnapshot(patchInput(fs, previous, { recorded: (stage, p) => (stage === 'train' && p === 'model.bin' ? 'h:old' : hashOf(fs, p)) }), fs);
    expect(stale).toEqual({ ok: false, why: "stage 'train' recorded another model.bin" });
    fs.files.delete('/p/data');
    expect(patchSnapshot(patchInput(fs, previous, { record: (p) => (p === 'data' ? undefined : record(fs)(p)) }), fs)).toEqual({ ok: false, why: 'data is missing' });
  });

  it('refuses when a meta file changed during the run', () => {
    const { fs, previous } = afterEdit((f) => f.put('/p/data/a.csv', 'AAA'));
    fs.put('/p/params.yaml', 'lr: 1');
    expect(patchSnapshot(patchInput(fs, previous), fs)).toEqual({ ok: false, why: '/p/params.yaml changed during the run' });
  });

  it('does not apply (the caller builds it whole) to another build, pipeline, stage list, or a folder that gained or lost a file', () => {
    const { fs, previous } = afterEdit((f) => f.put('/p/data/a.csv', 'AAA'));
    expect(patchSnapshot(patchInput(fs, previous, { build: 'b2' }), fs)).toBeUndefined();
    expect(patchSnapshot(patchInput(fs, previous, { meta: [['/p/pipeline.yaml', 'h:other'], META[1]!, META[2]!] }), fs)).toBeUndefined();
    expect(patchSnapshot(patchInput(fs, previous, { stageNames: ['prep', 'eval'] }), fs)).toBeUndefined();
    const added = afterEdit((f) => f.put('/p/data/c.csv', 'ccc'));
    expect(patchSnapshot(patchInput(added.fs, added.previous), added.fs)).toBeUndefined();
    const removed = afterEdit((f) => f.remove('/p/data/b.csv'));
    expect(patchSnapshot(patchInput(removed.fs, removed.previous), removed.fs)).toBeUndefined();
    // Built whole instead, it is right.
    const whole = decoded(buildSnapshot(wholeInput(added.fs, { previous: added.previous }), added.fs));
    expect(whole.tops[0]!.hash).toBe('dir:aaa,bbb,ccc');
  });

  it('a renamed file in a folder (same count) takes the new name', () => {
    const { fs, previous } = afterEdit((f) => {
      f.remove('/p/data/b.csv');
      f.put('/p/data/c.csv', 'bbb');
    });
    const snap = decoded(patchSnapshot(patchInput(fs, previous), fs));
    expect(snap.paths.slice(0, 3)).toEqual(['data', 'data/a.csv', 'data/c.csv']);
    const v = checkSnapshot(snap, KEY, fs);
    expect(v.kind === 'checked' && [...v.dirty]).toEqual([]);
  });
});
