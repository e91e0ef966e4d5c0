/**
 * Worker threads that read and hash large files, so a cold dataset of several big files is hashed
 * on every core instead of one (the main thread's double-buffered reader tops out at one core's
 * xxh64 speed). FileHasher sends it only uncached files of at least 64 MiB, where a worker's start
 * (tens of milliseconds, paid once per process) is small against the read.
 *
 * Each worker runs the same loop as the main thread's reader: 4 MiB reads double-buffered against
 * hashing in 1 MiB slices, xxh64 seed 0 through the same xxhash-wasm package, so a digest is the
 * same whichever thread computed it (tested). Workers are started lazily, up to `size`, and hold
 * the process open only while they have work: an idle pool never delays exit.
 *
 * It knows nothing of the stat cache or racy-clean rules (FileHasher applies them to the result).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

export interface FileDigest {
  /** xxh64 of the bytes read, 16 lowercase hex chars. */
  readonly hex: string;
  /** Bytes actually read (differs from the stat size when the file changed meanwhile). */
  readonly bytes: number;
}

/** Reads and hashes one whole file somewhere (a worker, or the main thread in tests). */
export type BigFileHasher = (abs: string) => Promise<FileDigest>;

// CommonJS so it can run with `eval: true`: the pool needs no separate file next to the bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fsp = require('node:fs/promises');
const READ = 4 << 20, SLICE = 1 << 20;
const ready = require(workerData.xxhash)();
async function hashFile(api, path) {
  const fh = await fsp.open(path, 'r');
  const st = api.create64();
  let total = 0;
  try {
    let cur = Buffer.allocUnsafe(READ), next = Buffer.allocUnsafe(READ);
    let pending = fh.read(cur, 0, READ, 0);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      total += bytesRead;
      pending = fh.read(next, 0, READ, total);
      pending.catch(() => {});
      for (let off = 0; off < bytesRead; off += SLICE) st.update(cur.subarray(off, Math.min(off + SLICE, bytesRead)));
      [cur, next] = [next, cur];
    }
  } finally {
    await fh.close();
  }
  return { hex: st.digest().toString(16).padStart(16, '0'), bytes: total };
}
parentPort.on('message', ({ id, path }) => {
  ready.then((api) => hashFile(api, path)).then(
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
  #xxhash: string | undefined;

  /** `size`: most workers at once (>= 1). */
  constructor(size: number) {
    this.#size = Math.max(1, Math.floor(size));
  }

  readonly hashFile: BigFileHasher = (path) =>
    new Promise<FileDigest>((resolve, reject) => {
      this.#queue.push({ id: this.#nextId++, path, resolve, reject });
      this.#pump();
    });

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
      slot.worker.postMessage({ id: job.id, path: job.path });
    }
  }

  #spawn(): Slot {
    this.#xxhash ??= createRequire(import.meta.url).resolve('xxhash-wasm');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { xxhash: this.#xxhash } });
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
