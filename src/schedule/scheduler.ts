/**
 * The Scheduler: a ready queue over the plan. A stage is checked (hashed, found fresh or restored)
 * as soon as all its upstream stages are done, without holding any slot; only a stage that must run
 * enters the run queue, and the highest critical-path priority whose demand fits the pool starts.
 * After a failure it stops starting runs (default) or, with keep-going, skips only the dependents.
 * It knows nothing of files, caches or processes: those sit behind StageHooks.
 *
 * Checks start in priority order, a time slice at a time: a check hashes its inputs synchronously
 * (stat cache, small files), so starting the whole ready set at once (100 stages over 10 000 input
 * files in a clean build) kept the first run waiting ~150 ms for every input to be hashed. Between
 * slices the event loop starts the runs the finished checks queued and handles exits, so the rest of
 * the hashing fills the time the runs leave the main thread idle. The ready set still competes on
 * priority: what is not checked yet ranks at most as high as what already was.
 */
import type { Plan } from '../graph/plan.js';
import type { ResourceDemand } from '../model/stage.js';
import type { StageName } from '../util/brand.js';
import type { Lease, ResourcePool } from './resources.js';

export type CheckOutcome =
  | { readonly kind: 'done'; readonly outcome: 'fresh' | 'restored' | 'frozen' }
  | { readonly kind: 'failed' }
  | { readonly kind: 'run'; readonly demand: ResourceDemand };

export type Outcome = 'fresh' | 'restored' | 'frozen' | 'succeeded' | 'failed' | 'skipped' | 'not-run';

export interface StageHooks {
  check(stage: StageName): Promise<CheckOutcome>;
  /**
   * Runs a stage under `lease`. `release` gives the lease back before the promise settles (once the
   * stage's processes have ended, while its outs are still being saved and recorded), so the next
   * stage can start; calling it more than once, or never, is fine.
   */
  run(stage: StageName, lease: Lease, signal: AbortSignal, release: () => void): Promise<'succeeded' | 'failed'>;
  /** A stage will not be looked at: an upstream failed (`blockedBy`) or the run stopped. */
  skipped(stage: StageName, blockedBy: StageName | undefined): void;
}

export interface QueuedStage {
  readonly stage: StageName;
  readonly demand: ResourceDemand;
  readonly priority: number;
  readonly seq: number;
}

/**
 * Pure pick: the highest-priority queued stage (ties by plan order) whose demand the pool can
 * lease now. Lower-priority stages may start ahead of one that does not fit, so slots never idle.
 */
export function pickNext(queue: readonly QueuedStage[], fits: (d: ResourceDemand) => boolean): number {
  let best = -1;
  for (let i = 0; i < queue.length; i++) {
    const q = queue[i]!;
    if (best !== -1) {
      const b = queue[best]!;
      if (q.priority < b.priority || (q.priority === b.priority && q.seq > b.seq)) continue;
    }
    if (fits(q.demand)) best = i;
  }
  return best;
}

export interface SchedulerOptions {
  readonly keepGoing: boolean;
  /** How long one turn of the event loop may spend starting checks (ms); default CHECK_SLICE_MS. */
  readonly checkSliceMs?: number;
}

/**
 * Starting checks stops after this long in one turn: short, because an exit that arrives meanwhile
 * waits for the slice to end before its slot's next stage starts (a 1000-stage clean build measured
 * with 1 ms: the first run starts after one stage's inputs are hashed instead of all of them).
 */
export const CHECK_SLICE_MS = 1;

/** Ready-to-check stages, highest priority (then earliest in plan order) first: a binary heap. */
class CheckQueue {
  private readonly heap: { stage: StageName; priority: number; seq: number }[] = [];

  get length(): number {
    return this.heap.length;
  }

  private before(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.priority > b.priority || (a.priority === b.priority && a.seq < b.seq);
  }

  private swap(i: number, j: number): void {
    const t = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = t;
  }

  push(stage: StageName, priority: number, seq: number): void {
    this.heap.push({ stage, priority, seq });
    for (let i = this.heap.length - 1; i > 0; ) {
      const up = (i - 1) >> 1;
      if (!this.before(i, up)) break;
      this.swap(i, up);
      i = up;
    }
  }

  pop(): StageName | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.heap.length && this.before(l, m)) m = l;
        if (r < this.heap.length && this.before(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top.stage;
  }
}

export class Scheduler {
  constructor(
    private readonly plan: Plan,
    private readonly pool: ResourcePool,
    private readonly hooks: StageHooks,
    private readonly opts: SchedulerOptions,
  ) {}

