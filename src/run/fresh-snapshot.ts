/**
 * The fresh snapshot: what a run that left every stage up to date saw, so the next `repro` or
 * `status` can answer "up to date" from one small file and one `stat` per tracked path, without
 * loading the pipeline, the lockfile or hashing anything (git's index, ninja's .ninja_log).
 *
 * Written by a whole-pipeline run (or a `status`) after which every stage is fresh: for each stage
 * its deps and outs ("tops"), and for each top the full stat (dev, ino, size, mtime and ctime in
 * nanoseconds) of the path and of every file and folder below it, plus the files the run's answer
 * depends on besides the data ("meta": the pipeline and params files, mlbuild.lock, the project
 * config, dvc.lock, .gitignore) with their content hash. It is stored at
 * `.mlcache/state/fresh-snapshot.bin`: a JSON header and the stats as one BigInt64Array.
 *
 * Checking it (`checkSnapshot`) stats every entry. A stage is dirty when any entry of its tops
 * changed; the answer is "up to date" only when no stage is dirty, every meta file is unchanged
 * (by stat, else by content hash), no journal (a crashed run) and no project lock (a run in
 * progress) exist, and mlbuild, the pipeline file and the cwd are the same. Anything it cannot
 * prove sends the caller to the full check; the tops it did prove unchanged are handed to that
 * check (`FileHasher.prime`), so a leaf change re-inspects only the stages around that leaf.
 *
 * Racy-clean rule (git's "racy git"): a path modified within `windowMs` (2 s) of the moment the
 * writing process began observing (`observedFrom`) could change again within the same timestamp
 * tick without its stat changing, so such entries are flagged racy and never trusted: their stages
 * are re-inspected by content, and the next run records them once they are old enough. Every stat
 * and every content read behind a snapshot happens after `observedFrom`, so any later edit carries
 * a ctime at or after it and is either a stat change or racy.
 *
 * It does not decide freshness itself (run/freshness.ts does, in the run that writes it) and never
 * answers stale: at write time each top's hash is checked against the lockfile entry of each stage
 * that uses it, and the snapshot is not written when one disagrees.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { FileHasher } from '../hashing/file-hasher.js';
import type { StatCache } from '../hashing/stat-cache.js';
import { contentHash } from '../util/brand.js';
import { DIR_BIT, F, FLAG_DIR, FLAG_RACY, FLAGS, putStat, RACY_BIT } from './snapshot-io.js';

export const SNAPSHOT_FILE = path.join('state', 'fresh-snapshot.bin');
/** The project lock in `.mlcache/` (state/project-lock.ts): while it exists a run is changing things. */
export const PROJECT_LOCK_FILE = 'lock';
const MAGIC = 0x53424c4d; // 'MLBS' little-endian
const VERSION = 3;
/** Names a directory walk skips (FileHasher's defaults): their content is not part of any hash. */
const IGNORED = new Set(['.git', '.hg', '.mlcache']);

/** The part of a BigIntStats the snapshot compares. */
export interface SnapStat {
  readonly dev: bigint;
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  isDirectory(): boolean;
  isFile(): boolean;
}

/** The file system as the snapshot sees it; injectable for tests. */
export interface SnapshotIo {
  /** stat (symlinks followed, bigint); undefined when the path does not exist. */
  stat(abs: string): SnapStat | undefined;
  /**
   * The same stat written into `out` as one entry's first F-1 fields, plus FLAG_DIR in the last;
   * false when the path does not exist. Optional: the hot loop of a check, defaults to `stat`.
   */
  statInto?(abs: string, out: BigInt64Array): boolean;
  /**
   * Optional: makes `root` the folder relative paths resolve from, so a check can stat its
   * project-relative keys as they are (no path joined per entry, and a shorter walk for the
   * kernel); returns the function that undoes it, or undefined when it cannot.
   */
  enter?(root: string): (() => void) | undefined;
  readdir(abs: string): string[];
  /** The file's bytes, undefined when it does not exist. */
  readFile(abs: string): Uint8Array | undefined;
  /** Content hash of bytes (the pipeline cache's: xxh64 hex). */
  hashBytes(bytes: Uint8Array): string;
}

