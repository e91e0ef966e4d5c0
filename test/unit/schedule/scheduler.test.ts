import { describe, expect, it } from 'vitest';
import { ResourcePool, pickGpus, neverFits, type PoolCapacity, type Lease } from '../../../src/schedule/resources.js';
import { Scheduler, pickNext, type CheckOutcome } from '../../../src/schedule/scheduler.js';
import { buildPipeline } from '../../../src/graph/pipeline.js';
import { makePlan } from '../../../src/graph/plan.js';
import type { StageName } from '../../../src/util/brand.js';
import { fakeStage } from '../fakes.js';

const cap = (o: Partial<PoolCapacity> = {}): PoolCapacity => ({ cpus: 2, gpuIds: [], gpuSlots: 1, memoryMb: 0, ...o });
const demand = (cpus = 1, gpus = 0) => ({ cpus, gpus, memoryMb: 0 });

describe('pickGpus', () => {
  it('prefers the least-loaded GPUs, then the lowest index', () => {
    const c = cap({ gpuIds: ['0', '1', '2'], gpuSlots: 2 });
    expect(pickGpus(new Map(), c, 1)).toEqual(['0']);
    expect(pickGpus(new Map([['0', 1]]), c, 1)).toEqual(['1']);
    expect(pickGpus(new Map([['0', 1], ['1', 1]]), c, 2)).toEqual(['0', '2']);
    expect(pickGpus(new Map([['0', 2], ['1', 2], ['2', 1]]), c, 2)).toBeUndefined();
    expect(pickGpus(new Map(), c, 0)).toEqual([]);
  });
});

describe('ResourcePool', () => {
  it('leases cpus and GPU slots and gives them back', () => {
    const pool = new ResourcePool(cap({ cpus: 2, gpuIds: ['0', '1'], gpuSlots: 1 }));
    const a = pool.tryAcquire(demand(1, 1))!;
    const b = pool.tryAcquire(demand(1, 1))!;
    expect([a.gpuIds, b.gpuIds]).toEqual([['0'], ['1']]);
    expect(pool.tryAcquire(demand(1, 0))).toBeUndefined();
    pool.release(a);
    expect(pool.tryAcquire(demand(1, 1))!.gpuIds).toEqual(['0']);
  });
  it('clamps a CPU demand larger than -j so it runs alone instead of never', () => {
    const pool = new ResourcePool(cap({ cpus: 2 }));
    const l = pool.tryAcquire(demand(8))!;
    expect(l.cpus).toBe(2);
    expect(pool.fits(demand(1))).toBe(false);
  });
  it('names demands that can never fit', () => {
    expect(neverFits(demand(1, 2), cap({ gpuIds: ['0'] }))).toBe('it needs 2 GPUs but only 1 is available (0)');
    expect(neverFits(demand(1, 1), cap())).toBe('it needs 1 GPU but no GPU is available');
    expect(neverFits(demand(1, 1), cap({ gpuIds: ['3'] }))).toBeUndefined();
  });
});

describe('pickNext', () => {
  it('takes the highest priority that fits, ties by plan order', () => {
    const q = [
      { stage: 'a' as StageName, demand: demand(1, 1), priority: 10, seq: 0 },
      { stage: 'b' as StageName, demand: demand(), priority: 5, seq: 1 },
      { stage: 'c' as StageName, demand: demand(), priority: 5, seq: 2 },
    ];
    expect(pickNext(q, () => true)).toBe(0);
    expect(pickNext(q, (d) => d.gpus === 0)).toBe(1);
    expect(pickNext(q, () => false)).toBe(-1);
  });
});