  run(signal: AbortSignal): Promise<Map<StageName, Outcome>> {
    const { plan, pool, hooks } = this;
    const outcomes = new Map<StageName, Outcome>();
    const waitingOn = new Map<StageName, number>();
    for (const s of plan.stages) waitingOn.set(s, plan.upstream.get(s)!.length);
    const seqOf = new Map(plan.stages.map((s, i) => [s, i]));
    const queue: QueuedStage[] = [];
    const toCheck = new CheckQueue();
    const sliceMs = this.opts.checkSliceMs ?? CHECK_SLICE_MS;
    let drainScheduled = false;
    let pending = 0; // checks and runs in flight
    let checking = 0; // checks in flight
    let stopped = false;
    let crashed: Error | undefined;

    let unsubscribe = (): void => undefined;
    return new Promise((resolve, reject) => {
      const maybeDone = (): void => {
        if (pending > 0) return;
        if ((queue.length > 0 || toCheck.length > 0 || drainScheduled) && !stopped) return;
        unsubscribe();
        // A hook that threw broke an invariant; its siblings have finished (children reaped) by now.
        if (crashed) return reject(crashed);
        for (const s of plan.stages) {
          if (!outcomes.has(s)) {
            outcomes.set(s, 'not-run');
            hooks.skipped(s, undefined);
          }
        }
        resolve(outcomes);
      };

      const blockDownstream = (failed: StageName): void => {
        const stack = [...plan.downstream.get(failed)!];
        while (stack.length > 0) {
          const d = stack.pop()!;
          if (outcomes.has(d)) continue;
          outcomes.set(d, 'skipped');
          hooks.skipped(d, failed);
          stack.push(...plan.downstream.get(d)!);
        }
      };

      const settle = (s: StageName, outcome: Outcome): void => {
        outcomes.set(s, outcome);
        if (outcome === 'failed') {
          blockDownstream(s);
          if (!this.opts.keepGoing) stopped = true;
        } else {
          for (const d of plan.downstream.get(s)!) {
            const n = waitingOn.get(d)! - 1;
            waitingOn.set(d, n);
            if (n === 0 && !outcomes.has(d)) toCheck.push(d, plan.priority.get(d) ?? 0, seqOf.get(d)!);
          }
          drainChecks();
        }
      };

      const fail = (e: unknown): void => {
        stopped = true;
        crashed ??= e instanceof Error ? e : new Error(String(e));
        maybeDone();
      };

      // Starts ready checks, best first, until the slice is used up; the rest wait for a later turn.
      const drainChecks = (): void => {
        const until = performance.now() + sliceMs;
        let started = 0;
        while (toCheck.length > 0 && !stopped && !signal.aborted) {
          if (started > 0 && performance.now() >= until) {
            if (!drainScheduled) {
              drainScheduled = true;
              setImmediate(() => {
                drainScheduled = false;
                drainChecks();
                maybeDone();
              });
            }
            return;
          }
          const s = toCheck.pop()!;
          if (outcomes.has(s)) continue;
          started++;
          startCheck(s);
        }
      };

      const startCheck = (s: StageName): void => {
        if (stopped || signal.aborted) return;
        pending++;
        checking++;
        hooks.check(s).then((c) => {
          pending--;
          checking--;
          if (c.kind === 'done') settle(s, c.outcome);
          else if (c.kind === 'failed') settle(s, 'failed');
          else queue.push({ stage: s, demand: c.demand, priority: plan.priority.get(s) ?? 0, seq: seqOf.get(s)! });
          pump();
        }, (e: unknown) => {
          pending--;
          checking--;
          fail(e);
        });
      };

      // Start runs only once the checks in flight have settled, so the whole ready set competes on
      // priority: checks that hit the stat cache or hash small files settle within the same turn.
      // One still in flight a turn later is reading a big file (or restoring, fetching): it holds
      // the queued stages back no longer, so their slots do not idle while it hashes.
      let turnWaited = false;
      let turnScheduled = false;
      const pump = (): void => {
        if (signal.aborted) stopped = true;
        if (checking > 0 && queue.length > 0 && !turnWaited && !turnScheduled) {
          turnScheduled = true;
          setImmediate(() => {
            turnScheduled = false;
            turnWaited = true;
            pump();
            turnWaited = false;
          });
        }
        while (!stopped && (checking === 0 || turnWaited) && queue.length > 0) {
          const i = pickNext(queue, (d) => pool.fits(d));
          if (i === -1) break;
          const chosen = queue[i]!;
          queue.splice(i, 1);
          const held: Lease | undefined = pool.tryAcquire(chosen.demand);
          if (!held) throw new Error('Internal error: a demand that fits could not be leased');
          pending++;
          // Released once: early by the hook (the slot's next stage starts while this one records:
          // the pool's onRelease pumps), else when the run settles.
          let released = false;
          const release = (): void => {
            if (released) return;
            released = true;
            pool.release(held);
          };
          hooks.run(chosen.stage, held, signal, release).then((r) => {
            release();
            pending--;
            settle(chosen.stage, r);
            pump();
          }, (e: unknown) => {
            release();
            pending--;
            fail(e);
          });
        }
        maybeDone();
      };

      for (const s of plan.stages) if (waitingOn.get(s) === 0) toCheck.push(s, plan.priority.get(s) ?? 0, seqOf.get(s)!);
      drainChecks();
      // A pool shared with other schedulers (concurrent experiments) frees slots this one waits for.
      unsubscribe = pool.onRelease(() => pump());
      signal.addEventListener('abort', () => pump(), { once: true });
      pump();
    });
  }
}