/** What the snapshot is valid for: a different mlbuild build, pipeline file or cwd never reads it. */
export interface SnapshotKey {
  readonly build: string;
  readonly root: string;
  readonly pipelineFile: string;
  readonly displayCwd: string;
}

export interface SnapshotStage {
  readonly name: string;
  readonly frozen: boolean;
  /** Indices into `tops`: the stage's deps and outs. */
  readonly tops: readonly number[];
}

export interface SnapshotTop {
  /** Project-relative path (or absolute, outside the project), as the pipeline spells it. */
  readonly path: string;
  readonly hash: string;
  readonly size: number;
  /** Directories: number of files in the manifest; -1 for a file. */
  readonly nfiles: number;
  /** Its entries: [first, end), the path itself first. */
  readonly first: number;
  readonly end: number;
}

export interface Header extends SnapshotKey {
  readonly v: number;
  readonly le: boolean;
  readonly observedFrom: number;
  readonly windowMs: number;
  /** Largest GPU count and memory any non-frozen stage demands (a no-op still refuses what can never fit). */
  readonly maxGpus: number;
  readonly maxMemoryMb: number;
  readonly stages: SnapshotStage[];
  readonly tops: SnapshotTop[];
  /** [absolute path, content hash or 'absent']; their stats are the last `meta.length` entries. */
  readonly meta: [string, string][];
  /** Files that must not exist (the journal of a crashed run, the project lock of a running one). */
  readonly absent: string[];
  /** Key (project-relative or absolute) of each entry. */
  readonly paths: string[];
}

export interface Snapshot extends Header {
  /** F bigints per entry: dev, ino, size, mtime s, mtime ns, ctime s, ctime ns, flags. */
  readonly stats: BigInt64Array;
  /** The entries' keys joined by NUL, as stored: a check slices each key when it stats it (`paths` splits them all, on first use). */
  readonly keys: string;
  /** Number of entries. */
  readonly count: number;
}

// ------------------------------------------------------------------ encoding

export function encodeSnapshot(h: Omit<Header, 'v' | 'le'>, stats: BigInt64Array): Uint8Array {
  // The keys as one NUL-separated string (no path holds a NUL): split is ~10x cheaper to read than an array of strings.
  const json = Buffer.from(JSON.stringify({ v: VERSION, le: os.endianness() === 'LE', ...h, paths: h.paths.join('\0') }), 'utf8');
  const off = align8(12 + json.length);
  const out = new Uint8Array(off + stats.byteLength);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC, true);
  dv.setUint32(4, VERSION, true);
  dv.setUint32(8, json.length, true);
  out.set(json, 12);
  out.set(new Uint8Array(stats.buffer, stats.byteOffset, stats.byteLength), off);
  return out;
}

/** The snapshot in `bytes`, or undefined when it is not one this build can read. */
export function decodeSnapshot(bytes: Uint8Array): Snapshot | undefined {
  if (bytes.length < 12) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dv.getUint32(0, true) !== MAGIC || dv.getUint32(4, true) !== VERSION) return undefined;
  const len = dv.getUint32(8, true);
  if (12 + len > bytes.length) return undefined;
  let h: Omit<Header, 'paths'> & { paths: unknown };
  try {
    h = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + 12, len).toString('utf8')) as typeof h;
  } catch {
    return undefined;
  }
  if (h.v !== VERSION || h.le !== (os.endianness() === 'LE') || typeof h.paths !== 'string') return undefined;
  const keys = h.paths;
  // One key per entry: count the separators (no key is empty, so '' holds none).
  let count = keys === '' ? 0 : 1;
  for (let i = keys.indexOf('\0'); i >= 0; i = keys.indexOf('\0', i + 1)) count++;
  const off = align8(12 + len);
  const n = count * F;
  if (bytes.length !== off + n * 8) return undefined;
  const at = bytes.byteOffset + off;
  // Typed arrays need 8-byte alignment; a pooled Buffer may not give it.
  const stats = at % 8 === 0 ? new BigInt64Array(bytes.buffer, at, n) : new BigInt64Array(bytes.slice(off).buffer, 0, n);
  // The keys as an array only when something asks for them (a no-op never does: 11 000 strings kept alive cost scavenges).
  let paths: string[] | undefined;
  const { paths: _joined, ...header } = h;
  return {
    ...header,
    stats,
    keys,
    count,
    get paths(): string[] {
      return (paths ??= keys === '' ? [] : keys.split('\0'));
    },
  };
}

