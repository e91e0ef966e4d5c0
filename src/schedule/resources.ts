/**
 * The ResourcePool: CPU job slots, GPU slots (K stages may share one GPU) and memory. Leases are
 * taken only to run a command, never to hash or restore. `pickGpus` is the pure slot-picking rule;
 * the pool only keeps counts. It does not order stages (scheduler.ts does).
 */
import os from 'node:os';
import type { ResourceDemand } from '../model/stage.js';

export interface PoolCapacity {
  /** CPU job slots (`-j`). */
  readonly cpus: number;
  /** GPU ids (`--gpus 2` gives ['0','1'], `--gpus 1,3` gives ['1','3']). */
  readonly gpuIds: readonly string[];
  /** Stages that may share one GPU (`--gpu-slots`). */
  readonly gpuSlots: number;
  /** MiB; 0 = memory is not accounted. */
  readonly memoryMb: number;
}

/** This machine's capacity: `jobs` CPU slots (default: every core), these GPUs, all its memory. */
export function localCapacity(jobs: number | undefined, gpuIds: readonly string[], gpuSlots: number): PoolCapacity {
  return { cpus: jobs ?? Math.max(1, os.availableParallelism()), gpuIds, gpuSlots, memoryMb: Math.floor(os.totalmem() / 2 ** 20) };
}

export interface Lease {
  readonly cpus: number;
  readonly gpuIds: readonly string[];
  readonly memoryMb: number;
}

/** Why a demand can never fit, or undefined when it can. */
export function neverFits(d: ResourceDemand, cap: PoolCapacity): string | undefined {
  if (d.gpus > cap.gpuIds.length) {
    return `it needs ${d.gpus} GPU${d.gpus === 1 ? '' : 's'} but ${cap.gpuIds.length === 0 ? 'no GPU is available' : `only ${cap.gpuIds.length} ${cap.gpuIds.length === 1 ? 'is' : 'are'} available (${cap.gpuIds.join(',')})`}`;
  }
  if (cap.memoryMb > 0 && d.memoryMb > cap.memoryMb) return `it needs ${d.memoryMb} MiB of memory but the pool has ${cap.memoryMb} MiB`;
  return undefined;
}

/**
 * Picks `count` distinct GPUs with a free slot, preferring the least-loaded (then the lowest index),
 * so shared GPUs fill evenly. Returns undefined if not enough GPUs have a free slot.
 */
export function pickGpus(used: ReadonlyMap<string, number>, cap: PoolCapacity, count: number): string[] | undefined {
  if (count === 0) return [];
  const free = cap.gpuIds
    .map((id, index) => ({ id, index, load: used.get(id) ?? 0 }))
    .filter((g) => g.load < cap.gpuSlots)
    .sort((a, b) => a.load - b.load || a.index - b.index);
  if (free.length < count) return undefined;
  return free
    .slice(0, count)
    .sort((a, b) => a.index - b.index)
    .map((g) => g.id);
}

export class ResourcePool {
  private cpusUsed = 0;
  private memUsed = 0;
  private readonly gpuLoad = new Map<string, number>();
  /** Schedulers sharing this pool (concurrent experiments) wait for slots another one frees. */
  private readonly releaseListeners = new Set<() => void>();

  constructor(readonly capacity: PoolCapacity) {}

  /** Calls `fn` (on a later microtask) whenever a lease is released; returns the unsubscribe. */
  onRelease(fn: () => void): () => void {
    this.releaseListeners.add(fn);
    return () => void this.releaseListeners.delete(fn);
  }

  /** CPU demand is clamped to the pool, so `-j 1` still runs a 4-CPU stage (alone). */
  private cpusFor(d: ResourceDemand): number {
    return Math.min(Math.max(d.cpus, 1), this.capacity.cpus);
  }

  fits(d: ResourceDemand): boolean {
    if (this.cpusUsed + this.cpusFor(d) > this.capacity.cpus) return false;
    if (this.capacity.memoryMb > 0 && this.memUsed + d.memoryMb > this.capacity.memoryMb) return false;
    return pickGpus(this.gpuLoad, this.capacity, d.gpus) !== undefined;
  }

  tryAcquire(d: ResourceDemand): Lease | undefined {
    if (!this.fits(d)) return undefined;
    const cpus = this.cpusFor(d);
    const gpuIds = pickGpus(this.gpuLoad, this.capacity, d.gpus)!;
    this.cpusUsed += cpus;
    this.memUsed += d.memoryMb;
    for (const id of gpuIds) this.gpuLoad.set(id, (this.gpuLoad.get(id) ?? 0) + 1);
    return { cpus, gpuIds, memoryMb: d.memoryMb };
  }

  release(l: Lease): void {
    this.cpusUsed -= l.cpus;
    this.memUsed -= l.memoryMb;
    for (const id of l.gpuIds) this.gpuLoad.set(id, (this.gpuLoad.get(id) ?? 1) - 1);
    if (this.cpusUsed < 0 || this.memUsed < 0) throw new Error('Internal error: resource lease released twice');
    // Deferred so a listener never runs inside the releasing scheduler's own bookkeeping.
    for (const fn of this.releaseListeners) queueMicrotask(fn);
  }

  get idle(): boolean {
    return this.cpusUsed === 0;
  }
}
