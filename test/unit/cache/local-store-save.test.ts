/**
 * LocalStore's save path and run-cache writes: small outs are re-hashed as they are copied, big ones
 * hashed as they are copied or read back when linked (an edit after hashing is refused, leaving no
 * object), directory outs saved whole, and run-cache entries appended newest last.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LocalStore } from '../../../src/cache/local-store.js';
import { FileHasher, type FileRecord } from '../../../src/hashing/file-hasher.js';
import { StatCache } from '../../../src/hashing/stat-cache.js';
import { loadHasher } from '../../../src/hashing/xxhash.js';
import { fpHash } from '../../../src/util/brand.js';

let root: string;
let store: LocalStore;
let files: FileHasher;

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-store-'));
  files = new FileHasher({ root, hasher: await loadHasher(), statCache: StatCache.inMemory({ root }) });
  store = new LocalStore({ root, mlcacheDir: path.join(root, '.mlcache'), files });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function objectFiles(): string[] {
  const dir = path.join(root, '.mlcache', 'objects');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).flatMap((d) => fs.readdirSync(path.join(dir, d)).map((f) => `${d}/${f}`));
}

async function hashed(rel: string, content: Buffer | string): Promise<FileRecord> {
  fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  fs.writeFileSync(path.join(root, rel), content);
  files.invalidate(rel);
  return (await files.hash(rel))!;
}

describe('LocalStore.save', () => {
  it('stores a small out as a read-only object with the same bytes', async () => {
    const rec = await hashed('out/a.txt', 'hello\n');
    await store.save([rec]);
    const obj = store.objectPath(rec.hash);
    expect(fs.readFileSync(obj, 'utf8')).toBe('hello\n');
    expect(fs.statSync(obj).mode & 0o777).toBe(0o444);
    expect(await store.has([rec])).toBe(true);
    // Saving again is a no-op, and the workspace file is untouched (still writable).
    await store.save([rec]);
    expect(objectFiles()).toEqual([`${rec.hash.slice(0, 2)}/${rec.hash.slice(2)}`]);
    expect(fs.statSync(path.join(root, 'out/a.txt')).mode & 0o200).toBe(0o200);
  });

  it('refuses a small out edited after it was hashed (same size), leaving no object or temp file', async () => {
    const rec = await hashed('out/a.txt', 'aaaa');
    fs.writeFileSync(path.join(root, 'out/a.txt'), 'bbbb'); // same size: only the content check sees it
    await expect(store.save([rec])).rejects.toThrow(/changed while it was being saved/);
    expect(objectFiles()).toEqual([]);
    expect(await store.has([rec])).toBe(false);
  });

  it('writes small objects in the background: save() resolves once they are in place; the same content saved twice at once is written once', async () => {
    const a = await hashed('out/a.txt', 'same bytes\n');
    const b = await hashed('out/b.txt', 'same bytes\n');
    const c = await hashed('out/c.txt', 'other bytes\n');
    expect(a.hash).toBe(b.hash);
    const opens = vi.spyOn(fs, 'writeFile');
    try {
      const saves = [store.save([a]), store.save([b, c])];
      // Nothing is on disk yet: the writes run on the thread pool while the caller goes on.
      expect(fs.existsSync(store.objectPath(a.hash))).toBe(false);
      await Promise.all(saves);
      expect(opens).toHaveBeenCalledTimes(2); // a and b share one write
    } finally {
      opens.mockRestore();
    }
    expect(fs.readFileSync(store.objectPath(a.hash), 'utf8')).toBe('same bytes\n');
    expect(fs.readFileSync(store.objectPath(c.hash), 'utf8')).toBe('other bytes\n');
    expect(fs.statSync(store.objectPath(c.hash)).mode & 0o777).toBe(0o444);
    expect(objectFiles().some((f) => f.includes('.tmp-'))).toBe(false);
  });

  it('makes an object directory again when it was removed behind its back during the run', async () => {
    const a = await hashed('out/a.txt', 'first\n');
    await store.save([a]);
    fs.rmSync(path.join(root, '.mlcache', 'objects'), { recursive: true, force: true });
    await store.save([a]); // its directory is remembered as made: the write meets ENOENT and retries
    expect(fs.readFileSync(store.objectPath(a.hash), 'utf8')).toBe('first\n');
    const fp = fpHash('00000000000000aa');
    await store.recordRun(fp, [a]);
    fs.rmSync(path.join(root, '.mlcache', 'runs'), { recursive: true, force: true });
    await store.recordRun(fp, [a]);
    expect((await store.lookupRun(fp))?.[0]?.hash).toBe(a.hash);
  });

  it('stores a big out (copied, not read into memory) and refuses one whose size changed', async () => {
    const big = Buffer.alloc(600 * 1024, 7);
    const rec = await hashed('out/big.bin', big);
    await store.save([rec]);
    expect(fs.readFileSync(store.objectPath(rec.hash)).equals(big)).toBe(true);
    expect(fs.statSync(store.objectPath(rec.hash)).mode & 0o777).toBe(0o444);

    const rec2 = await hashed('out/big2.bin', Buffer.alloc(600 * 1024, 9));
    fs.appendFileSync(path.join(root, 'out/big2.bin'), 'x');
    await expect(store.save([rec2])).rejects.toThrow(/changed while it was being saved/);
    expect(fs.existsSync(store.objectPath(rec2.hash))).toBe(false);
    expect(objectFiles().some((f) => f.includes('.tmp-'))).toBe(false);
  });

  it('refuses a big out edited in place after it was hashed (same size), by copy and by hardlink', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17, 5);
    for (const types of [undefined, ['hardlink', 'copy'] as const]) {
      const s = new LocalStore({ root, mlcacheDir: path.join(root, '.mlcache'), files, ...(types ? { linkTypes: types } : {}) });
      const rec = await hashed('out/big.bin', big);
      // An in-place edit deep inside, same size: only hashing the bytes saved can see it.
      const fd = fs.openSync(path.join(root, 'out/big.bin'), 'r+');
      fs.writeSync(fd, Buffer.from('edited'), 0, 6, 2 * 1024 * 1024 + 3);
      fs.closeSync(fd);
      await expect(s.save([rec]), String(types)).rejects.toThrow(/changed while it was being saved/);
      expect(fs.existsSync(store.objectPath(rec.hash))).toBe(false);
      expect(objectFiles()).toEqual([]);
    }
  });

  it('saves a big out by hardlink after reading it back, and the object is its content', async () => {
    const s = new LocalStore({ root, mlcacheDir: path.join(root, '.mlcache'), files, linkTypes: ['hardlink', 'copy'] });
    const big = Buffer.alloc(2 * 1024 * 1024 + 1, 3);
    const rec = await hashed('out/big.bin', big);
    await s.save([rec]);
    const obj = store.objectPath(rec.hash);
    expect(fs.statSync(obj).ino).toBe(fs.statSync(path.join(root, 'out/big.bin')).ino);
    expect(fs.statSync(obj).mode & 0o777).toBe(0o444);
    expect(fs.readFileSync(obj).equals(big)).toBe(true);
  });

  it('stores every file of a directory out, and its manifest', async () => {
    fs.mkdirSync(path.join(root, 'out/d'), { recursive: true });
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(root, `out/d/f${i}.txt`), `file ${i}\n`);
    const rec = (await files.hash('out/d'))!;
    await store.save([rec]);
    const manifest = store.readManifest(rec.hash)!;
    expect(manifest).toHaveLength(40);
    for (const e of manifest) expect(fs.readFileSync(store.objectPath(e.hash), 'utf8')).toBe(fs.readFileSync(path.join(root, 'out/d', e.relpath), 'utf8'));
    expect(await store.has([rec])).toBe(true);
  });
});

describe('LocalStore run-cache', () => {
  it('appends one entry per build of a fingerprint, newest last, under a directory made once', async () => {
    const rec = await hashed('out/a.txt', 'one\n');
    await store.save([rec]);
    const fps = Array.from({ length: 50 }, (_, i) => fpHash(i.toString(16).padStart(16, '0')));
    for (const fp of fps) await store.recordRun(fp, [rec]);
    const rec2 = await hashed('out/a.txt', 'two\n');
    await store.recordRun(fps[0]!, [rec2]);
    for (const fp of fps.slice(1)) expect(fs.existsSync(store.runFile(fp))).toBe(true);
    expect(fs.readFileSync(store.runFile(fps[0]!), 'utf8').trim().split('\n')).toHaveLength(2);
    expect((await store.lookupRun(fps[0]!))?.[0]?.hash).toBe(rec2.hash);
    expect((await store.lookupRun(fps[7]!))?.[0]?.hash).toBe(rec.hash);
  });
});