/** A fake executor world: runs complete when the test says so, so concurrency is observable. */
function world(
  stages: ReturnType<typeof fakeStage>[],
  capacity: PoolCapacity,
  checks: Record<string, CheckOutcome['kind'] | 'fresh'> = {},
  keepGoing = false,
  pool = new ResourcePool(capacity),
) {
  const p = buildPipeline(stages, { root: '/p', exists: () => true });
  if (!p.ok) throw new Error(p.error[0]!.message);
  const plan = makePlan(p.value, { targets: [], singleItem: false, downstream: false });
  if (!plan.ok) throw new Error('plan');
  const running = new Map<string, { lease: Lease; finish: (r: 'succeeded' | 'failed') => void; release: () => void }>();
  let maxConcurrent = 0;
  const started: string[] = [];
  const skipped: [string, string | undefined][] = [];
  const sched = new Scheduler(
    plan.value,
    pool,
    {
      check: (s) => {
        const k = checks[s] ?? 'run';
        if (k === 'fresh') return Promise.resolve({ kind: 'done', outcome: 'fresh' });
        if (k === 'failed') return Promise.resolve({ kind: 'failed' });
        return Promise.resolve({ kind: 'run', demand: p.value.stages.get(s)!.resources });
      },
      run: (s, lease, _signal, release) =>
        new Promise((resolve) => {
          started.push(s);
          running.set(s, { lease, finish: resolve, release });
          maxConcurrent = Math.max(maxConcurrent, running.size);
        }),
      skipped: (s, by) => skipped.push([s, by]),
    },
    // Every ready check in one turn (no time slices), so what these tests see does not depend on
    // how fast this machine is; the slicing has its own tests below.
    { keepGoing, checkSliceMs: Infinity },
  );
  const controller = new AbortController();
  const done = sched.run(controller.signal);
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return {
    done,
    running,
    started,
    skipped,
    controller,
    max: () => maxConcurrent,
    settle,
    finish: async (s: string, r: 'succeeded' | 'failed' = 'succeeded') => {
      const job = running.get(s);
      if (!job) throw new Error(`${s} is not running (running: ${[...running.keys()].join(',')})`);
      running.delete(s);
      job.finish(r);
      await settle();
    },
  };
}

