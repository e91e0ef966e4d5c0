import { describe, expect, it } from 'vitest';
import { hex64, loadHasher } from '../../../src/hashing/xxhash.js';

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
