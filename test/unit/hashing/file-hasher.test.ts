import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher, HashError } from '../../../src/hashing/file-hasher.js';
import { StatCache } from '../../../src/hashing/stat-cache.js';
import { loadHasher, type Hasher } from '../../../src/hashing/xxhash.js';
import { age, makeTmp, rmTmp, writeTree } from './tmp.js';

// Golden values: file hashes from `xxhsum -H1`; the directory hash is `xxhsum -H1` of the
// manifest text "a.txt\t<h>\t6\nsub/b.txt\t<h>\t5\nsub/deeper/c.txt\t<h>\t7\n" built by hand.
const H_ALPHA = 'e56631e04077c052'; // "alpha\n"
const H_BETA = 'c0c2235ddd188d50'; // "beta\n"
const H_GAMMA = 'f800c2015ea98be1'; // "gamma!\n"
const H_DIR = '341681fdd7457c8c.dir';
const TREE = { 'data/a.txt': 'alpha\n', 'data/sub/b.txt': 'beta\n', 'data/sub/deeper/c.txt': 'gamma!\n' };

let hasher: Hasher;
let root: string;
beforeAll(async () => {
  hasher = await loadHasher();
});
beforeEach(() => {
  root = makeTmp();
});
afterEach(() => rmTmp(root));

function fresh(cache = StatCache.inMemory({ root })): FileHasher {
  return new FileHasher({ root, hasher, statCache: cache });
}

describe('FileHasher files', () => {
  it('hashes a file by content (golden) and keeps the path as given', async () => {
    writeTree(root, TREE);
    expect(await fresh().hash('data/a.txt')).toEqual({ path: 'data/a.txt', hash: H_ALPHA, size: 6 });
  });

  it('accepts absolute paths (external deps)', async () => {
    writeTree(root, TREE);
    const abs = path.join(root, 'data/sub/b.txt');
    expect(await fresh().hash(abs)).toEqual({ path: abs, hash: H_BETA, size: 5 });
  });

  it('returns undefined for a missing path, or one under a file', async () => {
    writeTree(root, TREE);
    const fh = fresh();
    expect(await fh.hash('nope.txt')).toBeUndefined();
    expect(await fh.hash('data/a.txt/x')).toBeUndefined();
    expect(fh.hashSync('nope.txt')).toBeUndefined();
  });

  it('hashes an empty file as xxh64("")', async () => {
    writeTree(root, { 'e': '' });
    expect(await fresh().hash('e')).toEqual({ path: 'e', hash: 'ef46db3751d8e999', size: 0 });
  });

  it('streams large files; async (double-buffered) and sync paths agree with a one-shot hash', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024 + 12345);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeTree(root, { 'big.bin': big, 'dir/big.bin': big, 'dir/small': 'x' });
    const want = hasher.hashBytes(big);
    expect((await fresh().hash('big.bin'))!.hash).toBe(want);
    expect(fresh().hashSync('big.bin')!.hash).toBe(want);
    // Inside a directory, too (big file deferred to the async pass, then the manifest built).
    const viaDir = await fresh().manifest('dir');
    expect(viaDir).toEqual([
      { relpath: 'big.bin', hash: want, size: big.length },
      { relpath: 'small', hash: hasher.hashString('x'), size: 1 },
    ]);
    expect(fresh().manifestSync('dir')).toEqual(viaDir);
  });

  it('hashes files at the read-size edges (1 MiB small/large switch, 4 MiB reads) on every path', async () => {
    const MiB = 1 << 20;
    const sizes = [MiB - 1, MiB, MiB + 1, 4 * MiB, 8 * MiB, 16 * MiB, 16 * MiB + 1];
    const files: Record<string, Buffer> = {};
    sizes.forEach((n, i) => {
      const b = Buffer.alloc(n);
      for (let j = 0; j + 4 <= n; j += 512) b.writeUInt32LE(((j + i) * 2654435761) >>> 0, j);
      b[n - 1] = i + 1; // the last byte matters: a short final read must be hashed too
      files[`f${n}`] = b;
    });
    writeTree(root, files);
    // Several at once: the async readers share nothing but the module, so interleaving is harmless.
    const fh = fresh();
    const got = await Promise.all(sizes.map((n) => fh.hash(`f${n}`)));
    sizes.forEach((n, i) => {
      const want = hasher.hashBytes(files[`f${n}`]!);
      expect(got[i], `async ${n}`).toEqual({ path: `f${n}`, hash: want, size: n });
      expect(fresh().hashSync(`f${n}`)!.hash, `sync ${n}`).toBe(want);
    });
  });

  it('reads at most two big files at once on this thread, all of them in the end', async () => {
    // Sparse files (no disk), big enough for the double-buffered reader; the open descriptors into
    // the tree are counted on every turn of the event loop while it hashes.
    const names = ['a', 'b', 'c', 'd', 'e'].map((n) => `big/${n}.bin`);
    fs.mkdirSync(path.join(root, 'big'));
    for (const n of names) {
      fs.writeFileSync(path.join(root, n), '');
      fs.truncateSync(path.join(root, n), 24 << 20);
    }
    const openHere = (): number =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(path.join(root, 'big'));
        } catch {
          return false;
        }
      }).length;
    let max = 0;
    let done = false;
    const poll = (): void => {
      max = Math.max(max, openHere());
      if (!done) setImmediate(poll);
    };
    poll();
    const rec = await fresh().hash('big');
    done = true;
    const zero = hasher.hashBytes(Buffer.alloc(24 << 20));
    expect(await fresh().manifest('big')).toEqual(names.map((n) => ({ relpath: n.slice(4), hash: zero, size: 24 << 20 })));
    expect(rec!.nfiles).toBe(5);
    expect(max).toBe(2);
  });

  it('follows symlinks to files', async () => {
    writeTree(root, TREE);
    fs.symlinkSync('data/a.txt', path.join(root, 'link'));
    expect(await fresh().hash('link')).toEqual({ path: 'link', hash: H_ALPHA, size: 6 });
  });

  it('refuses a special file at the top, skips one inside a directory', async () => {
    writeTree(root, { 'd/x': '1' });
    execFileSync('mkfifo', [path.join(root, 'fifo'), path.join(root, 'd/fifo')]);
    await expect(fresh().hash('fifo')).rejects.toBeInstanceOf(HashError);
    expect(await fresh().hash('d')).toMatchObject({ nfiles: 1, size: 1 });
  });
});

