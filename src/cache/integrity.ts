/**
 * Integrity of cache objects: an object's name is the xxh64 of its content (a `.dir` object's name
 * is the xxh64 of its manifest text plus `.dir`), so every read can check what it got. This module
 * copies an object while hashing it (one pass: the bytes are hashed on their way into the
 * workspace), hashes an object in place (for reflinks and hardlinks, which copy no bytes), and
 * moves a corrupt object into `quarantine/` beside `objects/`, where nothing restores it from and
 * a user can still look at it. It does not decide what to do about a corrupt object: a restore
 * throws CorruptObjectError, and its caller reruns the stage (repro) or fails naming the out.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Hasher } from '../hashing/xxhash.js';

/** Read size of copies and verifications (into wasm memory): 1 MiB measured cheapest, the bytes stay in cache. */
const CHUNK = 1 << 20;

/** A cache object whose content does not hash to its name; it has been moved to `quarantinedAt`. */
export class CorruptObjectError extends Error {
  constructor(
    readonly hash: string,
    readonly actual: string,
    readonly quarantinedAt: string,
    /** The workspace path the object was being restored to. */
    readonly out: string,
  ) {
    super(`cache object ${hash} for '${out}' is corrupt (its content hashes to ${actual}); moved it to ${quarantinedAt}`);
  }
}

/** The expected name of an object file: its hash without the `.dir` suffix, which names manifests. */
const bare = (hash: string): string => (hash.endsWith('.dir') ? hash.slice(0, -4) : hash);

/**
 * Copies `src` to `dest` (created, mode 0644), hashing the bytes as they pass; returns their hash.
 * Each chunk is read into wasm memory, hashed there and written from there (Hasher.inPlace): one
 * pass, no copy but the kernel's, measured as cheap as `copyFileSync` (512 MiB: 205 vs 175 ms CPU).
 * `dest` is removed again when the copy fails half way (ENOSPC), so no partial out is left.
 */
export function copyHashing(src: string, dest: string, hasher: Hasher): string {
  const s = hasher.inPlace(CHUNK, 1);
  const buf = s.regions[0]!;
  let from: number | undefined;
  let to: number | undefined;
  try {
    from = fs.openSync(src, 'r');
    to = fs.openSync(dest, 'wx', 0o644);
    for (;;) {
      const n = fs.readSync(from, buf, 0, CHUNK, null);
      if (n === 0) break;
      s.update(0, n);
      let off = 0;
      while (off < n) off += fs.writeSync(to, buf, off, n - off);
    }
  } catch (e) {
    s.release();
    if (to !== undefined) {
      fs.closeSync(to);
      to = undefined;
      fs.rmSync(dest, { force: true });
      // write(2) errors carry no path; the report names the file that could not be written.
      const err = e as NodeJS.ErrnoException;
      if (err.code !== undefined && err.path === undefined) err.path = dest;
    }
    throw e;
  } finally {
    if (from !== undefined) fs.closeSync(from);
    if (to !== undefined) fs.closeSync(to);
  }
  return s.digest();
}

/** The xxh64 of a file's content (objects placed by reflink or hardlink are read once, here). */
export function hashFile(file: string, hasher: Hasher): string {
  const s = hasher.inPlace(CHUNK, 1);
  const buf = s.regions[0]!;
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    for (let n; (n = fs.readSync(fd, buf, 0, CHUNK, null)) > 0; ) s.update(0, n);
  } catch (e) {
    s.release();
    throw e;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return s.digest();
}

/** True when `actual` (a content or manifest-text hash) is the name of object `hash`. */
export const matches = (hash: string, actual: string): boolean => bare(hash) === actual;

/**
 * Moves a corrupt object out of `objects/` into `<mlcache>/quarantine/<hash>` (a later corrupt copy
 * of the same hash gets a numbered name). Returns where it went; when another process moved it
 * first, where that one put it.
 */
export function quarantine(mlcacheDir: string, objectFile: string, hash: string): string {
  const dir = path.join(mlcacheDir, 'quarantine');
  fs.mkdirSync(dir, { recursive: true });
  let dest = path.join(dir, hash);
  for (let i = 1; fs.existsSync(dest); i++) dest = path.join(dir, `${hash}.${i}`);
  try {
    fs.renameSync(objectFile, dest);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return dest;
}

/** One object whose content does not match its name. */
export interface BadObject {
  readonly hash: string;
  /** What its content hashes to, or why it could not be read. */
  readonly actual: string;
}

/** The hash of an object file's content as its name is computed (a manifest's text, else its bytes). */
export function objectContentHash(file: string, hash: string, hasher: Hasher): string {
  return hash.endsWith('.dir') ? hasher.hashString(fs.readFileSync(file, 'utf8')) : hashFile(file, hasher);
}

/**
 * Hashes every object of a local cache (`hashes` from LocalStore.listObjects) and returns those that
 * do not match their name, with the bytes read.
 */
export function findCorrupt(objectPath: (hash: string) => string, hashes: readonly string[], hasher: Hasher): { bad: BadObject[]; bytes: number } {
  const bad: BadObject[] = [];
  let bytes = 0;
  for (const h of hashes) {
    const file = objectPath(h);
    let actual: string;
    try {
      bytes += fs.statSync(file).size;
      actual = objectContentHash(file, h, hasher);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // removed meanwhile (gc)
      actual = `unreadable: ${(e as Error).message}`;
    }
    if (!matches(h, actual)) bad.push({ hash: h, actual });
  }
  return { bad, bytes };
}