const align8 = (n: number): number => (n + 7) & ~7;

// ------------------------------------------------------------------ checking

export type SnapshotVerdict =
  /** Nothing to prove it with: the caller runs the full check with nothing primed. */
  | { readonly kind: 'unusable'; readonly why: string }
  /**
   * The data entries were checked: `dirty` stages need the full check (empty: up to date);
   * `trusted` are the indices of tops proved unchanged, with their stats, for priming.
   */
  | { readonly kind: 'checked'; readonly dirty: ReadonlySet<string>; readonly trusted: ReadonlyMap<number, SnapStat>; readonly snapshot: Snapshot };

/**
 * Checks `snap` against the file system. Meta files, the must-be-absent files and the key make it
 * `unusable` when they changed; data entries make their stages dirty.
 */
export function checkSnapshot(snap: Snapshot, key: SnapshotKey, io: SnapshotIo): SnapshotVerdict {
  if (snap.build !== key.build) return { kind: 'unusable', why: 'mlbuild changed' };
  if (snap.root !== key.root || snap.pipelineFile !== key.pipelineFile || snap.displayCwd !== key.displayCwd) return { kind: 'unusable', why: 'another pipeline file or folder' };
  for (const abs of snap.absent) if (io.stat(abs) !== undefined) return { kind: 'unusable', why: `${path.basename(abs)} exists` };
  const s = snap.stats;
  // Compared as 32-bit words: no BigInt is created per entry.
  const s32 = new Int32Array(s.buffer, s.byteOffset, s.length * 2);
  const cur = new BigInt64Array(F);
  const c32 = new Int32Array(cur.buffer);
  const statInto = io.statInto
    ? io.statInto.bind(io)
    : (abs: string, out: BigInt64Array): boolean => {
        const st = io.stat(abs);
        if (st !== undefined) putStat(out, 0, st);
        return st !== undefined;
      };
  /** Whether entry `e` is trusted (not racy) and the path's stat now equals it. */
  const unchanged = (e: number, abs: string): boolean => {
    const w = e * F * 2;
    if ((s32[w + FLAGS * 2]! & RACY_BIT) !== 0) return false;
    if (!statInto(abs, cur)) return false;
    for (let k = 0; k < FLAGS * 2; k++) if (c32[k] !== s32[w + k]) return false;
    return (c32[FLAGS * 2]! & DIR_BIT) === (s32[w + FLAGS * 2]! & DIR_BIT);
  };
  const metaStart = snap.count - snap.meta.length;
  for (let m = 0; m < snap.meta.length; m++) {
    const [abs, hash] = snap.meta[m]!;
    if (hash === 'absent') {
      if (io.stat(abs) !== undefined) return { kind: 'unusable', why: `${abs} appeared` };
      continue;
    }
    if (unchanged(metaStart + m, abs)) continue;
    // Changed, racy or gone by stat: the content decides.
    const bytes = io.readFile(abs);
    if (bytes === undefined || io.hashBytes(bytes) !== hash) return { kind: 'unusable', why: `${abs} changed` };
  }
  const root = snap.root;
  const keys = snap.keys;
  // Entries are visited in ascending order: `at` is where the key of entry `next` starts in `keys`.
  let at = 0;
  let next = 0;
  const keyOf = (e: number): string => {
    if (e < next) return snap.paths[e]!; // never for a snapshot buildSnapshot wrote (its tops are in order)
    for (; next < e; next++) at = keys.indexOf('\0', at) + 1;
    const end = keys.indexOf('\0', at);
    return keys.slice(at, end < 0 ? keys.length : end);
  };
  const changedTop = new Uint8Array(snap.tops.length);
  // From the project root, project-relative keys are stat'ed as they are (absolute ones still work).
  const leave = io.enter?.(root);
  try {
    for (let t = 0; t < snap.tops.length; t++) {
      const top = snap.tops[t]!;
      for (let e = top.first; e < top.end; e++) {
        const key = keyOf(e);
        if (!unchanged(e, leave ? key : absOf(root, key))) {
          changedTop[t] = 1;
          break;
        }
      }
    }
  } finally {
    leave?.();
  }
  const dirty = new Set<string>();
  for (const st of snap.stages) if (!st.frozen && st.tops.some((t) => changedTop[t] === 1)) dirty.add(st.name);
  // Only a check that finds changes hands the proved tops on: built when first asked for.
  let trusted: Map<number, SnapStat> | undefined;
  return {
    kind: 'checked',
    dirty,
    get trusted(): ReadonlyMap<number, SnapStat> {
      if (trusted === undefined) {
        trusted = new Map();
        for (let t = 0; t < snap.tops.length; t++) if (changedTop[t] === 0) trusted.set(t, statOf(s, snap.tops[t]!.first));
      }
      return trusted;
    },
    snapshot: snap,
  };
}


