import { describe, expect, it } from 'vitest';
import { Lockfile, type LockEntry } from '../../../src/state/lockfile.js';
import { mergeLockfiles } from '../../../src/state/lock-merge.js';
import { contentHash, stageName } from '../../../src/util/brand.js';

const FILE = '/project/mlbuild.lock';
const LABELS = { ours: 'ours', theirs: 'theirs' };

function entry(out: string, extra: Partial<LockEntry> = {}): LockEntry {
  return {
    cmd: 'node run.js',
    deps: [{ path: 'run.js', hash: contentHash('1111111111111111'), size: 10 }],
    params: {},
    outs: [{ path: 'out.txt', hash: contentHash(out), size: 3 }],
    ...extra,
  };
}

function lock(entries: Record<string, LockEntry>): Lockfile {
  const l = Lockfile.empty(FILE, '/project', { cacheDir: null });
  for (const [name, e] of Object.entries(entries)) l.set(stageName(name), e);
  return l;
}

const A = entry('aaaaaaaaaaaaaaaa');
const B = entry('bbbbbbbbbbbbbbbb');
const C = entry('cccccccccccccccc');

describe('mergeLockfiles', () => {
  it('takes entries changed on one side only, from that side', () => {
    const base = lock({ prepare: A, train: A });
    const m = mergeLockfiles(base, lock({ prepare: B, train: A }), lock({ prepare: A, train: C }), LABELS);
    expect(m.conflicts).toEqual([]);
    expect(m.choices.get(stageName('prepare'))).toBe('ours');
    expect(m.choices.get(stageName('train'))).toBe('theirs');
    // Exactly what the lockfile itself would write for the merged entries.
    expect(m.text).toBe(lock({ prepare: B, train: C }).serialize());
  });

  it('accepts the same change made on both sides', () => {
    const m = mergeLockfiles(lock({ train: A }), lock({ train: B }), lock({ train: B }), LABELS);
    expect(m.conflicts).toEqual([]);
    expect(m.choices.get(stageName('train'))).toBe('both');
    expect(m.text).toBe(lock({ train: B }).serialize());
  });

  it('takes a stage added on one side and one removed on the other', () => {
    const base = lock({ old: A, keep: A });
    const m = mergeLockfiles(base, lock({ old: A, keep: A, added: C }), lock({ keep: A }), LABELS);
    expect(m.conflicts).toEqual([]);
    expect(m.text).toBe(lock({ keep: A, added: C }).serialize());
  });

  it('writes `stages: {}` when every entry was removed', () => {
    const m = mergeLockfiles(lock({ a: A }), lock({}), lock({}), LABELS);
    expect(m.text).toBe(lock({}).serialize());
  });

  it('treats a stage added differently on both sides (no ancestor) as a conflict', () => {
    const m = mergeLockfiles(lock({}), lock({ train: A }), lock({ train: B }), LABELS);
    expect(m.conflicts).toEqual(['train']);
  });

  it('marks a stage changed differently on both sides in place, naming it, and keeps the rest merged', async () => {
    const base = lock({ evaluate: A, prepare: A, train: A });
    const ours = lock({ evaluate: A, prepare: B, train: B });
    const theirs = lock({ evaluate: C, prepare: A, train: C });
    const m = mergeLockfiles(base, ours, theirs, { ours: 'HEAD', theirs: 'feature' });
    expect(m.conflicts).toEqual(['train']);
    const clean = lock({ evaluate: C, prepare: B }).serialize();
    const [before] = clean.split('  train:'); // nothing follows train in sorted order
    const block = (e: LockEntry): string => lock({ train: e }).serialize().split('stages:\n')[1]!;
    expect(m.text).toBe(`${before}<<<<<<< HEAD\n${block(B)}=======\n${block(C)}>>>>>>> feature\n`);
    // The conflict markers make the file unreadable until resolved, as git's own markers do.
    const parsed = await Lockfile.parse(m.text, FILE, '/project');
    expect(parsed.ok).toBe(false);
  });

  it('says which side removed an entry the other side changed', () => {
    const m = mergeLockfiles(lock({ train: A }), lock({}), lock({ train: B }), LABELS);
    expect(m.conflicts).toEqual(['train']);
    expect(m.text).toContain("<<<<<<< ours\n  # stage 'train' removed on this side\n=======\n  train:\n");
  });

  it('ignores formatting differences in the inputs (entries are compared canonically)', async () => {
    const base = lock({ train: A });
    const reordered = await Lockfile.parse(
      `stages:\n  train:\n    outs:\n    - {size: 3, hash: aaaaaaaaaaaaaaaa, path: out.txt}\n    deps:\n    - {path: run.js, size: 10, hash: '1111111111111111'}\n    cmd: node run.js\nschema: '1.0'\n`,
      FILE,
      '/project',
    );
    expect(reordered.ok).toBe(true);
    if (!reordered.ok) return;
    const m = mergeLockfiles(base, reordered.value, lock({ train: B }), LABELS);
    expect(m.conflicts).toEqual([]);
    expect(m.text).toBe(lock({ train: B }).serialize());
  });

  it('is byte-stable: the same inputs give the same bytes, whatever order entries were set in', () => {
    const base = lock({ a: A, b: A });
    const x = mergeLockfiles(base, lock({ b: B, a: A }), lock({ a: C, b: A }), LABELS).text;
    const y = mergeLockfiles(base, lock({ a: A, b: B }), lock({ b: A, a: C }), LABELS).text;
    expect(x).toBe(y);
  });

  it('honours a custom marker size', () => {
    const m = mergeLockfiles(lock({ t: A }), lock({ t: B }), lock({ t: C }), { ...LABELS, markerSize: 9 });
    expect(m.text).toMatch(/^<{9} ours$/m);
    expect(m.text).toMatch(/^={9}$/m);
    expect(m.text).toMatch(/^>{9} theirs$/m);
  });
});
