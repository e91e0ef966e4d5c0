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
    const [head, body] = [text.slice(0, text.indexOf('\n')), text.slice(text.indexOf('\n') + 1)];
    const s1 = JSON.stringify(['x', 4, 1, 5, h('b'), 1, null]);
    const s2 = JSON.stringify(['b.txt', 3, 1577836800123.25, 99, h('a'), 1, null]);
    // One section per folder, sorted by key: [dir, offset, length, maxGen, kept].
    expect(JSON.parse(head)).toEqual({ version: 3, gen: 1, dirs: ['/elsewhere', 0, s1.length, 1, 0, 'a', s1.length, s2.length, 1, 0] });
    expect(body).toBe(s1 + s2);
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
    const badSection = '{"version":3,"gen":1,"dirs":["d",0,5,1,0]}\n[1,2,'; // the header is fine, its section is not
    for (const bad of ['{not json', '{"version":99,"gen":1,"dirs":[]}\n', '[]', '{"version":3,"gen":1,"dirs":["d",0,99,1,0]}\n[]', badSection]) {
      fs.writeFileSync(path.join(mlcache, STAT_CACHE_FILE), bad);
      const c = await StatCache.load(mlcache);
      expect(c.size).toBe(0);
    }
    fs.writeFileSync(path.join(mlcache, STAT_CACHE_FILE), '{not json');
    const c = await StatCache.load(mlcache);
    expect(await c.save()).toBe(true);
    const text = fs.readFileSync(path.join(mlcache, STAT_CACHE_FILE), 'utf8');
    expect(JSON.parse(text.slice(0, text.indexOf('\n')))).toEqual({ version: 3, gen: 1, dirs: [] });
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

  it('parses only the folders it is asked about, and copies the others into a save byte for byte', async () => {
    const now = () => 1e13;
    const st = (i: number) => ({ size: i, mtimeMs: 1, ino: i, ctimeMs: 1 });
    const c = await StatCache.load(mlcache, { now });
    for (let d = 0; d < 3; d++) for (let f = 0; f < 3; f++) c.record(path.join(root, `d${d}/f${f}`), st(10 * d + f), h(`${d}${f}`));
    await c.save();
    const file = path.join(mlcache, STAT_CACHE_FILE);
    const before = fs.readFileSync(file, 'utf8');
    const sectionOf = (text: string, dir: string): string => {
      const nl = text.indexOf('\n');
      const dirs = (JSON.parse(text.slice(0, nl)) as { dirs: (string | number)[] }).dirs;
      const i = dirs.indexOf(dir);
      return text.slice(nl + 1).slice(dirs[i + 1] as number, (dirs[i + 1] as number) + (dirs[i + 2] as number));
    };
    // A corrupt section elsewhere is never read while only d1 is used.
    fs.writeFileSync(file, before.replace(sectionOf(before, 'd2'), sectionOf(before, 'd2').replace(/^\[/, '{')));
    const corrupt = fs.readFileSync(file, 'utf8');
    const back = await StatCache.load(mlcache, { now });
    expect(back.lookup(path.join(root, 'd1/f2'), st(12))).toBe(h('12'));
    expect(back.dirty).toBe(false);
    back.record(path.join(root, 'd1/f9'), st(19), h('19'));
    await back.save();
    const after = fs.readFileSync(file, 'utf8');
    // d0 and d2 were copied as they were (d2 still corrupt: it was never parsed); d1 was rewritten.
    expect(sectionOf(after, 'd0')).toBe(sectionOf(before, 'd0'));
    expect(sectionOf(after, 'd2')).toBe(sectionOf(corrupt, 'd2'));
    expect(JSON.parse(sectionOf(after, 'd1'))).toHaveLength(4 * 7);
    const again = await StatCache.load(mlcache, { now });
    expect(again.lookup(path.join(root, 'd1/f9'), st(19))).toBe(h('19'));
    expect(again.lookup(path.join(root, 'd0/f1'), st(1))).toBe(h('01'));
    // The corrupt section, once used, is an empty one and the file is rewritten.
    expect(again.lookup(path.join(root, 'd2/f1'), st(21))).toBeUndefined();
    expect(again.dirty).toBe(true);
  });

  it('keeping a path of an unparsed folder alive keeps the folder; an unused folder is pruned whole', async () => {
    const now = () => 1e13;
    const opts = { now, maxIdleGenerations: 2 };
    const st = { size: 1, mtimeMs: 1, ino: 1 };
    let c = await StatCache.load(mlcache, opts);
    c.record(path.join(root, 'kept/a'), st, h('a'));
    c.record(path.join(root, 'kept/b'), st, h('b'));
    c.record(path.join(root, 'idle/x'), st, h('x'));
    await c.save();
    for (let i = 0; i < 3; i++) {
      c = await StatCache.load(mlcache, opts);
      c.keepAliveLater(() => [path.join(root, 'kept/a')]);
      c.record(path.join(root, `new/f${i}`), { ...st, ino: 10 + i }, h('n')); // make it dirty
      await c.save();
    }
    c = await StatCache.load(mlcache, opts);
    expect(c.lookup(path.join(root, 'idle/x'), st)).toBeUndefined();
    // The floor kept the whole folder, b included, without parsing it.
    expect(c.lookup(path.join(root, 'kept/a'), st)).toBe(h('a'));
    expect(c.lookup(path.join(root, 'kept/b'), st)).toBe(h('b'));
    expect(c.lookup(path.join(root, 'new/f2'), { ...st, ino: 12 })).toBe(h('n'));
  });

  it('a version-2 file left from before is ignored and removed by the first save', async () => {
    fs.mkdirSync(path.join(mlcache, 'state'), { recursive: true });
    const legacy = path.join(mlcache, 'state', 'stat-cache.json');
    fs.writeFileSync(legacy, JSON.stringify({ version: 2, gen: 3, entries: ['a', 1, 1, 1, h('a'), 3, null] }));
    const c = await StatCache.load(mlcache);
    expect(c.lookup(path.join(root, 'a'), { size: 1, mtimeMs: 1, ino: 1 })).toBeUndefined();
    expect(await c.save()).toBe(true);
    expect(fs.existsSync(legacy)).toBe(false);
    expect(fs.existsSync(path.join(mlcache, STAT_CACHE_FILE))).toBe(true);
  });

  it('walks the kept paths only when a save would prune something', async () => {
    const now = () => 1e13;
    const opts = { now, maxIdleGenerations: 2 };
    const st = { size: 1, mtimeMs: 1, ino: 1 };
    let c = await StatCache.load(mlcache, opts);
    c.record(path.join(root, 'kept/a'), st, h('a'));
    await c.save();
    let walks = 0;
    const keepers = (): Iterable<string> => {
      walks++;
      return [path.join(root, 'kept/a')];
    };
    for (let i = 0; i < 4; i++) {
      c = await StatCache.load(mlcache, opts);
      c.keepAliveLater(keepers);
      c.record(path.join(root, 'new/f'), { ...st, ino: 10 + i }, h('n')); // dirty, and nothing else idle
      await c.save();
    }
    // Generations 2 and 3 prune nothing (kept/ was used at 1, within 2 saves); 4 would drop it: walked
    // then, which raises its floor to 4, so 5 prunes nothing again.
    expect(walks).toBe(1);
    c = await StatCache.load(mlcache, opts);
    expect(c.lookup(path.join(root, 'kept/a'), st)).toBe(h('a'));
  });
});
