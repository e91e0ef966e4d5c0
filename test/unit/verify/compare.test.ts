import { describe, expect, it } from 'vitest';
import { firstManifestDifference, judgeStage } from '../../../src/verify/compare.js';
import { formatReason } from '../../../src/run/reason.js';
import type { LockEntry } from '../../../src/state/lockfile.js';
import type { FileRecord, ManifestEntry } from '../../../src/hashing/file-hasher.js';
import { contentHash, stageName, type StageName } from '../../../src/util/brand.js';
import { fakeStage } from '../fakes.js';

const rec = (path: string, hash: string): FileRecord => ({ path, hash: contentHash(hash), size: 1 });
const train = fakeStage('train', { deps: ['features', 'train.py'], outs: ['model', 'report.txt'], params: ['lr'] });
const locked: LockEntry = {
  cmd: 'run train',
  deps: [rec('features', 'f1.dir'), rec('train.py', 'c1')],
  params: { lr: 0.1 },
  outs: [rec('model', 'm1.dir'), rec('report.txt', 'r1')],
};
const rebuilt = (o: Partial<LockEntry> = {}): LockEntry => ({ ...locked, ...o });
/** `features` is made by the `featurize` stage. */
const producers = (p: string): StageName[] => (p === 'features' ? [stageName('featurize')] : []);
const judge = (committed: LockEntry | undefined, now: LockEntry | undefined, unreproduced: string[] = []) =>
  judgeStage(train, committed, now, producers, new Set(unreproduced.map(stageName)));

describe('judgeStage', () => {
  it('reproduced when the rebuild records the same entry', () => expect(judge(locked, rebuilt())).toEqual({ kind: 'reproduced' }));

  it('names each out whose hash differs when the inputs are the same (nondeterminism)', () => {
    expect(judge(locked, rebuilt({ outs: [rec('model', 'm1.dir'), rec('report.txt', 'r2')] }))).toEqual({
      kind: 'differs',
      outs: [{ path: 'report.txt', locked: 'r1', rebuilt: 'r2' }],
    });
  });

  it('stale, not nondeterministic, when HEAD changed a source dep, a param or the cmd without repro', () => {
    const v = judge(locked, rebuilt({ deps: [rec('features', 'f1.dir'), rec('train.py', 'c2')], params: { lr: 0.2 }, outs: [rec('model', 'm9.dir'), rec('report.txt', 'r9')] }));
    expect(v.kind).toBe('stale');
    if (v.kind !== 'stale') return;
    expect(v.reasons.map(formatReason)).toEqual(['changed deps: train.py', 'changed params: lr']);
    // The cmd is compared as HEAD's pipeline defines it, as status does.
    const edited = judgeStage({ ...train, cmd: ['run train --fast'] }, locked, rebuilt(), producers, new Set());
    expect(edited.kind === 'stale' && edited.reasons.map(formatReason)).toEqual(['changed cmd']);
  });

  it('stale when HEAD has no lock entry for the stage', () => expect(judge(undefined, rebuilt())).toEqual({ kind: 'stale', reasons: [{ kind: 'new' }] }));

  it('does not blame a stage whose input changed only because its upstream did not reproduce', () => {
    const now = rebuilt({ deps: [rec('features', 'f2.dir'), rec('train.py', 'c1')], outs: [rec('model', 'm2.dir'), rec('report.txt', 'r1')] });
    expect(judge(locked, now, ['featurize'])).toEqual({ kind: 'upstream-differs', stages: ['featurize'] });
  });

  it('calls a produced dep that differs from the lock stale when its producer did reproduce (the lock was inconsistent)', () => {
    const now = rebuilt({ deps: [rec('features', 'f2.dir'), rec('train.py', 'c1')] });
    expect(judge(locked, now, []).kind).toBe('stale');
  });

  it('ignores always_changed (it says nothing about the lockfile) and still compares outs', () => {
    const always = { ...train, alwaysChanged: true };
    expect(judgeStage(always, locked, rebuilt(), producers, new Set())).toEqual({ kind: 'reproduced' });
  });

  it('reports a failed rebuild entry as failed', () => expect(judge(locked, undefined).kind).toBe('failed'));
});

const m = (...entries: [string, string][]): ManifestEntry[] => entries.map(([relpath, hash]) => ({ relpath, hash: contentHash(hash), size: 1 }));

describe('firstManifestDifference', () => {
  it('is undefined for equal manifests', () => expect(firstManifestDifference('d', m(['a', '1'], ['b', '2']), m(['a', '1'], ['b', '2']))).toBeUndefined());

  it('names the first changed file with both hashes, under the out path', () => {
    expect(firstManifestDifference('out/d', m(['a', '1'], ['b', '2'], ['c', '3']), m(['a', '1'], ['b', '9'], ['c', '8']))).toEqual({
      path: 'out/d/b',
      kind: 'changed',
      locked: '2',
      rebuilt: '9',
    });
  });

  it('names a file only the lock has (missing) or only the rebuild made (extra), whichever sorts first', () => {
    expect(firstManifestDifference('d', m(['a', '1'], ['b', '2']), m(['a', '1']))).toEqual({ path: 'd/b', kind: 'missing', locked: '2' });
    expect(firstManifestDifference('d', m(['b', '2']), m(['a', '1'], ['b', '2']))).toEqual({ path: 'd/a', kind: 'extra', rebuilt: '1' });
    expect(firstManifestDifference('d', m(['a/x', '1'], ['c', '3']), m(['b', '2'], ['c', '3']))).toEqual({ path: 'd/a/x', kind: 'missing', locked: '1' });
  });
});
