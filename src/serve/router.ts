/**
 * Which loaded model answers a request: the primary, or, for a weighted share of request ids, the
 * canary. The share is sticky: a request id always hashes (FNV-1a, 32 bits) to the same bucket of
 * 10 000, so a client that repeats its id sees one version. Swapping a slot (a promotion or a
 * rollback picked up from the registry) replaces one reference: prediction is synchronous, so a
 * request that picked the old model has finished with it before the swap can run, and the old
 * model is disposed after the current turn. Nothing in flight is dropped.
 * It does not load models or watch the registry (commands/serve.ts does).
 */
import type { LoadedModel } from './predictor.js';

export interface Slot {
  readonly name: string;
  readonly version: string;
  readonly model: LoadedModel;
}

export const BUCKETS = 10_000;

/** FNV-1a over the UTF-16 code units; deterministic across processes and platforms. */
export function bucketOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

/** `NAME@V:10%` (or `:0.1`) -> the ref and the share in [0, 1]. */
export function parseCanary(spec: string): { ref: string; share: number } | { error: string } {
  const m = /^(.+):(\d+(?:\.\d+)?)(%?)$/.exec(spec);
  if (!m) return { error: `--canary ${spec}: expected NAME@VERSION:PERCENT, e.g. sentiment@v1.3.0:10%` };
  const share = m[3] === '%' ? Number(m[2]) / 100 : Number(m[2]);
  if (!(share > 0 && share < 1)) return { error: `--canary ${spec}: the share must be between 0 and 100 % (exclusive)` };
  return { ref: m[1] as string, share };
}

export class Router {
  private primarySlot: Slot;
  private canarySlot: Slot | undefined;
  private threshold = 0;
  /** Called with each slot replaced, after the swap. */
  onSwap: (role: 'primary' | 'canary', from: Slot | undefined, to: Slot | undefined) => void = () => {};

  constructor(primary: Slot, canary?: { slot: Slot; share: number }) {
    this.primarySlot = primary;
    if (canary) this.setCanary(canary.slot, canary.share);
  }

  get primary(): Slot {
    return this.primarySlot;
  }

  get canary(): { slot: Slot; share: number } | undefined {
    return this.canarySlot ? { slot: this.canarySlot, share: this.threshold / BUCKETS } : undefined;
  }

  pick(requestId: string): Slot {
    if (this.canarySlot && bucketOf(requestId) < this.threshold) return this.canarySlot;
    return this.primarySlot;
  }

  /** Every slot serving now (for metadata and readiness). */
  slots(): Slot[] {
    return this.canarySlot ? [this.primarySlot, this.canarySlot] : [this.primarySlot];
  }

  swapPrimary(next: Slot): void {
    const prev = this.primarySlot;
    if (prev === next) return;
    this.primarySlot = next;
    this.retire(prev);
    this.onSwap('primary', prev, next);
  }

  setCanary(slot: Slot | undefined, share = this.threshold / BUCKETS): void {
    const prev = this.canarySlot;
    this.canarySlot = slot;
    this.threshold = slot ? Math.round(share * BUCKETS) : 0;
    if (prev && prev !== slot) this.retire(prev);
    if (prev !== slot) this.onSwap('canary', prev, slot);
  }

  private retire(s: Slot): void {
    if (this.slots().some((x) => x.model === s.model)) return;
    setImmediate(() => s.model.dispose());
  }
}
