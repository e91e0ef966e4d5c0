/**
 * mulberry32: a tiny seeded PRNG on [0, 1) for the repository's scripts (bench/gen.mjs,
 * scripts/torture.mjs, scripts/drift-traffic.mjs), so a seed replays the same graph, fault points
 * or traffic. The showcase stages have their own TypeScript copy in stages/lib/rng.ts: stage code is
 * bundled per stage and its determinism is part of the pipeline's inputs. Not for cryptography.
 */
export function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
