/** The md5 <-> xxh64 index: lookups both ways, persistence, and md5Of learning from the workspace. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Md5Index, md5Of } from '../../../src/data/md5-index.js';
import { FileHasher } from '../../../src/hashing/file-hasher.js';
import { StatCache } from '../../../src/hashing/stat-cache.js';
import { loadHasher } from '../../../src/hashing/xxhash.js';

describe('Md5Index', () => {
  it('answers both ways per kind, and survives a reload', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md5idx-'));
    const a = Md5Index.load(dir);
    a.set('0123456789abcdef', 'md5', '1cb251ec0d568de6a929b520c4aed8d1');
    expect(a.get('0123456789abcdef', 'md5')).toBe('1cb251ec0d568de6a929b520c4aed8d1');
    expect(a.get('0123456789abcdef', 'md5-dos2unix')).toBeUndefined();
    expect(a.xxhOf('1cb251ec0d568de6a929b520c4aed8d1', 'md5')).toBe('0123456789abcdef');
    a.save();
    const b = Md5Index.load(dir);
    expect(b.xxhOf('1cb251ec0d568de6a929b520c4aed8d1', 'md5')).toBe('0123456789abcdef');
    fs.rmSync(dir, { recursive: true });
  });

  it("md5Of gives DVC's hashes of a workspace file and folder (values from DVC's test suite)", async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'md5of-'));
    fs.mkdirSync(path.join(root, 'dir'));
    fs.writeFileSync(path.join(root, 'dir', '1'), '1');
    fs.writeFileSync(path.join(root, 'dir', '2'), '2');
    fs.writeFileSync(path.join(root, 'file'), 'text');
    const files = new FileHasher({ root, hasher: await loadHasher(), statCache: StatCache.inMemory({ root }) });
    const index = Md5Index.load(undefined);
    expect((await md5Of(files, index, root, 'file', 'md5'))?.md5).toBe('1cb251ec0d568de6a929b520c4aed8d1');
    const d = await md5Of(files, index, root, 'dir', 'md5');
    expect(d?.md5).toBe('5fb6b29836c388e093ca0715c872fe2a.dir');
    expect(index.xxhOf('5fb6b29836c388e093ca0715c872fe2a.dir', 'md5')).toBe(d?.record.hash);
    expect(await md5Of(files, index, root, 'absent', 'md5')).toBeUndefined();
    fs.rmSync(root, { recursive: true });
  });
});
