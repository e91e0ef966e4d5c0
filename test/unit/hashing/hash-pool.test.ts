import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher, POOL_MIN_SIZE } from '../../../src/hashing/file-hasher.js';
import { HashPool, type BigFileHasher } from '../../../src/hashing/hash-pool.js';
import { StatCache } from '../../../src/hashing/stat-cache.js';
import { loadHasher, type Hasher } from '../../../src/hashing/xxhash.js';
import { age, makeTmp, patternBytes as bytes, rmTmp } from './tmp.js';

let hasher: Hasher;
let root: string;
let pool: HashPool;
beforeAll(async () => {
  hasher = await loadHasher();
  pool = new HashPool(2, hasher);
});
afterAll(() => pool.close());
beforeEach(() => {
  root = makeTmp();
});
afterEach(() => rmTmp(root));

describe('HashPool', () => {
  it('gives the same digest as the main-thread hasher, across read and slice boundaries', async () => {
    const sizes = [0, 5, (1 << 20) + 3, (4 << 20) + 1, (9 << 20) - 7];
    const files = sizes.map((n, i) => {
      const p = path.join(root, `f${i}`);
      fs.writeFileSync(p, bytes(n, i + 1));
      return p;
    });
    // All at once: more jobs than workers, so the queue and worker reuse are exercised.
    const digests = await Promise.all(files.map((f) => pool.hashFile(f)));
    digests.forEach((d, i) => {
      expect(d.bytes).toBe(sizes[i]);
      expect(d.hex).toBe(hasher.hashBytes(fs.readFileSync(files[i]!)));
    });
  });

  it('gives the same digests through the copying fallback (workers without the in-place module)', async () => {
    // One worker, three jobs at once: the first and the last run alone (read-ahead on libuv's pool),
    // the second while one waits (plain reads), so both of the worker's loops are exercised.
    const copying = new HashPool(1, hasher, null);
    try {
      const sizes = [(4 << 20) + 9, 7, (8 << 20) - 1];
      const files = sizes.map((n, i) => {
        const p = path.join(root, `c${i}`);
        fs.writeFileSync(p, bytes(n, 40 + i));
        return p;
      });
      const got = await Promise.all(files.map((f) => copying.hashFile(f)));
      got.forEach((d, i) => expect(d).toEqual({ hex: hasher.hashBytes(fs.readFileSync(files[i]!)), bytes: sizes[i] }));
    } finally {
      await copying.close();
    }
  });

  it('rejects a missing file with its fs error code, and keeps working afterwards', async () => {
    await expect(pool.hashFile(path.join(root, 'nope'))).rejects.toMatchObject({ code: 'ENOENT' });
    fs.writeFileSync(path.join(root, 'ok'), 'alpha\n');
    expect((await pool.hashFile(path.join(root, 'ok'))).hex).toBe('e56631e04077c052');
  });
});

describe('FileHasher with a big-file hasher', () => {
  function big(name: string, fill: number): string {
    const p = path.join(root, name);
    fs.writeFileSync(p, Buffer.alloc(POOL_MIN_SIZE, fill));
    age(root, [name]);
    return p;
  }

  it('sends files of POOL_MIN_SIZE and more to it, together, and caches the result', async () => {
    const a = big('a.bin', 1);
    const b = big('b.bin', 2);
    fs.writeFileSync(path.join(root, 'small.txt'), 'alpha\n');
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const counting: BigFileHasher = async (abs) => {
      calls.push(path.basename(abs));
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await pool.hashFile(abs);
      } finally {
        inFlight--;
      }
    };
    const cache = StatCache.inMemory({ root, now: () => Date.now() + 60_000 }); // age() cannot put ctimes back: a later clock stands for that
    const fh = new FileHasher({ root, hasher, statCache: cache, bigFileHasher: counting });
    const dir = await fh.hash('.');
    expect(calls.sort()).toEqual(['a.bin', 'b.bin']);
    expect(maxInFlight).toBe(2);
    const plain = await new FileHasher({ root, hasher, statCache: StatCache.inMemory({ root }) }).hash('.');
    expect(dir).toEqual(plain);
    expect(cache.lookup(a, fs.statSync(a))).toBe(hasher.hashBytes(fs.readFileSync(a)));
    expect(cache.lookup(b, fs.statSync(b))).toBeDefined();
  });

  it('hands it every uncached big file at once (the pool queues its own jobs)', async () => {
    // Sparse files: the fake hasher never reads them, so they cost no disk.
    const names = Array.from({ length: 7 }, (_, i) => `s${i}.bin`);
    for (const n of names) {
      fs.writeFileSync(path.join(root, n), '');
      fs.truncateSync(path.join(root, n), POOL_MIN_SIZE);
    }
    age(root, names);
    let inFlight = 0;
    let maxInFlight = 0;
    const seen: string[] = [];
    const fake: BigFileHasher = async (abs) => {
      seen.push(path.basename(abs));
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return { hex: '0123456789abcdef', bytes: POOL_MIN_SIZE };
    };
    const fh = new FileHasher({ root, hasher, statCache: StatCache.inMemory({ root }), bigFileHasher: fake });
    const dir = (await fh.hash('.'))!;
    expect(seen.sort()).toEqual(names);
    expect(maxInFlight).toBe(7);
    expect(dir.nfiles).toBe(7);
  });

  it('falls back to the main thread when the big-file hasher fails', async () => {
    const a = big('a.bin', 7);
    const failing: BigFileHasher = () => Promise.reject(new Error('worker died'));
    const fh = new FileHasher({ root, hasher, statCache: StatCache.inMemory({ root }), bigFileHasher: failing });
    expect((await fh.hash('a.bin'))!.hash).toBe(hasher.hashBytes(fs.readFileSync(a)));
  });
});
