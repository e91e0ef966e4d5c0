/**
 * The fresh snapshot's view of the real file system (run/fresh-snapshot.ts): the layout of one
 * stat entry in the snapshot's stats array, and `nodeSnapshotIo`, whose stats fill that layout
 * straight from Node's stat binding when it can (a no-op stats every recorded path: this is its
 * hot loop). It decides nothing about freshness.
 */
import fs from 'node:fs';
import os from 'node:os';
import type { SnapStat, SnapshotIo } from './fresh-snapshot.js';

/**
 * Fields per entry in the stats array: dev, ino, size, mtime s, mtime ns, ctime s, ctime ns, flags
 * (the kernel's own split of the times, so a check compares raw words and allocates nothing).
 */
export const F = 8;
export const FLAGS = 7;
export const FLAG_DIR = 1n;
export const FLAG_RACY = 2n;
export const RACY_BIT = Number(FLAG_RACY);
export const DIR_BIT = Number(FLAG_DIR);

/** Writes `st` as an entry's fields (flags: FLAG_DIR only) at `out[i..]`. */
export function putStat(out: BigInt64Array, i: number, st: SnapStat): void {
  out[i] = st.dev;
  out[i + 1] = st.ino;
  out[i + 2] = st.size;
  splitNs(out, i + 3, st.mtimeNs);
  splitNs(out, i + 5, st.ctimeNs);
  out[i + FLAGS] = st.isDirectory() ? FLAG_DIR : 0n;
}

/** Seconds and nanoseconds (0..1e9-1) of a nanosecond time, as the kernel splits it. */
function splitNs(out: BigInt64Array, i: number, ns: bigint): void {
  let sec = ns / 1_000_000_000n;
  let nsec = ns - sec * 1_000_000_000n;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  out[i] = sec;
  out[i + 1] = nsec;
}

/** Node's stat binding, as Node 20 exposes it: the kernel's fields in a shared BigInt64Array. */
interface StatBinding {
  stat(path: string, useBigint: true, req: undefined, throwIfNoEntry: false): BigInt64Array | undefined;
}

/**
 * `statInto` without the cost of a BigIntStats object per path (its 18 BigInts and 4 Dates are
 * half of a no-op's stat time): Node's own binding, which fs.statSync calls, read as 32-bit words.
 * Used only after it gave the same answer as fs.statSync for a known path; otherwise, or on
 * another Node, undefined and the public API is used.
 */
function bindingStatInto(): ((abs: string, out: BigInt64Array) => boolean) | undefined {
  if (os.endianness() !== 'LE') return undefined;
  // process.binding warns (DEP0111) under --pending-deprecation: then the public API it is.
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (flags.includes('--pending-deprecation') || flags.includes('-deprecation')) return undefined;
  let binding: StatBinding;
  try {
    const b = (process as unknown as { binding(name: string): unknown }).binding('fs') as Partial<StatBinding>;
    if (typeof b?.stat !== 'function') return undefined;
    binding = b as StatBinding;
  } catch {
    return undefined;
  }
  // The binding answers in one shared array: its word view is made once, as is the caller's.
  let lastRaw: BigInt64Array | undefined;
  let r: Int32Array<ArrayBufferLike> = new Int32Array(0);
  let lastOut: BigInt64Array | undefined;
  let o: Int32Array<ArrayBufferLike> = new Int32Array(0);
  const into = (abs: string, out: BigInt64Array): boolean => {
    let raw: BigInt64Array | undefined;
    try {
      raw = binding.stat(abs, true, undefined, false);
    } catch {
      return false; // ENOTDIR, ELOOP, EACCES: nothing proved
    }
    if (raw === undefined) return false;
    // [dev, mode, nlink, uid, gid, rdev, blksize, ino, size, blocks, atime s, ns, mtime s, ns, ctime s, ns, ...]
    if (raw !== lastRaw) {
      lastRaw = raw;
      r = new Int32Array(raw.buffer, raw.byteOffset, 32);
    }
    if (out !== lastOut) {
      lastOut = out;
      o = new Int32Array(out.buffer, out.byteOffset, F * 2);
    }
    o[0] = r[0]!;
    o[1] = r[1]!;
    o[2] = r[14]!;
    o[3] = r[15]!;
    o[4] = r[16]!;
    o[5] = r[17]!;
    for (let k = 0; k < 8; k++) o[6 + k] = r[24 + k]!;
    o[FLAGS * 2] = (r[2]! & 0o170000) === 0o040000 ? DIR_BIT : 0;
    o[FLAGS * 2 + 1] = 0;
    return true;
  };
  // Self-test against the public API before trusting the layout.
  try {
    const probe = process.execPath;
    const want = new BigInt64Array(F);
    putStat(want, 0, fs.statSync(probe, { bigint: true }));
    const got = new BigInt64Array(F);
    if (!into(probe, got) || got.some((v, k) => v !== want[k]) || into(probe + '.no-such-file', got)) return undefined;
  } catch {
    return undefined;
  }
  return into;
}

/** The real file system. `checks`: false for a writer, which never calls `statInto` (its self-test costs ms). */
export function nodeSnapshotIo(hashBytes: (b: Uint8Array) => string, checks = true): SnapshotIo {
  const statInto = checks ? bindingStatInto() : undefined;
  return {
    ...(statInto ? { statInto } : {}),
    stat(abs) {
      try {
        return fs.statSync(abs, { bigint: true, throwIfNoEntry: false });
      } catch {
        return undefined; // ENOTDIR, ELOOP, EACCES: not something we can prove anything about
      }
    },
    enter(root) {
      // process.chdir is refused in worker threads; a folder that is gone proves nothing either.
      let before: string;
      try {
        before = process.cwd();
        process.chdir(root);
      } catch {
        return undefined;
      }
      return () => process.chdir(before);
    },
    readdir: (abs) => fs.readdirSync(abs),
    readFile(abs) {
      try {
        return fs.readFileSync(abs);
      } catch {
        return undefined;
      }
    },
    hashBytes,
  };
}

