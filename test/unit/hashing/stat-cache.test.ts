import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher } from '../../../src/hashing/file-hasher.js';
import { STAT_CACHE_FILE, StatCache } from '../../../src/hashing/stat-cache.js';
import { loadHasher, type Hasher } from '../../../src/hashing/xxhash.js';
import { contentHash } from '../../../src/util/brand.js';
import { OLD_TIME, age, makeTmp, rmTmp, writeTree } from './tmp.js';

let hasher: Hasher;
let root: string;
let mlcache: string;
beforeAll(async () => {
  hasher = await loadHasher();
});
beforeEach(() => {
  root = makeTmp();
  mlcache = path.join(root, '.mlcache');
});
afterEach(() => rmTmp(root));

const h = (s: string) => contentHash(hasher.hashString(s));

describe('StatCache', () => {
  it('a hit never rereads the file; size, inode, mtime or ctime changes invalidate', async () => {
    // `age` can put mtimes back but not ctimes: a clock a minute ahead makes both look old.
    const later = { now: () => Date.now() + 60_000 };
    writeTree(root, { 'f.txt': 'hello' });
    age(root, ['f.txt']);
    const cache = await StatCache.load(mlcache, later);
    expect((await new FileHasher({ root, hasher, statCache: cache }).hash('f.txt'))!.hash).toBe(h('hello'));
    expect(await cache.save()).toBe(true);

    // Same size, same mtime, same inode, different bytes (an edit whose mtime was put back, as
    // `touch -d` or `cp -p` do): the ctime changed, so the file is read again.
    fs.writeFileSync(path.join(root, 'f.txt'), 'world'); // truncates in place: inode kept
    age(root, ['f.txt']);
    const reloaded = await StatCache.load(mlcache, later);
    expect(reloaded.size).toBe(1);
    expect((await new FileHasher({ root, hasher, statCache: reloaded }).hash('f.txt'))!.hash).toBe(h('world'));

    // Size changes: miss, reread.
    fs.writeFileSync(path.join(root, 'f.txt'), 'world!');
    age(root, ['f.txt']);
    expect((await new FileHasher({ root, hasher, statCache: reloaded }).hash('f.txt'))!.hash).toBe(h('world!'));

    // Inode changes (atomic replace), same size and mtime: miss, reread.
    writeTree(root, { 'tmp.txt': 'WORLD!' });
    age(root, ['tmp.txt']);
    fs.renameSync(path.join(root, 'tmp.txt'), path.join(root, 'f.txt'));
    expect((await new FileHasher({ root, hasher, statCache: reloaded }).hash('f.txt'))!.hash).toBe(h('WORLD!'));

    // mtime changes: miss, reread.
    fs.writeFileSync(path.join(root, 'f.txt'), 'wOrLd!'); // inode kept, size kept
    age(root, ['f.txt'], 1);
    expect((await new FileHasher({ root, hasher, statCache: reloaded }).hash('f.txt'))!.hash).toBe(h('wOrLd!'));
  });

  it('racy-clean guard: a file hashed within the window of its mtime is not trusted later', async () => {
    const f = path.join(root, 'f.txt');
    const tick = Math.floor(Date.now() / 1000); // a recent mtime, reproducible with utimes
    writeTree(root, { 'f.txt': 'hello' });
    fs.utimesSync(f, tick, tick);
    const cache = StatCache.inMemory({ root });
    expect((await new FileHasher({ root, hasher, statCache: cache }).hash('f.txt'))!.hash).toBe(h('hello'));
    expect(cache.size).toBe(0); // not recorded: could still change within the same mtime tick

    // Rewritten within the same tick (same size, same mtime, same inode): content still decides.
    const before = fs.statSync(f);
    fs.writeFileSync(f, 'HELLO');
    fs.utimesSync(f, tick, tick);
    const after = fs.statSync(f);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    expect((await new FileHasher({ root, hasher, statCache: cache }).hash('f.txt'))!.hash).toBe(h('HELLO'));

    // Once the mtime is old enough, the entry is recorded and trusted, but only when the ctime
    // (which no one can set back) is old enough too: a clock a minute later stands for that.
    age(root, ['f.txt']);
    await new FileHasher({ root, hasher, statCache: cache }).hash('f.txt');
    expect(cache.size).toBe(0);
    const later = StatCache.inMemory({ root, now: () => Date.now() + 60_000 });
    await new FileHasher({ root, hasher, statCache: later }).hash('f.txt');
    expect(later.size).toBe(1);
  });

  it('racy-clean guard uses the injected clock and the window', () => {
    let now = 1_000_000;
    const cache = StatCache.inMemory({ now: () => now, racyWindowMs: 2000 });
    const st = { size: 1, mtimeMs: 999_000, ino: 7 };
    expect(cache.record('/p', st, h('x'), 1_000_500)).toBe(false); // mtime 1.5 s before reading
    expect(cache.lookup('/p', st)).toBeUndefined();
    expect(cache.record('/p', st, h('x'), 1_001_001)).toBe(true); // 2.001 s before reading
    expect(cache.lookup('/p', st)).toBe(h('x'));
    // A later racy record for the same path forgets the old entry.
    expect(cache.record('/p', { ...st, mtimeMs: 1_000_999 }, h('y'), 1_001_001)).toBe(false);
    expect(cache.lookup('/p', st)).toBeUndefined();
    // Without readStartMs, the load time is used (the safest choice).
    now = 5_000_000;
    const c2 = StatCache.inMemory({ now: () => now });
    now = 9_000_000;
    expect(c2.record('/q', { size: 1, mtimeMs: 4_999_000, ino: 1 }, h('x'))).toBe(false);
    expect(c2.record('/q', { size: 1, mtimeMs: 4_997_999, ino: 1 }, h('x'))).toBe(true);
  });

  it('keys on size, mtimeMs, ino and ctimeMs exactly', () => {
    const cache = StatCache.inMemory({ now: () => 1e13 });
    const st = { size: 10, mtimeMs: 1577836800123.25, ino: 42, ctimeMs: 1577836800200.5 };
    cache.record('/a', st, h('a'));
    expect(cache.lookup('/a', st)).toBe(h('a'));
    expect(cache.lookup('/a', { ...st, ctimeMs: st.ctimeMs + 0.001 })).toBeUndefined();
    // A young ctime is racy even when the mtime is old (an old file copied with `cp -p` just now).
    expect(cache.record('/young', { ...st, ctimeMs: 1e13 - 1000 }, h('y'))).toBe(false);
    expect(cache.lookup('/young', { ...st, ctimeMs: 1e13 - 1000 })).toBeUndefined();
    expect(cache.lookup('/a', { ...st, size: 11 })).toBeUndefined();
    expect(cache.lookup('/a', { ...st, mtimeMs: st.mtimeMs + 0.001 })).toBeUndefined();
    expect(cache.lookup('/a', { ...st, ino: 43 })).toBeUndefined();
    expect(cache.lookup('/b', st)).toBeUndefined();
  });

  it('persists compactly (relative paths), only when dirty, and round-trips fractional mtimes', async () => {
    const now = () => 1e13;
    const cache = await StatCache.load(mlcache, { now });
    expect(await cache.save()).toBe(false); // nothing recorded: nothing written
    expect(fs.existsSync(path.join(mlcache, STAT_CACHE_FILE))).toBe(false);
    cache.record(path.join(root, 'a/b.txt'), { size: 3, mtimeMs: 1577836800123.25, ino: 99 }, h('a'));
    cache.record('/elsewhere/x', { size: 4, mtimeMs: 1, ino: 5 }, h('b'));
    expect(await cache.save()).toBe(true);
    expect(await cache.save()).toBe(false);
    const text = fs.readFileSync(path.join(mlcache, STAT_CACHE_FILE), 'utf8');
    expect(JSON.parse(text)).toEqual({
      version: 2,
      gen: 1,
      entries: ['/elsewhere/x', 4, 1, 5, h('b'), 1, null, 'a/b.txt', 3, 1577836800123.25, 99, h('a'), 1, null],
    });
    const back = await StatCache.load(mlcache, { now });
    expect(back.lookup(path.join(root, 'a/b.txt'), { size: 3, mtimeMs: 1577836800123.25, ino: 99 })).toBe(h('a'));
    expect(back.lookup('/elsewhere/x', { size: 4, mtimeMs: 1, ino: 5 })).toBe(h('b'));
    expect(back.dirty).toBe(false);
  });

  it('a racy record forgets the old entry without making the cache dirty (a young edit costs no rewrite)', async () => {
    const now = () => 1e13;
    const c = await StatCache.load(mlcache, { now });
    c.record('/f', { size: 1, mtimeMs: 1, ino: 1, ctimeMs: 1 }, h('old'));
    expect(await c.save()).toBe(true);
    const back = await StatCache.load(mlcache, { now });
    expect(back.record('/f', { size: 2, mtimeMs: 1e13, ino: 1, ctimeMs: 1e13 }, h('new'))).toBe(false);
    expect(back.lookup('/f', { size: 1, mtimeMs: 1, ino: 1, ctimeMs: 1 })).toBeUndefined();
    expect(back.dirty).toBe(false);
    expect(await back.save()).toBe(false);
  });

  it('treats a corrupt or foreign file as empty and rewrites it', async () => {
    fs.mkdirSync(path.join(mlcache, 'state'), { recursive: true });
    for (const bad of ['{not json', '{"version":99,"gen":1,"entries":[]}', '[]']) {
      fs.writeFileSync(path.join(mlcache, STAT_CACHE_FILE), bad);
      const c = await StatCache.load(mlcache);
      expect(c.size).toBe(0);
    }
    fs.writeFileSync(path.join(mlcache, STAT_CACHE_FILE), '{not json');
    const c = await StatCache.load(mlcache);
    expect(await c.save()).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(mlcache, STAT_CACHE_FILE), 'utf8'))).toMatchObject({ version: 2 });
  });

  it('prunes entries not used for maxIdleGenerations saves', async () => {
    const now = () => 1e13;
    const opts = { now, maxIdleGenerations: 2 };
    let c = await StatCache.load(mlcache, opts);
    c.record('/old', { size: 1, mtimeMs: 1, ino: 1 }, h('o'));
    c.record('/used', { size: 1, mtimeMs: 1, ino: 2 }, h('u'));
    await c.save();
    for (let i = 0; i < 3; i++) {
      c = await StatCache.load(mlcache, opts);
      expect(c.lookup('/used', { size: 1, mtimeMs: 1, ino: 2 })).toBe(h('u'));
      c.record(`/new${i}`, { size: 1, mtimeMs: 1, ino: 10 + i }, h('n')); // make it dirty
      await c.save();
    }
    c = await StatCache.load(mlcache, opts);
    expect(c.lookup('/old', { size: 1, mtimeMs: 1, ino: 1 })).toBeUndefined();
    expect(c.lookup('/used', { size: 1, mtimeMs: 1, ino: 2 })).toBe(h('u'));
  });

  it('round-trips 10k entries through one compact file (speed is measured by bench/, not here)', async () => {
    const c = await StatCache.load(mlcache, { now: () => 1e13 });
    for (let i = 0; i < 10_000; i++) {
      c.record(path.join(root, `data/shard-${i % 100}/file-${i}.csv`), { size: i, mtimeMs: OLD_TIME * 1000 + i + 0.123, ino: 1e6 + i }, h(String(i)));
    }
    await c.save();
    const back = StatCache.loadSync(mlcache);
    expect(back.size).toBe(10_000);
    const i = 4321;
    expect(back.lookup(path.join(root, `data/shard-${i % 100}/file-${i}.csv`), { size: i, mtimeMs: OLD_TIME * 1000 + i + 0.123, ino: 1e6 + i })).toBe(h(String(i)));
  });
});
