import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  nodeSnapshotIo,
  buildSnapshot,
  checkSnapshot,
  decodeSnapshot,
  racyWindowMs,
  type SnapshotInput,
  type Snapshot,
} from '../../../src/run/fresh-snapshot.js';
import { project, type FakeFs } from './fake-snapshot-fs.js';

const ROOT = '/p';
const KEY = { build: 'b1', root: ROOT, pipelineFile: '/p/pipeline.yaml', displayCwd: '/p' };

function input(fs: FakeFs, over: Partial<SnapshotInput> = {}): SnapshotInput {
  const hashOf = (p: string): string => (p === 'data' ? 'dirhash' : 'h:' + (fs.files.get(`/p/${p}`)?.content ?? ''));
  return {
    ...KEY,
    stages: [
      { name: 'prep', frozen: false, paths: ['data', 'mid.txt'], gpus: 0, memoryMb: 0 },
      { name: 'train', frozen: false, paths: ['mid.txt', 'model.bin'], gpus: 0, memoryMb: 0 },
    ],
    record: (p) => (fs.files.has(`/p/${p}`) ? { path: p, hash: hashOf(p), size: 3, ...(p === 'data' ? { nfiles: 2 } : {}) } : undefined),
    recorded: (_stage, p) => hashOf(p),
    meta: [
      ['/p/pipeline.yaml', 'h:stages: ...'],
      ['/p/mlbuild.lock', 'h:lock'],
      ['/p/params.yaml', 'absent'],
    ],
    absent: [],
    observedFrom: fs.nowMs,
    windowMs: 2000,
    ...over,
  };
}

function snapshotOf(fs: FakeFs, over: Partial<SnapshotInput> = {}): Snapshot {
  const built = buildSnapshot(input(fs, over), fs);
  if (!built.ok) throw new Error(built.why);
  return decodeSnapshot(built.bytes)!;
}

/** Builds at a time when everything is older than the racy window. */
function settled(fs: FakeFs): Snapshot {
  fs.nowMs += 10_000;
  return snapshotOf(fs);
}

const dirty = (fs: FakeFs, snap: Snapshot): string[] => {
  const v = checkSnapshot(snap, KEY, fs);
  if (v.kind !== 'checked') throw new Error(`unusable: ${v.why}`);
  return [...v.dirty].sort();
};

