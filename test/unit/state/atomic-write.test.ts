import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { atomicWriteFile, atomicWriteFileSync, isTempName, tempPathFor } from '../../../src/util/atomic-write.js';
import { makeTmp, rmTmp } from '../hashing/tmp.js';

let dir: string;
beforeEach(() => {
  dir = makeTmp();
});
afterEach(() => rmTmp(dir));

describe('atomicWriteFile', () => {
  it('creates parent directories, writes, overwrites, and leaves no temp file', async () => {
    const f = path.join(dir, 'a/b/c.txt');
    await atomicWriteFile(f, 'one');
    expect(fs.readFileSync(f, 'utf8')).toBe('one');
    await atomicWriteFile(f, new Uint8Array([0x74, 0x77, 0x6f]));
    expect(fs.readFileSync(f, 'utf8')).toBe('two');
    atomicWriteFileSync(f, 'three');
    expect(fs.readFileSync(f, 'utf8')).toBe('three');
    atomicWriteFileSync(path.join(dir, 'x/y.txt'), 'sync mkdir');
    expect(fs.readdirSync(path.join(dir, 'a/b'))).toEqual(['c.txt']);
    expect(fs.readdirSync(path.join(dir, 'x'))).toEqual(['y.txt']);
  });

  it('names temp files in the same directory with pid and randomness', () => {
    const t1 = tempPathFor('/p/q/file.lock');
    const t2 = tempPathFor('/p/q/file.lock');
    expect(path.dirname(t1)).toBe('/p/q');
    expect(path.basename(t1)).toMatch(new RegExp(`^\\.file\\.lock\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
    expect(t1).not.toBe(t2);
    expect(isTempName(path.basename(t1))).toBe(true);
    expect(isTempName('file.lock')).toBe(false);
  });

  it('a reader never sees a partial file', async () => {
    const f = path.join(dir, 'big.bin');
    const size = 4 * 1024 * 1024;
    const fills = [0x41, 0x42, 0x43, 0x44].map((c) => Buffer.alloc(size, c));
    await atomicWriteFile(f, fills[0]!);
    for (let k = 1; k < fills.length; k++) {
      let done = false;
      const w = atomicWriteFile(f, fills[k]!).then(() => (done = true));
      let reads = 0;
      while (!done) {
        const b = fs.readFileSync(f);
        // Always one whole version (old or new), never a truncated or mixed file.
        expect(b.equals(fills[k - 1]!) || b.equals(fills[k]!)).toBe(true);
        reads++;
        await new Promise((r) => setImmediate(r));
      }
      await w;
      expect(reads).toBeGreaterThan(0);
      expect(fs.readFileSync(f).equals(fills[k]!)).toBe(true);
    }
    expect(fs.readdirSync(dir)).toEqual(['big.bin']);
  });

  it('on failure leaves the target untouched and removes the temp file', async () => {
    const target = path.join(dir, 'target');
    fs.mkdirSync(path.join(target, 'sub'), { recursive: true }); // rename over a non-empty dir fails
    await expect(atomicWriteFile(target, 'x')).rejects.toThrow();
    expect(() => atomicWriteFileSync(target, 'x')).toThrow();
    expect(fs.readdirSync(dir)).toEqual(['target']);
    expect(fs.readdirSync(target)).toEqual(['sub']);
  });
});
