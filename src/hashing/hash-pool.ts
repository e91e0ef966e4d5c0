/**
 * Worker threads that read and hash large files, so a cold dataset of several big files is hashed
 * on every core instead of one (the main thread's double-buffered reader tops out at one core's
 * xxh64 speed). FileHasher sends it only uncached files of at least 64 MiB, where a worker's start
 * (tens of milliseconds, paid once per process) is small against the read.
 *
 * Each worker runs the same loop as the main thread's reader: 1 MiB reads straight into wasm memory,
 * double-buffered against hashing in place, xxh64 seed 0 through the same xxhash-wasm module, so a
 * digest is the same whichever thread computed it (tested). Workers are started lazily, up to `size`, and hold
 * the process open only while they have work: an idle pool never delays exit.
 *
 * It knows nothing of the stat cache or racy-clean rules (FileHasher applies them to the result).
 */
import { createRequire } from 'node:module';
import type { Worker } from 'node:worker_threads';
import { inPlaceModule, type WasmModule } from './in-place.js';
import { loadHasher, type Hasher } from './xxhash.js';

const nodeRequire = createRequire(import.meta.url);

export interface FileDigest {
  /** xxh64 of the bytes read, 16 lowercase hex chars. */
  readonly hex: string;
  /** Bytes actually read (differs from the stat size when the file changed meanwhile). */
  readonly bytes: number;
}

/** Reads and hashes one whole file somewhere (a worker, or the main thread in tests). */
export type BigFileHasher = (abs: string) => Promise<FileDigest>;

// CommonJS so it can run with `eval: true`: the pool needs no separate file next to the bundle.
// With `module` (in-place.ts's checked module) each 1 MiB read lands in wasm memory and is hashed
// there, as on the main thread; without it, through the package's copying stream.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs'), fsp = require('node:fs/promises');
const READ = 1 << 20, AT = 128;
const copying = workerData.module ? undefined : require(workerData.xxhash)();
let x;
function inPlace() {
  if (!x) {
    x = new WebAssembly.Instance(workerData.module, {}).exports;
    const need = AT + 2 * READ - x.mem.buffer.byteLength;
    if (need > 0) x.mem.grow(Math.ceil(need / 65536));
  }
  const regions = [new Uint8Array(x.mem.buffer, AT, READ), new Uint8Array(x.mem.buffer, AT + READ, READ)];
  new Uint8Array(x.mem.buffer, 0, AT).fill(0); // init64 does not reset the length: zero the state
  x.init64(0, 0n);
  return { regions, update: (i, n) => x.update64(0, AT + i * READ, n), digest: () => BigInt.asUintN(64, BigInt(x.digest64(0))) };
}
async function copyingStream() {
  const api = await copying, st = api.create64();
  const regions = [Buffer.allocUnsafe(READ), Buffer.allocUnsafe(READ)];
  return { regions, update: (i, n) => st.update(regions[i].subarray(0, n)), digest: () => st.digest() };
}
// Several files at once: plain reads on this thread, each chunk hashed where it landed (no hand-off
// to libuv's pool and back, 10-20 % less CPU), so the workers keep the cores busy between them.
async function hashFileSync(path) {
  const s = workerData.module ? inPlace() : await copyingStream();
  const fd = fs.openSync(path, 'r');
  let total = 0;
  try {
    for (let n; (n = fs.readSync(fd, s.regions[0], 0, READ, null)) > 0; total += n) s.update(0, n);
  } finally {
    fs.closeSync(fd);
  }
  return { hex: s.digest().toString(16).padStart(16, '0'), bytes: total };
}
// One file alone: the next read on libuv's pool overlaps the hashing of this one, two cores for one file.
async function hashFile(path) {
  const fh = await fsp.open(path, 'r');
  const s = workerData.module ? inPlace() : await copyingStream();
  let total = 0, pending;
  try {
    let cur = 0;
    pending = fh.read(s.regions[0], 0, READ, 0);
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) break;
      total += bytesRead;
      pending = fh.read(s.regions[1 - cur], 0, READ, total);
      s.update(cur, bytesRead);
      cur = 1 - cur;
    }
  } catch (e) {
    if (pending) await pending.catch(() => {});
    throw e;
  } finally {
    await fh.close();
  }
  return { hex: s.digest().toString(16).padStart(16, '0'), bytes: total };
}
parentPort.on('message', ({ id, path, alone }) => {
  (alone ? hashFile(path) : hashFileSync(path)).then(
    (r) => parentPort.postMessage({ id, ...r }),
    (e) => parentPort.postMessage({ id, error: String(e && e.message || e), code: e && e.code }),
  );
});
`;

interface Job {
  readonly id: number;
  readonly path: string;
  readonly resolve: (d: FileDigest) => void;
  readonly reject: (e: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
}

type Reply = { id: number; hex: string; bytes: number } | { id: number; error: string; code?: string };

export class HashPool {
  readonly #size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 0;
  #workerData: { xxhash: string; module: WasmModule | null } | undefined;
  readonly #hasher: Pick<Hasher, 'hashBytes'> | undefined;

  readonly #module: WasmModule | null | undefined;

  /**
   * `size`: most workers at once (>= 1). `hasher` checks the in-place module before workers get it
   * (default: the process-wide one). `module`: null makes workers hash through the package's
   * copying stream (the fallback, for tests).
   */
  constructor(size: number, hasher?: Pick<Hasher, 'hashBytes'>, module?: WasmModule | null) {
    this.#size = Math.max(1, Math.floor(size));
    this.#hasher = hasher;
    this.#module = module;
  }

  readonly hashFile: BigFileHasher = async (path) => {
    if (this.#workerData === undefined) {
      const hasher = this.#hasher ?? (await loadHasher());
      const module = this.#module === undefined ? inPlaceModule((b) => hasher.hashBytes(b)) : this.#module;
      this.#workerData ??= { xxhash: createRequire(import.meta.url).resolve('xxhash-wasm'), module };
    }
    return new Promise<FileDigest>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, path, resolve, reject });
      this.#pump();
    });
  };

  /** Stops every worker; pending jobs are rejected. */
  async close(): Promise<void> {
    const slots = this.#slots.splice(0);
    for (const j of this.#queue.splice(0)) j.reject(new Error('hash pool closed'));
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === undefined);
      if (slot === undefined && this.#slots.length < this.#size) slot = this.#spawn();
      if (slot === undefined) return;
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      // Alone: nothing else in flight or waiting, so the read-ahead may have the other core.
      const alone = this.#queue.length === 0 && this.#slots.every((s) => s === slot || s.job === undefined);
      slot.worker.postMessage({ id: job.id, path: job.path, alone });
    }
  }

  #spawn(): Slot {
    // Loaded on the first spawn: a run that hashes no big file never loads worker_threads (~0.5 ms).
    const { Worker } = nodeRequire('node:worker_threads') as typeof import('node:worker_threads');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.#workerData });
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (m: Reply) => {
      const job = slot.job;
      if (job === undefined || job.id !== m.id) return;
      slot.job = undefined;
      worker.unref();
      if ('error' in m) job.reject(Object.assign(new Error(m.error), m.code === undefined ? {} : { code: m.code }));
      else job.resolve({ hex: m.hex, bytes: m.bytes });
      this.#pump();
    });
    // A worker that dies fails its job; the slot is dropped and a new worker starts for later jobs.
    worker.on('error', (e) => {
      const i = this.#slots.indexOf(slot);
      if (i !== -1) this.#slots.splice(i, 1);
      slot.job?.reject(e);
      slot.job = undefined;
      this.#pump();
    });
    this.#slots.push(slot);
    return slot;
  }
}