describe('Scheduler', () => {
  it('an early release starts the next queued stage while the first still records; dependents wait for it to settle', async () => {
    const w = world([fakeStage('a', { outs: ['a'] }), fakeStage('b', { outs: ['b'] }), fakeStage('c', { deps: ['a'], outs: ['c'] })], cap({ cpus: 1 }));
    await w.settle();
    expect(w.started).toEqual(['a']);
    // a's processes ended: its slot goes to b at once, though a has not settled (it is saving its outs).
    w.running.get('a')!.release();
    w.running.get('a')!.release(); // twice is harmless
    await w.settle();
    expect(w.started).toEqual(['a', 'b']);
    // c depends on a: it is not started before a settles, even with the slot free again.
    w.running.get('b')!.release();
    await w.settle();
    expect(w.started).toEqual(['a', 'b']);
    await w.finish('a'); // settling after an early release does not release the lease a second time
    expect(w.started).toEqual(['a', 'b', 'c']);
    await w.finish('b');
    await w.finish('c');
    expect([...(await w.done).values()]).toEqual(['succeeded', 'succeeded', 'succeeded']);
  });

  it('runs independent stages in parallel up to the CPU slots, dependents after', async () => {
    const w = world([fakeStage('a', { outs: ['a'] }), fakeStage('b', { outs: ['b'] }), fakeStage('c', { outs: ['c'] }), fakeStage('d', { deps: ['a'], outs: ['d'] })], cap({ cpus: 2 }));
    await w.settle();
    expect([...w.running.keys()]).toEqual(['a', 'b']);
    await w.finish('a');
    expect([...w.running.keys()].sort()).toEqual(['b', 'c']);
    await w.finish('b');
    expect([...w.running.keys()].sort()).toEqual(['c', 'd']);
    await w.finish('c');
    await w.finish('d');
    const out = await w.done;
    expect([...out.values()]).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(w.max()).toBe(2);
  });

  it('never runs more GPU stages than GPUs x slots, and hands each its own GPU', async () => {
    const stages = Array.from({ length: 6 }, (_, i) => fakeStage(`g${i}`, { outs: [`g${i}`], gpus: 1 }));
    const w = world(stages, cap({ cpus: 8, gpuIds: ['0', '1'], gpuSlots: 1 }));
    await w.settle();
    for (let round = 0; round < 3; round++) {
      const now = [...w.running.entries()];
      expect(now.length).toBe(2);
      expect(now.map(([, j]) => j.lease.gpuIds[0]).sort()).toEqual(['0', '1']);
      for (const [s] of now) await w.finish(s);
    }
    await w.done;
    expect(w.max()).toBe(2);
  });

  it('fresh stages take no slot; a failure stops new runs by default and skips dependents', async () => {
    const w = world(
      [fakeStage('ok', { outs: ['ok'] }), fakeStage('bad', { outs: ['bad'] }), fakeStage('after', { deps: ['bad'], outs: ['af'] }), fakeStage('late', { outs: ['late'] })],
      cap({ cpus: 1 }),
      { ok: 'fresh' },
    );
    await w.settle();
    expect([...w.running.keys()]).toEqual(['bad']);
    await w.finish('bad', 'failed');
    const out = await w.done;
    expect(Object.fromEntries(out)).toEqual({ ok: 'fresh', bad: 'failed', after: 'skipped', late: 'not-run' });
    expect(w.skipped).toEqual([
      ['after', 'bad'],
      ['late', undefined],
    ]);
  });

  it('with keep-going, independent branches go on after a failure', async () => {
    const w = world([fakeStage('bad', { outs: ['bad'] }), fakeStage('after', { deps: ['bad'], outs: ['af'] }), fakeStage('late', { outs: ['late'] })], cap({ cpus: 1 }), {}, true);
    await w.settle();
    await w.finish('bad', 'failed');
    await w.finish('late');
    expect(Object.fromEntries(await w.done)).toEqual({ bad: 'failed', after: 'skipped', late: 'succeeded' });
  });

  it('a check still in flight a turn later (hashing a big file) does not hold back a stage ready to run', async () => {
    const stages = [fakeStage('quick', { outs: ['q'] }), fakeStage('slow', { outs: ['s'] })];
    const p = buildPipeline(stages, { root: '/p', exists: () => true });
    if (!p.ok) throw new Error(p.error[0]!.message);
    const plan = makePlan(p.value, { targets: [], singleItem: false, downstream: false });
    if (!plan.ok) throw new Error('plan');
    let releaseSlow: (() => void) | undefined;
    const started: string[] = [];
    const finishers = new Map<string, () => void>();
    const sched = new Scheduler(
      plan.value,
      new ResourcePool(cap({ cpus: 2 })),
      {
        check: (s) => {
          const run = { kind: 'run' as const, demand: p.value.stages.get(s)!.resources };
          if (s !== 'slow') return Promise.resolve(run);
          return new Promise((resolve) => (releaseSlow = () => resolve(run)));
        },
        run: (s) =>
          new Promise((resolve) => {
            started.push(s);
            finishers.set(s, () => resolve('succeeded'));
          }),
        skipped: () => undefined,
      },
      { keepGoing: false, checkSliceMs: Infinity },
    );
    const done = sched.run(new AbortController().signal);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(started).toEqual([]); // within the turn, runs wait for the checks in flight
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['quick']);
    releaseSlow!();
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['quick', 'slow']);
    finishers.get('quick')!();
    finishers.get('slow')!();
    expect(Object.fromEntries(await done)).toEqual({ quick: 'succeeded', slow: 'succeeded' });
  });

  it('starts the longest critical path first', async () => {
    const w = world([fakeStage('short', { outs: ['s'] }), fakeStage('long1', { outs: ['l1'] }), fakeStage('long2', { deps: ['l1'], outs: ['l2'] })], cap({ cpus: 1 }));
    await w.settle();
    expect(w.started).toEqual(['long1']);
  });

  it('schedulers sharing one pool (concurrent experiments) wait for the slot another frees', async () => {
    const pool = new ResourcePool(cap({ cpus: 4, gpuIds: ['0'] }));
    const a = world([fakeStage('ga', { outs: ['ga'], gpus: 1 })], pool.capacity, {}, false, pool);
    const b = world([fakeStage('gb', { outs: ['gb'], gpus: 1 })], pool.capacity, {}, false, pool);
    await a.settle();
    await b.settle();
    expect([...a.running.keys(), ...b.running.keys()]).toEqual(['ga']);
    await a.finish('ga');
    await b.settle();
    expect([...b.running.keys()]).toEqual(['gb']);
    expect(b.running.get('gb')!.lease.gpuIds).toEqual(['0']);
    await b.finish('gb');
    expect(Object.fromEntries(await a.done)).toEqual({ ga: 'succeeded' });
    expect(Object.fromEntries(await b.done)).toEqual({ gb: 'succeeded' });
  });

  it('starts checks best first and a slice at a time, so a run starts before every ready stage is hashed', async () => {
    // Five ready stages; each check "hashes" (busy-waits) 3 ms, the slice is 1 ms: one check per turn.
    const stages = [fakeStage('low1', { outs: ['l1'] }), fakeStage('low2', { outs: ['l2'] }), fakeStage('high', { outs: ['h'] }), fakeStage('after', { deps: ['h'], outs: ['a'] }), fakeStage('low3', { outs: ['l3'] })];
    const p = buildPipeline(stages, { root: '/p', exists: () => true });
    if (!p.ok) throw new Error(p.error[0]!.message);
    const plan = makePlan(p.value, { targets: [], singleItem: false, downstream: false });
    if (!plan.ok) throw new Error('plan');
    const events: string[] = [];
    const finishers = new Map<string, () => void>();
    const sched = new Scheduler(
      plan.value,
      new ResourcePool(cap({ cpus: 1 })),
      {
        check: (s) => {
          events.push(`check ${s}`);
          const end = performance.now() + 3;
          while (performance.now() < end) {
            // the synchronous part of hashing a stage's inputs
          }
          return Promise.resolve({ kind: 'run', demand: p.value.stages.get(s)!.resources });
        },
        run: (s) =>
          new Promise((resolve) => {
            events.push(`run ${s}`);
            finishers.set(s, () => resolve('succeeded'));
          }),
        skipped: () => undefined,
      },
      { keepGoing: false, checkSliceMs: 1 },
    );
    const done = sched.run(new AbortController().signal);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    // The longest path (high -> after) is checked first and runs before the others are even checked.
    expect(events).toEqual(['check high', 'run high']);
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['check high', 'run high', 'check low1']);
    for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['check high', 'run high', 'check low1', 'check low2', 'check low3']);
    finishers.get('high')!();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    // high's slot went to the best queued stage at once; `after` became ready and was checked.
    expect(events.slice(5).sort()).toEqual(['check after', 'run low1']);
    for (const s of ['low1', 'low2', 'low3', 'after']) {
      // Equal priorities (one stage each to the end) run in plan order.
      expect(events.at(-1)).toBe(`run ${s}`);
      finishers.get(s)!();
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
    }
    expect(Object.fromEntries(await done)).toEqual({ low1: 'succeeded', low2: 'succeeded', high: 'succeeded', after: 'succeeded', low3: 'succeeded' });
  });

  it('abort while checks wait for their slice ends the run with them not run', async () => {
    const stages = ['a', 'b', 'c'].map((n) => fakeStage(n, { outs: [n] }));
    const p = buildPipeline(stages, { root: '/p', exists: () => true });
    if (!p.ok) throw new Error(p.error[0]!.message);
    const plan = makePlan(p.value, { targets: [], singleItem: false, downstream: false });
    if (!plan.ok) throw new Error('plan');
    const controller = new AbortController();
    const checked: string[] = [];
    const sched = new Scheduler(
      plan.value,
      new ResourcePool(cap({ cpus: 1 })),
      {
        check: (s) => {
          checked.push(s);
          const end = performance.now() + 2;
          while (performance.now() < end) {
            // hashing
          }
          return Promise.resolve({ kind: 'failed' });
        },
        run: () => Promise.resolve('succeeded'),
        skipped: () => undefined,
      },
      { keepGoing: true, checkSliceMs: 1 },
    );
    const done = sched.run(controller.signal);
    controller.abort();
    expect(Object.fromEntries(await done)).toEqual({ a: 'failed', b: 'not-run', c: 'not-run' });
    expect(checked).toEqual(['a']);
  });

  it('abort stops starting stages', async () => {
    const w = world([fakeStage('a', { outs: ['a'] }), fakeStage('b', { outs: ['b'] })], cap({ cpus: 1 }));
    await w.settle();
    w.controller.abort();
    await w.finish('a', 'failed');
    expect(Object.fromEntries(await w.done)).toEqual({ a: 'failed', b: 'not-run' });
  });
});
