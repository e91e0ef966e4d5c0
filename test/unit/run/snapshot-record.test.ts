import { describe, expect, it } from 'vitest';
import { buildPipeline } from '../../../src/graph/pipeline.js';
import { makePlan } from '../../../src/graph/plan.js';
import { changedPart, recordedHashes } from '../../../src/run/snapshot-record.js';
import type { LockEntry } from '../../../src/state/lockfile.js';
import type { Primed } from '../../../src/run/fresh-snapshot.js';
import { fakeStage } from '../fakes.js';

/**
 * raw -> prep -> train -> report, and an independent side stage: a leaf change schedules only the
 * changed stages and what is downstream of them.
 */
const stages = [
  fakeStage('prep', { deps: ['raw'], outs: ['prep.out'] }),
  fakeStage('side', { deps: ['other'], outs: ['side.out'] }),
  fakeStage('train', { deps: ['prep.out'], outs: ['model'] }),
  fakeStage('report', { deps: ['model', 'side.out'], outs: ['report.md'] }),
];
const built = buildPipeline(stages, { root: '/p', exists: () => true });
if (!built.ok) throw new Error('pipeline');
const pipeline = built.value;
const full = makePlan(pipeline, { targets: [], singleItem: false, downstream: false });
if (!full.ok) throw new Error('plan');
const primed = (dirty?: string[]): Primed => ({ snapshot: {} as Primed['snapshot'], trusted: new Map(), observedFrom: 0, ...(dirty ? { dirty: new Set(dirty) } : {}) });

describe('changedPart', () => {
  it('schedules the changed stages and their downstream; proves the rest', () => {
    const part = changedPart(pipeline, full.value, primed(['prep']), undefined)!;
    expect(part.plan.stages).toEqual(['prep', 'train', 'report']);
    expect([...part.proved]).toEqual(['side']);
    const side = changedPart(pipeline, full.value, primed(['side']), undefined)!;
    expect(side.plan.stages).toEqual(['side', 'report']);
    expect([...side.proved].sort()).toEqual(['prep', 'train']);
  });

  it('narrows nothing without a dirty set (stages that demand resources are checked), with an empty one, or for part of the pipeline', () => {
    expect(changedPart(pipeline, full.value, primed(), undefined)).toBeUndefined();
    expect(changedPart(pipeline, full.value, primed([]), undefined)).toBeUndefined();
    expect(changedPart(pipeline, full.value, undefined, undefined)).toBeUndefined();
    const partial = makePlan(pipeline, { targets: ['train'], singleItem: false, downstream: false });
    expect(partial.ok && changedPart(pipeline, partial.value, primed(['prep']), undefined)).toBeUndefined();
    // A name the pipeline no longer has (it cannot, the pipeline file is checked; but never guess).
    expect(changedPart(pipeline, full.value, primed(['gone']), undefined)).toBeUndefined();
  });
});

describe('recordedHashes', () => {
  const rec = (path: string, hash: string) => ({ path, hash, size: 1 }) as unknown as LockEntry['deps'][number];
  it("answers the hash a stage's entry records, a dep's over an out's of the same path, and sees replaced entries", () => {
    const entries = new Map<string, LockEntry>([['train', { cmd: 'x', deps: [rec('data', 'd1'), rec('both', 'dep')], params: {}, outs: [rec('model', 'm1'), rec('both', 'out')] }]]);
    const recorded = recordedHashes((s) => entries.get(s));
    expect(recorded('train', 'data')).toBe('d1');
    expect(recorded('train', 'model')).toBe('m1');
    expect(recorded('train', 'both')).toBe('dep');
    expect(recorded('train', 'other')).toBeUndefined();
    expect(recorded('gone', 'data')).toBeUndefined();
    // The stage re-recorded (the lockfile's set() stores a new entry object): no stale answer.
    entries.set('train', { cmd: 'x', deps: [rec('data', 'd2')], params: {}, outs: [rec('model', 'm2')] });
    expect(recorded('train', 'data')).toBe('d2');
    expect(recorded('train', 'model')).toBe('m2');
    expect(recorded('train', 'both')).toBeUndefined();
  });
});