describe('FileHasher directories', () => {
  it('hashes the canonical manifest (golden), with size and nfiles', async () => {
    writeTree(root, TREE);
    const fh = fresh();
    expect(await fh.hash('data')).toEqual({ path: 'data', hash: H_DIR, size: 18, nfiles: 3 });
    expect(await fh.manifest('data')).toEqual([
      { relpath: 'a.txt', hash: H_ALPHA, size: 6 },
      { relpath: 'sub/b.txt', hash: H_BETA, size: 5 },
      { relpath: 'sub/deeper/c.txt', hash: H_GAMMA, size: 7 },
    ]);
    // Sub-directories reuse the walk and give their own manifest.
    expect(await fh.hash('data/sub')).toMatchObject({ size: 12, nfiles: 2 });
    expect(await fh.manifest('data/a.txt')).toBeUndefined();
    expect(await fh.manifest('missing')).toBeUndefined();
  });

  it('hashes an empty directory', async () => {
    fs.mkdirSync(path.join(root, 'empty'));
    expect(await fresh().hash('empty')).toEqual({ path: 'empty', hash: 'ef46db3751d8e999.dir', size: 0, nfiles: 0 });
  });

  it('orders the manifest by full relpath, not by walk order', async () => {
    writeTree(root, { 'd/a/b': '1', 'd/a.txt': '2', 'd/a0': '3', 'd/a-b': '4', 'd/B': '5', 'd/a/a/z': '6' });
    const rels = (await fresh().manifest('d'))!.map((e) => e.relpath);
    expect(rels).toEqual(['B', 'a-b', 'a.txt', 'a/a/z', 'a/b', 'a0']);
    expect(rels).toEqual([...rels].sort());
  });

  it('changes when a file is renamed, added, removed or edited; not on an mtime-only touch', async () => {
    writeTree(root, TREE);
    const base = (await fresh().hash('data'))!.hash;
    expect(base).toBe(H_DIR);

    fs.renameSync(path.join(root, 'data/a.txt'), path.join(root, 'data/a2.txt'));
    const renamed = (await fresh().hash('data'))!.hash;
    expect(renamed).not.toBe(base);
    fs.renameSync(path.join(root, 'data/a2.txt'), path.join(root, 'data/a.txt'));
    expect((await fresh().hash('data'))!.hash).toBe(base);

    writeTree(root, { 'data/new.txt': '' });
    const added = (await fresh().hash('data'))!;
    expect(added.hash).not.toBe(base);
    expect(added.nfiles).toBe(4);
    fs.rmSync(path.join(root, 'data/new.txt'));
    expect((await fresh().hash('data'))!.hash).toBe(base);

    writeTree(root, { 'data/sub/b.txt': 'BETA\n' });
    const edited = (await fresh().hash('data'))!.hash;
    expect(edited).not.toBe(base);
    writeTree(root, { 'data/sub/b.txt': 'beta\n' });
    expect((await fresh().hash('data'))!.hash).toBe(base);

    age(root, ['data/a.txt', 'data/sub/b.txt', 'data/sub', 'data'], 12345);
    expect((await fresh().hash('data'))!.hash).toBe(base);
  });

  it('follows symlinks, skips broken ones, .git/.mlcache and special files', async () => {
    writeTree(root, { ...TREE, 'data/.git/HEAD': 'ref', 'data/.mlcache/x': 'y', 'other/c.txt': 'gamma!\n' });
    fs.rmSync(path.join(root, 'data/sub/deeper'), { recursive: true });
    fs.symlinkSync('../../other', path.join(root, 'data/sub/deeper')); // dir symlink
    fs.symlinkSync('nowhere', path.join(root, 'data/broken'));
    expect(await fresh().hash('data')).toEqual({ path: 'data', hash: H_DIR, size: 18, nfiles: 3 });
  });

  it('reports a symlink cycle as a HashError', async () => {
    writeTree(root, { 'd/x': '1' });
    fs.symlinkSync('..', path.join(root, 'd/up'));
    const err = await fresh().hash('d').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HashError);
    expect((err as HashError).code).toBe('symlink-loop');
  });
});

