/** A hook that throws (a broken invariant) must not leave sibling stages running behind a rejected run. */
import { describe, expect, it } from 'vitest';
import { ResourcePool } from '../../../src/schedule/resources.js';
import { Scheduler } from '../../../src/schedule/scheduler.js';
import { buildPipeline } from '../../../src/graph/pipeline.js';
import { makePlan } from '../../../src/graph/plan.js';
import { fakeStage } from '../fakes.js';

describe('Scheduler when a hook throws', () => {
  it('rejects only after the runs in flight have settled, and starts nothing new', async () => {
    const p = buildPipeline([fakeStage('a', { outs: ['a'] }), fakeStage('b', { outs: ['b'] }), fakeStage('c', { outs: ['c'] })], { root: '/p', exists: () => true });
    if (!p.ok) throw new Error('pipeline');
    const plan = makePlan(p.value, { targets: [], singleItem: false, downstream: false });
    if (!plan.ok) throw new Error('plan');
    const started: string[] = [];
    let finishB: ((r: 'succeeded') => void) | undefined;
    const sched = new Scheduler(
      plan.value,
      new ResourcePool({ cpus: 2, gpuIds: [], gpuSlots: 1, memoryMb: 0 }),
      {
        check: (s) => Promise.resolve({ kind: 'run', demand: p.value.stages.get(s)!.resources }),
        run: (s) => {
          started.push(s);
          if (s === 'a') return Promise.reject(new Error('Internal error: boom'));
          return new Promise((resolve) => (finishB = resolve));
        },
        skipped: () => undefined,
      },
      { keepGoing: true, checkSliceMs: Infinity }, // all three checks in one turn, however loaded the machine
    );
    let settled = false;
    const done = sched.run(new AbortController().signal).finally(() => (settled = true));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    // b is still running: the scheduler must not have rejected yet (the caller would release the lock).
    expect(settled).toBe(false);
    finishB!('succeeded');
    await expect(done).rejects.toThrow('Internal error: boom');
    expect(started).toEqual(['a', 'b']); // c never started
  });
});
