import { describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../../src/serve/predictor.js';
import { bucketOf, parseCanary, Router, type Slot } from '../../../src/serve/router.js';

const fake = (version: string, disposed: string[]): Slot => ({
  name: 'm',
  version,
  model: { dir: version, manifest: {} as LoadedModel['manifest'], predict: (t) => t.map(() => ({ score: 0.5, label: 1 })), dispose: () => void disposed.push(version) },
});

describe('Router', () => {
  it('hashes request ids to fixed buckets (FNV-1a), so a canary share is sticky', () => {
    expect(bucketOf('')).toBe(0x811c9dc5 % 10_000);
    expect(bucketOf('a')).toBe(0xe40c292c % 10_000); // FNV-1a 32 of "a"
    const r = new Router(fake('v1', []), { slot: fake('v2', []), share: 0.25 });
    const picks = Array.from({ length: 4000 }, (_, i) => r.pick(`id-${i}`).version);
    const share = picks.filter((v) => v === 'v2').length / picks.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.28);
    expect(Array.from({ length: 4000 }, (_, i) => r.pick(`id-${i}`).version)).toEqual(picks);
  });

  it('swaps the primary atomically and disposes the old model after the current turn', async () => {
    const disposed: string[] = [];
    const r = new Router(fake('v1', disposed));
    const swaps: string[] = [];
    r.onSwap = (role, from, to) => swaps.push(`${role} ${from?.version} -> ${to?.version}`);
    const before = r.pick('x');
    r.swapPrimary(fake('v2', disposed));
    expect(before.model.predict(['still usable this turn'])).toHaveLength(1);
    expect(disposed).toEqual([]);
    await new Promise((res) => setImmediate(res));
    expect(disposed).toEqual(['v1']);
    expect(r.pick('x').version).toBe('v2');
    expect(swaps).toEqual(['primary v1 -> v2']);
  });

  it('parses --canary shares and refuses nonsense', () => {
    expect(parseCanary('m@v1.2.0:10%')).toEqual({ ref: 'm@v1.2.0', share: 0.1 });
    expect(parseCanary('m#staging:0.05')).toEqual({ ref: 'm#staging', share: 0.05 });
    expect(parseCanary('m@v1:0%')).toHaveProperty('error');
    expect(parseCanary('m@v1:150%')).toHaveProperty('error');
    expect(parseCanary('m@v1')).toHaveProperty('error');
  });
});
