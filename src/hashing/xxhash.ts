/**
 * xxh64 (seed 0) over xxhash-wasm, as 16 lowercase hex chars — the one hash function mlbuild uses
 * for file contents, directory manifests and fingerprints.
 *
 * The WebAssembly module is instantiated once per process, lazily, on the first `loadHasher()`
 * (about a millisecond); later calls get the same instance without re-instantiating. This is the
 * one module-level singleton in hashing/: the wasm instance is pure (no I/O), so sharing it is safe,
 * and every streaming state lives in its own closure, so interleaved streams do not interfere.
 *
 * It does not read files (file-hasher.ts does) and knows nothing of paths or the cache.
 *
 * Measured: the wasm xxh64 runs at 8-13 GB/s on in-cache buffers of 64 KiB - 1 MiB. Each
 * `stream().update` copies its chunk into wasm memory, which halves that (256 MiB in 1 MiB
 * slices: 43 ms streamed against 21 ms hashed in place; native xxhsum -H1 is no faster than the
 * in-place wasm). So big files are read straight into wasm memory and hashed where they land:
 * {@link Hasher.inPlace}, over our own instances of the package's own module (in-place.ts).
 */
import xxhash from 'xxhash-wasm';
import { inPlaceStream, type InPlaceStream } from './in-place.js';

export type { InPlaceStream } from './in-place.js';

export interface Hash64Stream {
  update(b: Uint8Array): void;
  /** The hash of everything fed so far; the stream must not be used afterwards. */
  digest(): string;
}

export interface Hasher {
  /** xxh64 of the bytes, 16 lowercase hex chars. */
  hashBytes(b: Uint8Array): string;
  /** xxh64 of the UTF-8 encoding of `s`, 16 lowercase hex chars. */
  hashString(s: string): string;
  /** Incremental xxh64; equal to hashBytes of the concatenation of all updates. */
  stream(): Hash64Stream;
  /**
   * Incremental xxh64 over `count` buffers of `size` bytes that live in wasm memory: read into
   * `regions[i]`, then `update(i, n)` hashes its first n bytes without copying them. Equal to
   * `stream()` fed the same bytes. Call `digest()` or `release()` exactly once.
   */
  inPlace(size: number, count: number): InPlaceStream;
}

/** Formats an unsigned 64-bit value as 16 lowercase hex digits. */
export function hex64(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

/** The xxhash-wasm API (its copying functions). */
export type Api = Awaited<ReturnType<typeof xxhash>>;

function makeHasher(api: Api): Hasher {
  return {
    hashBytes: (b) => hex64(api.h64Raw(b)),
    hashString: (s) => api.h64ToString(s),
    stream() {
      const st = api.create64();
      return {
        update(b: Uint8Array) {
          st.update(b);
        },
        digest: () => hex64(st.digest()),
      };
    },
    inPlace(size, count) {
      return inPlaceStream(size, count, (b) => hex64(api.h64Raw(b))) ?? copyingInPlace(api, size, count);
    },
  };
}

/** The same interface over plain buffers and the copying stream: when the module cannot be loaded. */
export function copyingInPlace(api: Api, size: number, count: number): InPlaceStream {
  const st = api.create64();
  return {
    regions: Array.from({ length: count }, () => Buffer.allocUnsafe(size)),
    update(i, n) {
      st.update(this.regions[i]!.subarray(0, n));
    },
    digest: () => hex64(st.digest()),
    release() {},
  };
}

let instance: Hasher | undefined;
let pending: Promise<Hasher> | undefined;

/** The process-wide hasher; instantiates the wasm module on first call only. */
export function loadHasher(): Promise<Hasher> {
  if (instance) return Promise.resolve(instance);
  pending ??= xxhash().then((api) => (instance = makeHasher(api)));
  return pending;
}