/** The SnapStat an entry records. */
function statOf(s: BigInt64Array, e: number): SnapStat {
  const i = e * F;
  const dir = (s[i + FLAGS]! & FLAG_DIR) !== 0n;
  return {
    dev: s[i]!,
    ino: s[i + 1]!,
    size: s[i + 2]!,
    mtimeNs: s[i + 3]! * 1_000_000_000n + s[i + 4]!,
    ctimeNs: s[i + 5]! * 1_000_000_000n + s[i + 6]!,
    isDirectory: () => dir,
    isFile: () => !dir,
  };
}

export function absOf(root: string, key: string): string {
  return key.startsWith('/') ? key : root + '/' + key;
}

export function keyOf(root: string, abs: string): string {
  return abs.startsWith(root + '/') ? abs.slice(root.length + 1) : abs;
}

// ------------------------------------------------------------------ building

/** One top as the run that writes the snapshot knows it. */
export interface TopRecord {
  readonly path: string;
  readonly hash: string;
  readonly size: number;
  readonly nfiles?: number;
}

export interface SnapshotInput extends SnapshotKey {
  /** Stages in plan order. */
  readonly stages: readonly { readonly name: string; readonly frozen: boolean; readonly paths: readonly string[]; readonly gpus: number; readonly memoryMb: number }[];
  /**
   * The record of a dep or out as this run hashed it, and what the lockfile says each stage using
   * it recorded: the snapshot is refused unless they agree.
   */
  readonly record: (p: string) => TopRecord | undefined;
  readonly recorded: (stage: string, p: string) => string | undefined;
  /** Meta files with the hash of the content this run used ('absent' when it had none). */
  readonly meta: readonly (readonly [string, string])[];
  readonly absent: readonly string[];
  /** When this process began observing the file system (ms since epoch): see the racy rule. */
  readonly observedFrom: number;
  readonly windowMs?: number;
  /** The snapshot checked at the start of this run and the tops it proved unchanged: reused as they are. */
  readonly previous?: { readonly snapshot: Snapshot; readonly trusted: ReadonlyMap<number, SnapStat> };
}

export type BuildResult = { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly why: string };

