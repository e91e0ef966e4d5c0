/**
 * The no-op shortcut (run/fresh-snapshot.ts, run/up-to-date.ts) through the built CLI: a quiet
 * workspace is answered from the snapshot without rewriting it, and every change the full check
 * would see (an edit inside the same timestamp tick, a pipeline or params edit) still reruns.
 * The project and the racy-window setting are snapshot-fixture.ts's.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { useProjects, type Project } from './rig.js';
import { PIPELINE, QUICK, SNAP, settled as settledProject } from './snapshot-fixture.js';

const projects = useProjects();
const env = QUICK;

/** Identity of the snapshot file: a run that answered from it leaves it as it was. */
const snapId = (p: Project): string => {
  const st = fs.statSync(p.path(SNAP), { bigint: true });
  return `${st.ino}:${st.mtimeNs}`;
};

/** A built project whose snapshot now proves everything fresh (snapshot-fixture.ts). */
const settled = (beforeRecording?: (p: Project) => void): Promise<Project> => settledProject(projects.make, beforeRecording ? { beforeRecording } : {});

describe('fresh snapshot (no-op shortcut)', () => {
  it('answers a no-op repro and status from the snapshot, with the output of the full check', async () => {
    const p = await settled();
    const before = snapId(p);
    const r = await p.repro([], { env });
    expect(r.code).toBe(0);
    expect(r.doc).toMatchObject({ ok: true, stages: [{ name: 'prepare', outcome: 'fresh', reasons: [] }, { name: 'train', outcome: 'fresh', reasons: [] }] });
    const plain = await p.run(['repro'], { env });
    expect(plain.stdout).toMatch(/^Done: 0 ran, 0 restored, 2 unchanged in \d+ms\n$/);
    const status = await p.run(['status', '--check'], { env });
    expect([status.code, status.stdout]).toEqual([0, 'Data and pipelines are up to date.\n']);
    const json = JSON.parse((await p.run(['status', '--json'], { env })).stdout) as { up_to_date: boolean; stages: { name: string; stale: boolean }[] };
    expect(json.up_to_date).toBe(true);
    expect(json.stages.map((s) => [s.name, s.stale])).toEqual([['prepare', false], ['train', false]]);
    // Untouched: every answer above came from the snapshot, not from a run that rewrote it.
    expect(snapId(p)).toBe(before);
  });

  it('an edit within the same mtime tick (same size, mtime put back) still reruns, and status sees it first', async () => {
    // A whole-second mtime, so utimes can put exactly it back (as a coarse-clock file system would).
    const tick = Math.floor(Date.now() / 1000) - 5;
    const p = await settled((q) => fs.utimesSync(q.path('data/raw.txt'), tick, tick));
    const raw = p.path('data/raw.txt');
    const old = fs.statSync(raw);
    fs.writeFileSync(raw, 'c\nd\n'); // same size, same inode
    fs.utimesSync(raw, tick, tick); // the same mtime, as an edit inside one tick would leave it
    const now = fs.statSync(raw);
    expect([now.size, now.mtimeMs, now.ino]).toEqual([old.size, old.mtimeMs, old.ino]);
    const status = await p.run(['status', '--check'], { env });
    expect(status.code).toBe(1);
    expect(status.stdout).toContain('prepare:');
    const r = await p.repro([], { env });
    expect(r.outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    expect(p.read('model.txt')).toBe('lr=0.1\nc\nd\n');
  });

  it('an edit right after a run, with the default 2 s window, is never answered from the snapshot', async () => {
    const p = await settled();
    // Without the env knob the snapshot's entries are all younger than 2 s: racy, so re-checked by content.
    fs.writeFileSync(p.path('data/raw.txt'), 'z\ny\n');
    const r = await p.repro();
    expect(r.outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    expect(p.read('prepared.txt')).toBe('y\nz\n');
  });

  it('a touched but identical file reruns nothing; a new file in a dep folder reruns its stage', async () => {
    const p = await settled();
    const t = new Date(Date.now() + 1000);
    fs.utimesSync(p.path('data/raw.txt'), t, t);
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'fresh', train: 'fresh' });
    p.write({ 'data/more.txt': 'x\n' });
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'succeeded', train: 'fresh' });
  });

  it('a changed param or pipeline file invalidates the snapshot', async () => {
    const p = await settled();
    p.write({ 'params.yaml': 'train:\n  lr: 0.2\n' });
    const status = await p.run(['status'], { env });
    expect(status.stdout).toContain('train:');
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'fresh', train: 'succeeded' });
    expect(p.read('model.txt')).toBe('lr=0.2\na\nb\n');
    await p.repro([], { env }); // records the new snapshot
    p.write({ 'pipeline.yaml': PIPELINE.replace('sort data/raw.txt', 'sort -r data/raw.txt') });
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    expect(p.read('prepared.txt')).toBe('b\na\n');
  });

  it('a deleted out is restored; a failed run leaves no snapshot behind', async () => {
    const p = await settled();
    p.remove('model.txt');
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'fresh', train: 'restored' });
    expect(p.read('model.txt')).toBe('lr=0.1\na\nb\n');
    p.write({ 'pipeline.yaml': PIPELINE.replace('sort data/raw.txt > prepared.txt', 'exit 3') });
    expect((await p.repro([], { env })).code).toBe(1);
    expect(p.exists(SNAP)).toBe(false);
  });

  it('after a leaf change only the changed stage and its downstream are scheduled; the others are reported as before', async () => {
    const p = projects.make({
      'pipeline.yaml': `stages:
  a:
    cmd: cp in/a.txt a.out
    deps: [in/a.txt]
    outs: [a.out]
  b:
    cmd: cp in/b.txt b.out
    deps: [in/b.txt]
    outs: [b.out]
  c:
    cmd: cat a.out b.out > c.out
    deps: [a.out, b.out]
    outs: [c.out]
  f:
    cmd: cp in/b.txt f.out
    deps: [in/b.txt]
    outs: [f.out]
    frozen: true
`,
      'in/a.txt': 'a1\n',
      'in/b.txt': 'b1\n',
    });
    await p.repro([], { env });
    await p.repro([], { env });
    p.write({ 'in/a.txt': 'a2\n' });
    const r = await p.repro([], { env });
    expect(r.doc.stages.map((s) => [s.name, s.outcome])).toEqual([['a', 'succeeded'], ['b', 'fresh'], ['f', 'frozen'], ['c', 'succeeded']]);
    expect(p.read('c.out')).toBe('a2\nb1\n');
    const plain = await p.run(['repro'], { env });
    expect(plain.stdout).toMatch(/^Done: 0 ran, 0 restored, 4 unchanged in \d+ms\n$/);
    // The other input changes next: the snapshot the leaf run wrote covers the whole pipeline.
    p.write({ 'in/b.txt': 'b2\n' });
    expect((await p.repro([], { env })).outcomes).toEqual({ a: 'fresh', b: 'succeeded', f: 'frozen', c: 'succeeded' });
    expect(p.read('c.out')).toBe('a2\nb2\n');
  });

  it('a run that started from the snapshot re-records it as a patch: the next no-op answers from it, and a same-tick edit after it still reruns', async () => {
    const tick = Math.floor(Date.now() / 1000) - 5;
    const p = await settled();
    // A leaf change inside the dep folder (same file count): the run patches the snapshot.
    p.write({ 'data/raw.txt': 'd\nc\n' });
    fs.utimesSync(p.path('data/raw.txt'), tick, tick);
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    // Its outs were written during that run, so racy in its snapshot: the next run re-checks them
    // by content (a patch again), after which a no-op leaves the snapshot as it is.
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'fresh', train: 'fresh' });
    const patched = snapId(p);
    const plain = await p.run(['repro'], { env });
    expect(plain.stdout).toMatch(/^Done: 0 ran, 0 restored, 2 unchanged in \d+ms\n$/);
    expect(snapId(p)).toBe(patched);
    // Same size, same inode, the same whole-second mtime put back: only the ctime tells.
    fs.writeFileSync(p.path('data/raw.txt'), 'e\nf\n');
    fs.utimesSync(p.path('data/raw.txt'), tick, tick);
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    expect(p.read('model.txt')).toBe('lr=0.1\ne\nf\n');
    // A file added to the folder cannot be patched in: built whole, and right.
    p.write({ 'data/more.txt': 'g\n' });
    // The folder's hash changed, prepare's output did not.
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'succeeded', train: 'fresh' });
    expect((await p.repro([], { env })).outcomes).toEqual({ prepare: 'fresh', train: 'fresh' });
    const whole = snapId(p);
    expect((await p.run(['repro'], { env })).stdout).toMatch(/^Done: 0 ran, 0 restored, 2 unchanged in \d+ms\n$/);
    expect(snapId(p)).toBe(whole);
  });
});