describe('fresh snapshot', () => {
  it('proves a quiet workspace up to date with one stat per entry and no reads', () => {
    const fs = project();
    const snap = settled(fs);
    fs.statCalls = 0;
    const v = checkSnapshot(snap, KEY, fs);
    expect(v.kind).toBe('checked');
    expect(v.kind === 'checked' && [...v.dirty]).toEqual([]);
    // data, a.csv, b.csv, mid.txt, model.bin + 3 meta files
    expect(fs.statCalls).toBe(8);
    expect(v.kind === 'checked' && v.trusted.size).toBe(3);
  });

  it('an edit inside the same timestamp tick (same size, same mtime) is still caught: racy entries are never trusted', () => {
    const fs = project();
    // Written 1 s before the run that records it began: inside the 2 s window.
    fs.nowMs += 1000;
    const snap = snapshotOf(fs);
    // Nothing changes at all, yet the young entries are not trusted: their stages are re-inspected.
    expect(dirty(fs, snap)).toEqual(['prep', 'train']);
  });

  it('every stat field counts: a changed ctime alone (mtime put back), inode, size or one nanosecond of mtime', () => {
    for (const change of ['ctime', 'ino', 'size', 'mtime'] as const) {
      const fs = project();
      const snap = settled(fs);
      const f = fs.files.get('/p/data/a.csv')!;
      if (change === 'ctime') f.ctimeNs += 1n;
      if (change === 'ino') f.ino += 1000n;
      if (change === 'size') f.size += 1n;
      if (change === 'mtime') f.mtimeNs += 1n;
      expect(dirty(fs, snap), change).toEqual(['prep']);
    }
  });

  it('a new file in a dep folder changes the folder, so its stage is dirty; an out shared as a dep dirties both stages', () => {
    const fs = project();
    const snap = settled(fs);
    fs.put('/p/data/c.csv', 'ccc');
    expect(dirty(fs, snap)).toEqual(['prep']);
    const fs2 = project();
    const snap2 = settled(fs2);
    fs2.put('/p/mid.txt', 'MID');
    expect(dirty(fs2, snap2)).toEqual(['prep', 'train']);
  });

  it('a deleted out makes its stage dirty', () => {
    const fs = project();
    const snap = settled(fs);
    fs.files.delete('/p/model.bin');
    expect(dirty(fs, snap)).toEqual(['train']);
  });

  it('meta files: a touched but identical pipeline file keeps the snapshot usable; a changed one, a new params file or another mlbuild does not', () => {
    const fs = project();
    const snap = settled(fs);
    fs.put('/p/pipeline.yaml', 'stages: ...', { inPlace: true });
    expect(checkSnapshot(snap, KEY, fs).kind).toBe('checked');
    fs.put('/p/pipeline.yaml', 'stages: !!!', { inPlace: true });
    expect(checkSnapshot(snap, KEY, fs)).toMatchObject({ kind: 'unusable', why: '/p/pipeline.yaml changed' });

    const fs2 = project();
    const snap2 = settled(fs2);
    fs2.put('/p/params.yaml', 'lr: 1');
    expect(checkSnapshot(snap2, KEY, fs2)).toMatchObject({ kind: 'unusable', why: '/p/params.yaml appeared' });
    expect(checkSnapshot(snap2, { ...KEY, build: 'b2' }, project())).toMatchObject({ kind: 'unusable', why: 'mlbuild changed' });
    expect(checkSnapshot(snap2, { ...KEY, displayCwd: '/p/sub' }, project()).kind).toBe('unusable');
  });

  it('a meta file racy at write time is checked by content, never by stat', () => {
    const fs = project();
    fs.nowMs += 10_000;
    fs.put('/p/mlbuild.lock', 'lock', { inPlace: true }); // rewritten by the run itself, just now
    const snap = snapshotOf(fs);
    expect(checkSnapshot(snap, KEY, fs).kind).toBe('checked');
    // Same size, same mtime and ctime (the same tick), other bytes: only the content check sees it.
    fs.files.get('/p/mlbuild.lock')!.content = 'LOCK';
    expect(checkSnapshot(snap, KEY, fs)).toMatchObject({ kind: 'unusable', why: '/p/mlbuild.lock changed' });
  });

  it('files that must not exist (a journal, a lock) make it unusable', () => {
    const fs = project();
    const snap = settled(fs);
    const withAbsent = { ...snap, absent: ['/p/.mlcache/lock'] };
    expect(checkSnapshot(withAbsent, KEY, fs).kind).toBe('checked');
    fs.put('/p/.mlcache/lock', 'pid');
    expect(checkSnapshot(withAbsent, KEY, fs)).toMatchObject({ kind: 'unusable' });
  });

  it('is not written when a stage recorded other content than the workspace has, or a path is missing', () => {
    const fs = project();
    fs.nowMs += 10_000;
    expect(buildSnapshot(input(fs, { recorded: (s, p) => (s === 'train' && p === 'mid.txt' ? 'h:old' : 'h:' + (fs.files.get(`/p/${p}`)?.content ?? '')) }), fs)).toMatchObject({ ok: false });
    fs.files.delete('/p/model.bin');
    expect(buildSnapshot(input(fs), fs)).toMatchObject({ ok: false, why: 'model.bin is missing' });
  });

  it('a later run re-records racy entries once they are old enough, and carries proved entries over unchanged', () => {
    const fs = project();
    fs.nowMs += 1000;
    const young = snapshotOf(fs);
    expect(dirty(fs, young)).toEqual(['prep', 'train']);
    fs.nowMs += 5000;
    const v = checkSnapshot(young, KEY, fs);
    const next = snapshotOf(fs, { previous: v.kind === 'checked' ? v : undefined });
    expect(dirty(fs, next)).toEqual([]);
    // Carry-over: a snapshot built from a check that trusted everything stats nothing while building.
    const v2 = checkSnapshot(next, KEY, fs);
    fs.statCalls = 0;
    const again = snapshotOf(fs, { previous: v2.kind === 'checked' ? v2 : undefined });
    expect(fs.statCalls).toBe(3); // only the meta files
    expect(dirty(fs, again)).toEqual([]);
  });

  it('frozen stages are never dirty; their recorded hashes are not compared', () => {
    const fs = project();
    fs.nowMs += 10_000;
    const built = buildSnapshot(
      input(fs, {
        stages: [{ name: 'prep', frozen: true, paths: [], gpus: 0, memoryMb: 0 }, { name: 'train', frozen: false, paths: ['mid.txt', 'model.bin'], gpus: 0, memoryMb: 0 }],
      }),
      fs,
    );
    expect(built.ok).toBe(true);
    const snap = decodeSnapshot(built.ok ? built.bytes : new Uint8Array())!;
    fs.put('/p/data/a.csv', 'new', { inPlace: true });
    expect(dirty(fs, snap)).toEqual([]);
  });

  it('decodes only its own format, from any byte offset', () => {
    const fs = project();
    fs.nowMs += 10_000;
    const built = buildSnapshot(input(fs), fs);
    if (!built.ok) throw new Error(built.why);
    const shifted = new Uint8Array(built.bytes.length + 3);
    shifted.set(built.bytes, 3);
    const back = decodeSnapshot(shifted.subarray(3))!;
    expect(back.paths).toEqual(decodeSnapshot(built.bytes)!.paths);
    expect(Array.from(back.stats)).toEqual(Array.from(decodeSnapshot(built.bytes)!.stats));
    expect(decodeSnapshot(built.bytes.subarray(0, built.bytes.length - 8))).toBeUndefined();
    expect(decodeSnapshot(Buffer.from('not a snapshot at all'))).toBeUndefined();
  });

  it('keys are stored as one NUL-joined string; a snapshot of the previous format (version 2) is not read', () => {
    const fs = project();
    fs.nowMs += 10_000;
    const built = buildSnapshot(input(fs), fs);
    if (!built.ok) throw new Error(built.why);
    const len = new DataView(built.bytes.buffer, built.bytes.byteOffset).getUint32(8, true);
    const header = JSON.parse(Buffer.from(built.bytes.subarray(12, 12 + len)).toString('utf8')) as { paths: unknown };
    expect(header.paths).toBe(['data', 'data/a.csv', 'data/b.csv', 'mid.txt', 'model.bin', '/p/pipeline.yaml', '/p/mlbuild.lock', '/p/params.yaml'].join('\0'));
    const back = decodeSnapshot(built.bytes)!;
    expect([back.count, back.keys]).toEqual([8, header.paths]);
    expect(back.paths).toHaveLength(8);
    expect(back.paths).toBe(back.paths); // split once, on first use
    // A header whose keys do not match the stats (one key fewer) is refused.
    const withHeader = (h: object): Uint8Array => {
      const json = Buffer.from(JSON.stringify(h));
      const head = Buffer.concat([Buffer.from(built.bytes.subarray(0, 12)), json]);
      head.writeUInt32LE(json.length, 8);
      return Buffer.concat([head, Buffer.alloc(((head.length + 7) & ~7) - head.length), Buffer.from(built.bytes.subarray((12 + len + 7) & ~7))]);
    };
    expect(decodeSnapshot(withHeader(header))!.paths).toEqual(back.paths); // the control
    const joined = header.paths as string;
    expect(decodeSnapshot(withHeader({ ...header, paths: joined.slice(0, joined.lastIndexOf('\0')) }))).toBeUndefined();
    const v2 = Uint8Array.from(built.bytes);
    new DataView(v2.buffer).setUint32(4, 2, true);
    expect(decodeSnapshot(v2)).toBeUndefined();
  });

  it('a snapshot whose tops are out of entry order (never written so) still checks each entry against its own key', () => {
    const fs = project();
    const snap = settled(fs);
    const n = snap.tops.length;
    const reversed: Snapshot = { ...snap, tops: [...snap.tops].reverse(), stages: snap.stages.map((st) => ({ ...st, tops: st.tops.map((t) => n - 1 - t) })) };
    expect(dirty(fs, reversed)).toEqual([]);
    fs.put('/p/data/a.csv', 'new', { inPlace: true });
    expect(dirty(fs, reversed)).toEqual(['prep']);
    expect(dirty(fs, snap)).toEqual(['prep']);
  });

  it('the proved tops are the unchanged ones, read only when asked for', () => {
    const fs = project();
    const snap = settled(fs);
    fs.put('/p/model.bin', 'other');
    const v = checkSnapshot(snap, KEY, fs);
    if (v.kind !== 'checked') throw new Error(v.why);
    expect([...v.dirty]).toEqual(['train']);
    expect([...v.trusted.keys()].map((t) => snap.tops[t]!.path).sort()).toEqual(['data', 'mid.txt']);
    expect(v.trusted.get(0)!.isDirectory()).toBe(true);
    expect(v.trusted).toBe(v.trusted); // built once
  });

  it('racy window comes from MLBUILD_RACY_WINDOW_MS when it is a number >= 0', () => {
    expect(racyWindowMs({})).toBe(2000);
    expect(racyWindowMs({ MLBUILD_RACY_WINDOW_MS: '0' })).toBe(0);
    expect(racyWindowMs({ MLBUILD_RACY_WINDOW_MS: '5000' })).toBe(5000);
    expect(racyWindowMs({ MLBUILD_RACY_WINDOW_MS: '-1' })).toBe(2000);
    expect(racyWindowMs({ MLBUILD_RACY_WINDOW_MS: 'x' })).toBe(2000);
  });

  it('on the real file system, the fast stat reads exactly what fs.statSync does (files, folders, missing paths)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-snap-'));
    try {
      fs.writeFileSync(path.join(dir, 'f'), 'x'.repeat(5000));
      fs.mkdirSync(path.join(dir, 'd'));
      const io = nodeSnapshotIo(() => '');
      expect(io.statInto).toBeDefined(); // Node 20's binding passed its self-test here
      const viaApi = { ...io, statInto: undefined };
      for (const p of [dir, path.join(dir, 'f'), path.join(dir, 'd')]) {
        const a = new BigInt64Array(8);
        const b = new BigInt64Array(8);
        expect(io.statInto!(p, a)).toBe(true);
        const st = fs.statSync(p, { bigint: true });
        b[0] = st.dev;
        b[1] = st.ino;
        b[2] = st.size;
        b[3] = st.mtimeNs / 1_000_000_000n;
        b[4] = st.mtimeNs % 1_000_000_000n;
        b[5] = st.ctimeNs / 1_000_000_000n;
        b[6] = st.ctimeNs % 1_000_000_000n;
        b[7] = st.isDirectory() ? 1n : 0n;
        expect(Array.from(a)).toEqual(Array.from(b));
      }
      expect(io.statInto!(path.join(dir, 'missing'), new BigInt64Array(8))).toBe(false);
      expect(io.statInto!(path.join(dir, 'f', 'below-a-file'), new BigInt64Array(8))).toBe(false);
      // A snapshot built on the real file system checks clean with both stat paths.
      fs.utimesSync(path.join(dir, 'f'), 1, 1);
      const key = { build: 'b', root: dir, pipelineFile: path.join(dir, 'p.yaml'), displayCwd: dir };
      const built = buildSnapshot(
        { ...key, stages: [{ name: 's', frozen: false, paths: ['f', 'd'], gpus: 0, memoryMb: 0 }], record: (p) => ({ path: p, hash: 'h', size: 1 }), recorded: () => 'h', meta: [], absent: [], observedFrom: Date.now() + 10_000 },
        io,
      );
      if (!built.ok) throw new Error(built.why);
      const snap = decodeSnapshot(built.bytes)!;
      for (const x of [io, viaApi]) expect(checkSnapshot(snap, key, x)).toMatchObject({ kind: 'checked', dirty: new Set() });
      fs.writeFileSync(path.join(dir, 'd', 'new'), '');
      expect(checkSnapshot(snap, key, io)).toMatchObject({ kind: 'checked', dirty: new Set(['s']) });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on the real file system, relative keys are stat\'ed from the project root and the cwd is put back, also when a stat throws', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-snap-'));
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-snap-out-'));
    const cwd = process.cwd();
    try {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'sub', 'f'), 'x');
      fs.writeFileSync(path.join(outside, 'g'), 'y');
      for (const f of [path.join(dir, 'sub', 'f'), path.join(dir, 'sub'), path.join(outside, 'g')]) fs.utimesSync(f, 1, 1);
      const io = nodeSnapshotIo(() => '');
      const leave = io.enter!(dir);
      expect([typeof leave, process.cwd()]).toEqual(['function', fs.realpathSync(dir)]);
      leave!();
      expect(process.cwd()).toBe(cwd);
      const key = { build: 'b', root: dir, pipelineFile: path.join(dir, 'p.yaml'), displayCwd: dir };
      const g = path.join(outside, 'g'); // a dep outside the project: its key stays absolute
      const built = buildSnapshot(
        { ...key, stages: [{ name: 's', frozen: false, paths: ['sub', g], gpus: 0, memoryMb: 0 }], record: (p) => ({ path: p, hash: 'h', size: 1 }), recorded: () => 'h', meta: [], absent: [], observedFrom: Date.now() + 10_000 },
        io,
      );
      if (!built.ok) throw new Error(built.why);
      const snap = decodeSnapshot(built.bytes)!;
      expect(snap.paths).toEqual(['sub', 'sub/f', g]);
      const entered: string[] = [];
      const spy = { ...io, enter: (root: string) => (entered.push(root), io.enter!(root)) };
      expect(checkSnapshot(snap, key, spy)).toMatchObject({ kind: 'checked', dirty: new Set() });
      expect([entered, process.cwd()]).toEqual([[dir], cwd]);
      // The same answers without entering the root, and a change is seen both ways.
      expect(checkSnapshot(snap, key, { ...io, enter: undefined })).toMatchObject({ kind: 'checked', dirty: new Set() });
      fs.writeFileSync(g, 'z');
      for (const x of [io, { ...io, enter: undefined }]) expect(checkSnapshot(snap, key, x)).toMatchObject({ kind: 'checked', dirty: new Set(['s']) });
      fs.writeFileSync(g, 'y');
      fs.utimesSync(g, 1, 1);
      fs.writeFileSync(path.join(dir, 'sub', 'f'), 'w');
      expect(checkSnapshot(snap, key, io)).toMatchObject({ kind: 'checked', dirty: new Set(['s']) });
      const throwing = { ...io, statInto: () => { throw new Error('boom'); } };
      expect(() => checkSnapshot(snap, key, throwing)).toThrow('boom');
      expect(process.cwd()).toBe(cwd);
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});