/** The snapshot of a run after which every stage in `input.stages` is fresh, or why there is none. */
export function buildSnapshot(input: SnapshotInput, io: SnapshotIo): BuildResult {
  const windowMs = input.windowMs ?? 2000;
  const racyFrom = BigInt(Math.floor(input.observedFrom - windowMs)) * 1_000_000n;
  const root = input.root;
  const paths: string[] = [];
  // Grown by doubling; entries carried over from the previous snapshot are copied as a block.
  let stats = new BigInt64Array(F * 1024);
  const room = (n: number): void => {
    if ((paths.length + n) * F <= stats.length) return;
    const bigger = new BigInt64Array(Math.max(stats.length * 2, (paths.length + n) * F));
    bigger.set(stats);
    stats = bigger;
  };
  const push = (key: string, st: SnapStat): void => {
    room(1);
    const i = paths.length * F;
    paths.push(key);
    putStat(stats, i, st);
    if (st.mtimeNs >= racyFrom || st.ctimeNs >= racyFrom) stats[i + FLAGS] = stats[i + FLAGS]! | FLAG_RACY;
  };
  const prevTops = new Map<string, number>();
  if (input.previous) for (const t of input.previous.trusted.keys()) prevTops.set(input.previous.snapshot.tops[t]!.path, t);

  const tops: SnapshotTop[] = [];
  const topIndex = new Map<string, number>();
  const stages: SnapshotStage[] = [];
  let maxGpus = 0;
  let maxMemoryMb = 0;
  for (const stage of input.stages) {
    const idx: number[] = [];
    if (!stage.frozen) {
      maxGpus = Math.max(maxGpus, stage.gpus);
      maxMemoryMb = Math.max(maxMemoryMb, stage.memoryMb);
    }
    for (const p of stage.paths) {
      let t = topIndex.get(p);
      if (t === undefined) {
        const rec = input.record(p);
        if (rec === undefined) return { ok: false, why: `${p} is missing` };
        const first = paths.length;
        const prev = prevTops.get(p);
        const prevSnap = input.previous?.snapshot;
        if (prev !== undefined && prevSnap !== undefined && prevSnap.tops[prev]!.hash === rec.hash) {
          // Proved unchanged at the start of this run: its entries stand as they are.
          const pt = prevSnap.tops[prev]!;
          room(pt.end - pt.first);
          stats.set(prevSnap.stats.subarray(pt.first * F, pt.end * F), paths.length * F);
          for (let e = pt.first; e < pt.end; e++) paths.push(prevSnap.paths[e]!);
        } else {
          const abs = absOf(root, p);
          const st = io.stat(abs);
          if (st === undefined) return { ok: false, why: `${p} is missing` };
          push(keyOf(root, abs), st);
          if (st.isDirectory()) {
            const walked = walk(abs, st, io, root, push, new Set());
            if (walked !== undefined) return { ok: false, why: walked };
          }
        }
        t = tops.length;
        tops.push({ path: p, hash: rec.hash, size: rec.size, nfiles: rec.nfiles ?? -1, first, end: paths.length });
        topIndex.set(p, t);
      }
      // Every stage using the top must have recorded exactly this content.
      if (!stage.frozen && input.recorded(stage.name, p) !== tops[t]!.hash) return { ok: false, why: `stage '${stage.name}' recorded another ${p}` };
      idx.push(t);
    }
    stages.push({ name: stage.name, frozen: stage.frozen, tops: idx });
  }
  for (const abs of input.absent) if (io.stat(abs) !== undefined) return { ok: false, why: `${path.basename(abs)} exists` };
  const meta: [string, string][] = [];
  for (const [abs, hash] of input.meta) {
    const st = io.stat(abs);
    if ((st === undefined) !== (hash === 'absent')) return { ok: false, why: `${abs} changed during the run` };
    meta.push([abs, hash]);
    if (st) push(abs, st);
    else {
      room(1);
      stats[paths.length * F + FLAGS] = FLAG_RACY;
      paths.push(abs);
    }
  }
  const header = {
    build: input.build,
    root,
    pipelineFile: input.pipelineFile,
    displayCwd: input.displayCwd,
    observedFrom: input.observedFrom,
    windowMs,
    maxGpus,
    maxMemoryMb,
    stages,
    tops,
    meta,
    absent: [...input.absent],
    paths,
  };
  return { ok: true, bytes: encodeSnapshot(header, stats.subarray(0, paths.length * F)) };
}

