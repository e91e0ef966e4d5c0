/** ensureDir remembers what it made (one mkdir per directory per process); retryingDir recovers when it was removed behind its back. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { ensureDir, retryingDir } from '../../../src/util/dir-cache.js';

const roots: string[] = [];
afterEach(() => {
  for (const r of roots.splice(0)) fs.rmSync(r, { recursive: true, force: true });
});
const tmp = (): string => {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-dircache-'));
  roots.push(r);
  return r;
};

it('creates nested directories once, then answers from memory', () => {
  const dir = path.join(tmp(), 'a', 'b', 'c');
  ensureDir(dir);
  expect(fs.statSync(dir).isDirectory()).toBe(true);
  fs.rmSync(dir, { recursive: true });
  ensureDir(dir); // remembered: no second mkdir
  expect(fs.existsSync(dir)).toBe(false);
});

it('retryingDir re-creates a remembered directory that was removed, and retries the write once', () => {
  const dir = path.join(tmp(), 'logs');
  ensureDir(dir);
  fs.rmSync(dir, { recursive: true });
  const file = path.join(dir, 'x.log');
  retryingDir(dir, () => fs.writeFileSync(file, 'ok'));
  expect(fs.readFileSync(file, 'utf8')).toBe('ok');
});

it('retryingDir passes other errors through untouched', () => {
  const dir = tmp();
  expect(() =>
    retryingDir(dir, () => {
      throw Object.assign(new Error('denied'), { code: 'EACCES' });
    }),
  ).toThrow('denied');
});
