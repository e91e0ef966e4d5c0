import { describe, expect, it } from 'vitest';
import xxhash from 'xxhash-wasm';
import { copyingInPlace, hex64, loadHasher, type Hasher } from '../../../src/hashing/xxhash.js';
import { inPlaceModule } from '../../../src/hashing/in-place.js';
import { patternBytes } from './tmp.js';

// Reference values from Debian's `xxhsum -H1` (xxHash 0.8).
const GOLDEN: [string, string][] = [
  ['', 'ef46db3751d8e999'],
  ['a', 'd24ec4f1a98c6e5b'],
  ['abc', '44bc2cf5ad770999'],
  ['hello mlbuild\n', '0307f585c90a124d'],
  ['héllo', '3bd06310388ebbe4'], // UTF-8 bytes
];

describe('xxhash', () => {
  it('is a lazy singleton', async () => {
    const a = await loadHasher();
    const b = await loadHasher();
    expect(a).toBe(b);
  });

  it.each(GOLDEN)('xxh64(%j) = %s for strings, bytes and streams', async (input, want) => {
    const h = await loadHasher();
    const bytes = new TextEncoder().encode(input);
    expect(h.hashString(input)).toBe(want);
    expect(h.hashBytes(bytes)).toBe(want);
    const s = h.stream();
    for (let i = 0; i < bytes.length; i++) s.update(bytes.subarray(i, i + 1));
    expect(s.digest()).toBe(want);
  });

  it('interleaved streams do not interfere', async () => {
    const h = await loadHasher();
    const s1 = h.stream();
    const s2 = h.stream();
    s1.update(new TextEncoder().encode('ab'));
    s2.update(new TextEncoder().encode('hello '));
    s1.update(new TextEncoder().encode('c'));
    s2.update(new TextEncoder().encode('mlbuild\n'));
    expect(s1.digest()).toBe('44bc2cf5ad770999');
    expect(s2.digest()).toBe('0307f585c90a124d');
  });

  it('formats 64-bit values as 16 lowercase hex digits', () => {
    expect(hex64(0n)).toBe('0000000000000000');
    expect(hex64(0xabcn)).toBe('0000000000000abc');
    expect(hex64(2n ** 64n - 1n)).toBe('ffffffffffffffff');
  });
});

describe('xxhash in place (bytes hashed where they were read, in wasm memory)', () => {
  /** Feeds `data` through an in-place stream in `chunk`-byte pieces, alternating regions. */
  function inPlace(h: Hasher, data: Buffer, chunk: number, count = 2): string {
    const s = h.inPlace(chunk, count);
    let k = 0;
    for (let off = 0; off < data.length; off += chunk) {
      const n = Math.min(chunk, data.length - off);
      s.regions[k]!.set(data.subarray(off, off + n));
      s.update(k, n);
      k = (k + 1) % count;
    }
    return s.digest();
  }

  it.each(GOLDEN)('xxh64(%j) = %s', async (input, want) => {
    const h = await loadHasher();
    expect(inPlace(h, Buffer.from(input), 1)).toBe(want);
    expect(inPlace(h, Buffer.from(input), 64)).toBe(want);
  });

  it('equals the one-shot hash for any chunking, odd sizes and region counts, streams reused', async () => {
    const h = await loadHasher();
    // Sizes around xxh64's 32-byte stripes and the chunk edges; each stream reuses the last one's
    // instance, whose state must be reset completely (init64 alone does not).
    for (const [size, chunk, count] of [
      [0, 1024, 2],
      [31, 8, 2],
      [33, 32, 3],
      [5000, 1000, 2],
      [(1 << 20) + 5, 1 << 20, 2],
      [3 << 20, 1 << 20, 1],
    ] as const) {
      const data = patternBytes(size, size + 1);
      expect(inPlace(h, data, chunk, count), `${size} in ${chunk}s over ${count} regions`).toBe(h.hashBytes(data));
    }
  });

  it('keeps streams that are open at the same time apart, each in its own memory', async () => {
    const h = await loadHasher();
    const a = patternBytes(70_000, 1);
    const b = patternBytes(90_000, 2);
    const sa = h.inPlace(4096, 2);
    const sb = h.inPlace(4096, 2);
    for (let i = 0, off = 0; off < Math.max(a.length, b.length); i++, off += 4096) {
      for (const [s, d] of [[sa, a], [sb, b]] as const) {
        if (off >= d.length) continue;
        const n = Math.min(4096, d.length - off);
        s.regions[i % 2]!.set(d.subarray(off, off + n));
        s.update(i % 2, n);
      }
    }
    expect(sa.digest()).toBe(h.hashBytes(a));
    expect(sb.digest()).toBe(h.hashBytes(b));
  });

  it('uses the wasm module the package ships (the fast path is on), and the copying fallback agrees', async () => {
    const h = await loadHasher();
    expect(inPlaceModule((b) => h.hashBytes(b))).not.toBeNull();
    const fallback = copyingInPlace(await xxhash(), 1000, 2);
    const data = patternBytes(4321, 9);
    for (let off = 0, k = 0; off < data.length; off += 1000, k = 1 - k) {
      const n = Math.min(1000, data.length - off);
      fallback.regions[k]!.set(data.subarray(off, off + n));
      fallback.update(k, n);
    }
    expect(fallback.digest()).toBe(h.hashBytes(data));
  });

  it('refuses an update outside its regions and any use after digest', async () => {
    const h = await loadHasher();
    const s = h.inPlace(100, 2);
    expect(() => s.update(2, 1)).toThrow(/outside 2 regions of 100 bytes/);
    expect(() => s.update(0, 101)).toThrow(/outside/);
    s.update(0, 0);
    expect(s.digest()).toBe('ef46db3751d8e999');
    expect(() => s.update(0, 1)).toThrow(/after digest/);
    expect(() => s.digest()).toThrow(/twice/);
    s.release(); // harmless after digest
  });
});