/** Every file and folder below `dir`, as FileHasher's walk sees them; a message on a symlink cycle. */
export function walk(dir: string, st: SnapStat, io: SnapshotIo, root: string, push: (key: string, st: SnapStat) => void, onStack: Set<string>): string | undefined {
  const id = `${st.dev}:${st.ino}`;
  if (onStack.has(id)) return `symbolic link cycle at ${dir}`;
  onStack.add(id);
  for (const name of io.readdir(dir).sort()) {
    if (IGNORED.has(name)) continue;
    const abs = dir + '/' + name;
    const cst = io.stat(abs);
    if (cst === undefined || (!cst.isFile() && !cst.isDirectory())) continue; // as FileHasher skips them
    push(keyOf(root, abs), cst);
    if (cst.isDirectory()) {
      const bad = walk(abs, cst, io, root, push, onStack);
      if (bad !== undefined) return bad;
    }
  }
  onStack.delete(id);
  return undefined;
}

export { nodeSnapshotIo } from './snapshot-io.js';

/** The project's snapshot file, decoded; undefined when there is none this build can read. */
export function readSnapshot(mlcacheDir: string): Snapshot | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(path.join(mlcacheDir, SNAPSHOT_FILE));
  } catch {
    return undefined;
  }
  return decodeSnapshot(bytes);
}

/**
 * The racy window in ms: `MLBUILD_RACY_WINDOW_MS` (raise it where file servers' clocks drift more
 * than 2 s from this machine's; 0 where timestamps are exact, e.g. in tests), else 2000.
 */
export function racyWindowMs(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.MLBUILD_RACY_WINDOW_MS);
  return env.MLBUILD_RACY_WINDOW_MS !== undefined && env.MLBUILD_RACY_WINDOW_MS !== '' && Number.isFinite(v) && v >= 0 ? v : 2000;
}

/** Milliseconds since the epoch of a nanosecond timestamp, as Node's `mtimeMs` computes it. */
export const nsToMs = (ns: bigint): number => Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;

/** What an up-to-date check that found dirty stages hands to the full check of the same process. */
export interface Primed {
  readonly snapshot: Snapshot;
  /** Tops proved unchanged, with the stat that proved it. */
  readonly trusted: ReadonlyMap<number, SnapStat>;
  /** When the check began observing (ms since epoch): the run's racy threshold comes from it. */
  readonly observedFrom: number;
  /**
   * The stages with a changed dep or out. Given only when every other stage may be taken as fresh
   * without inspecting it (no stage demands GPUs or more memory than this machine has, which a
   * run checks for every stage): the run then schedules just these and what is downstream of them.
   */
  readonly dirty?: ReadonlySet<string>;
}

/**
 * Seeds `files` with every top `primed` proved unchanged, and keeps the stat-cache entries of the
 * files below them alive (they are not looked up, and pruning would drop them otherwise).
 */
export function primeFiles(primed: Primed, files: FileHasher, statCache: StatCache): void {
  const { snapshot: snap, trusted } = primed;
  for (const [t, st] of trusted) {
    const top = snap.tops[t]!;
    const isDir = st.isDirectory();
    files.prime(
      top.path,
      { isFile: st.isFile(), isDirectory: isDir, size: Number(st.size), mtimeMs: nsToMs(st.mtimeNs), ino: Number(st.ino), dev: Number(st.dev), ctimeMs: nsToMs(st.ctimeNs) },
      { hash: contentHash(top.hash), size: top.size, ...(top.nfiles >= 0 ? { nfiles: top.nfiles } : {}) },
    );
  }
  // Files below proved folders are not looked up: keep their stat-cache entries from being pruned.
  statCache.keepAliveLater(function* () {
    const s = snap.stats;
    for (const t of trusted.keys()) {
      const top = snap.tops[t]!;
      for (let e = top.first + 1; e < top.end; e++) if ((s[e * F + FLAGS]! & FLAG_DIR) === 0n) yield absOf(snap.root, snap.paths[e]!);
    }
  });
}