describe('FileHasher memoisation', () => {
  it('hashes each path once per instance until invalidated (self, descendants, ancestors)', async () => {
    writeTree(root, TREE);
    const fh = fresh();
    const dir1 = (await fh.hash('data'))!.hash;
    const file1 = (await fh.hash('data/sub/b.txt'))!.hash;
    writeTree(root, { 'data/sub/b.txt': 'changed\n' });
    // Memoised: the same instance does not look again.
    expect((await fh.hash('data/sub/b.txt'))!.hash).toBe(file1);
    expect((await fh.hash('data'))!.hash).toBe(dir1);
    // Invalidating the file forgets it and every directory above it.
    fh.invalidate('data/sub/b.txt');
    expect((await fh.hash('data/sub/b.txt'))!.hash).toBe(hasher.hashString('changed\n'));
    expect((await fh.hash('data'))!.hash).not.toBe(dir1);
    // Invalidating a directory forgets what is below it.
    const dir2 = (await fh.hash('data'))!.hash;
    fs.rmSync(path.join(root, 'data/sub'), { recursive: true });
    expect((await fh.hash('data/sub/deeper/c.txt'))?.hash).toBe(H_GAMMA);
    fh.invalidate('data/sub');
    expect(await fh.hash('data/sub/deeper/c.txt')).toBeUndefined();
    expect((await fh.hash('data'))!.hash).not.toBe(dir2);
    expect(fh.stat('data/sub')).toBeUndefined();
  });

  it('invalidate sees a parent directory that a stage created', async () => {
    const fh = fresh();
    expect(await fh.hash('new')).toBeUndefined();
    expect(await fh.hash('new/out/x')).toBeUndefined();
    writeTree(root, { 'new/out/x': 'x' });
    fh.invalidate('new/out');
    expect(await fh.hash('new')).toMatchObject({ nfiles: 1, size: 1 });
    expect(await fh.hash('new/out/x')).toMatchObject({ size: 1 });
  });

  it('invalidate forgets only the subtree and its ancestors', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 2000; i++) files[`big/${i % 20}/${i}`] = String(i);
    for (let i = 0; i < 50; i++) files[`outs/${i}/o`] = String(i);
    writeTree(root, files);
    const fh = fresh();
    const big = (await fh.hash('big'))!.hash;
    const outs = (await fh.hash('outs'))!.hash;
    for (let i = 0; i < 50; i++) await fh.hash(`outs/${i}`);
    writeTree(root, { 'big/0/0': 'changed', 'outs/7/o': 'changed', 'outs/8/o': 'changed' });
    for (let i = 0; i < 50; i++) fh.invalidate(`outs/${i}`);
    expect((await fh.hash('big'))!.hash).toBe(big); // not invalidated: still the memoised value
    expect((await fh.hash('outs/8/o'))!.hash).toBe(hasher.hashString('changed'));
    expect((await fh.hash('outs'))!.hash).not.toBe(outs); // ancestor recomputed
  });

  it('stat is memoised and follows symlinks', () => {
    writeTree(root, TREE);
    const fh = fresh();
    expect(fh.stat('data')!.isDirectory).toBe(true);
    expect(fh.stat('data/a.txt')!.size).toBe(6);
    fs.rmSync(path.join(root, 'data/a.txt'));
    expect(fh.stat('data/a.txt')!.size).toBe(6);
    fh.invalidate('data/a.txt');
    expect(fh.stat('data/a.txt')).toBeUndefined();
  });

  it('stillPrimed: a primed path stands until invalidated, re-primed or memoised otherwise; others never were', async () => {
    writeTree(root, TREE);
    const fh = fresh();
    const st = { isFile: true, isDirectory: false, size: 6, mtimeMs: 1, ino: 1, dev: 1, ctimeMs: 1 };
    fh.prime('data/a.txt', st, { hash: 'primed' as never, size: 6 });
    expect(fh.stillPrimed('data/a.txt')).toBe(true);
    // The primed answer stands for hash(), without reading the file.
    expect((await fh.hash('data/a.txt'))?.hash).toBe('primed');
    expect(fh.stillPrimed('data/sub/b.txt')).toBe(false);
    await fh.hash('data/sub/b.txt');
    expect(fh.stillPrimed('data/sub/b.txt')).toBe(false);
    // A stage rewrote it: forgotten, then stat'ed and hashed afresh.
    fh.invalidate('data/a.txt');
    expect(fh.stillPrimed('data/a.txt')).toBe(false);
    expect((await fh.hash('data/a.txt'))?.hash).toBe(H_ALPHA);
    expect(fh.stillPrimed('data/a.txt')).toBe(false);
    // Priming a path already memoised leaves it as it is.
    fh.prime('data/a.txt', st, { hash: 'primed' as never, size: 6 });
    expect(fh.stillPrimed('data/a.txt')).toBe(false);
  });
});
