// Temp-dir and test-data helpers shared by the hashing and state unit tests (real files, no fs mocks).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function makeTmp(prefix = 'mlbuild-test-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

export function rmTmp(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Writes files given as { 'rel/path': content }, creating parent directories. */
export function writeTree(root: string, files: Record<string, string | Uint8Array>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(root, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
  }
}

/** An mtime safely in the past (2020-01-01T00:00:00Z), in seconds, for fs.utimesSync. */
export const OLD_TIME = 1577836800;

/** Sets atime and mtime of every given path to OLD_TIME + offset seconds. */
export function age(root: string, rels: string[], offset = 0): void {
  for (const rel of rels) fs.utimesSync(path.join(root, rel), OLD_TIME + offset, OLD_TIME + offset);
}

/** Deterministic non-repeating bytes (xorshift), so a misplaced, repeated or off-by-one chunk changes the hash. */
export function patternBytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}
