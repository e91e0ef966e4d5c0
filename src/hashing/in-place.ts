/**
 * xxh64 of bytes that are read straight into WebAssembly memory and hashed where they land, so a
 * big file costs one copy (the kernel's, into the read buffer) instead of two: xxhash-wasm's
 * `update` copies every chunk into its memory first, which takes as long as hashing it.
 *
 * The wasm is xxhash-wasm's own module (the package ships it as `workerd/xxhash.wasm`, the same
 * bytes its JS wrapper embeds), instantiated here with an instance per stream, so the exports it
 * uses are the package's: `init64(state, seed)`, `update64(state, data, len)`, `digest64(state)`
 * with an 88-byte state (the layout its wrapper uses). Before the first use it hashes a test
 * buffer both ways; if the file is missing, the exports differ or the digests disagree (a future
 * version of the package), `inPlaceStream` returns undefined and callers use the copying stream,
 * so a package update can slow big files down but never change a hash.
 *
 * Instances are reused (a small free list): each one is a separate wasm memory, and V8 reserves
 * several GiB of address space per memory. It reads no files itself besides the module.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

export interface InPlaceStream {
  /** Buffers inside wasm memory to read into; valid until `digest()` or `release()`. */
  readonly regions: readonly Uint8Array[];
  /** Hashes the first `n` bytes of `regions[i]` (in order with earlier updates). */
  update(i: number, n: number): void;
  /** xxh64 of everything hashed, 16 lowercase hex chars; the stream is released. */
  digest(): string;
  /** Gives the memory back without a digest (after a read error). */
  release(): void;
}

// lib ES2023 without DOM has no WebAssembly types: the few used here.
/** A compiled module (structured-cloneable: workers can be sent one). */
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: { new (bytes: Uint8Array): WasmModule; exports(m: WasmModule): { name: string }[] };
  Instance: new (m: WasmModule, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  readonly mem: WasmMemory;
  init64(state: number, seed: bigint): void;
  update64(state: number, data: number, len: number): void;
  digest64(state: number): bigint;
}

/** The state block at offset 0 (88 bytes in xxhash-wasm 1.x), regions from here, 64-byte aligned. */
const REGIONS_AT = 128;
const PAGE = 65536;
const FREE_MAX = 4;

let mod: WasmModule | null | undefined;
const free: Exports[] = [];

/** The package's module, compiled once; null when it is not there or not the module we know. */
function load(oneShot: (b: Uint8Array) => string): WasmModule | null {
  if (mod !== undefined) return mod;
  try {
    const main = createRequire(import.meta.url).resolve('xxhash-wasm');
    const file = path.join(path.dirname(main), '..', 'workerd', 'xxhash.wasm');
    const m = new wasm.Module(fs.readFileSync(file));
    const names = new Set(wasm.Module.exports(m).map((e) => e.name));
    mod = ['mem', 'init64', 'update64', 'digest64'].every((n) => names.has(n)) && selfCheck(m, oneShot) ? m : null;
  } catch {
    mod = null;
  }
  return mod ?? null;
}

/** Odd sizes and split updates cover the partial-stripe paths; compared with the package's one-shot hash. */
function selfCheck(m: WasmModule, oneShot: (b: Uint8Array) => string): boolean {
  const x = new wasm.Instance(m, {}).exports as unknown as Exports;
  grow(x, REGIONS_AT + 4096);
  const mem = new Uint8Array(x.mem.buffer);
  let v = 0x9e3779b9;
  for (let i = 0; i < 4096; i++) {
    v = (Math.imul(v, 1103515245) + 12345) >>> 0;
    mem[REGIONS_AT + i] = v >>> 24;
  }
  const want = oneShot(mem.slice(REGIONS_AT, REGIONS_AT + 3001));
  // A used state first: streams reuse instances, so init must reset everything.
  init(x);
  x.update64(0, REGIONS_AT + 100, 45);
  x.digest64(0);
  init(x);
  x.update64(0, REGIONS_AT, 7);
  x.update64(0, REGIONS_AT + 7, 2994);
  return digestHex(x) === want;
}

function grow(x: Exports, bytes: number): void {
  const have = x.mem.buffer.byteLength;
  if (have < bytes) x.mem.grow(Math.ceil((bytes - have) / PAGE));
}

/** init64 sets the seeds but not the length or the buffered bytes: the state is zeroed first (as the package's own wrapper does). */
function init(x: Exports): void {
  new Uint8Array(x.mem.buffer, 0, REGIONS_AT).fill(0);
  x.init64(0, 0n);
}

const digestHex = (x: Exports): string => BigInt.asUintN(64, BigInt(x.digest64(0))).toString(16).padStart(16, '0');

/**
 * The checked module (for worker threads, which can be sent a compiled module), or null when it is
 * unavailable and hashing must copy.
 */
export function inPlaceModule(oneShot: (b: Uint8Array) => string): WasmModule | null {
  return load(oneShot);
}

/**
 * A stream over `count` regions of `size` bytes in a fresh or reused instance; undefined when the
 * module is unavailable (see the module comment). `oneShot` is the package's hash, for the self-check.
 */
export function inPlaceStream(size: number, count: number, oneShot: (b: Uint8Array) => string): InPlaceStream | undefined {
  const m = load(oneShot);
  if (m === null) return undefined;
  const stride = Math.ceil(size / 64) * 64;
  const x = free.pop() ?? (new wasm.Instance(m, {}).exports as unknown as Exports);
  // Grown before the views are made: growing detaches the old buffer, and nothing grows it later.
  grow(x, REGIONS_AT + stride * count);
  const buffer = x.mem.buffer;
  const regions = Array.from({ length: count }, (_, i) => new Uint8Array(buffer, REGIONS_AT + i * stride, size));
  init(x);
  let done = false;
  const release = (): void => {
    if (done) return;
    done = true;
    if (free.length < FREE_MAX) free.push(x);
  };
  return {
    regions,
    update(i, n) {
      if (done) throw new Error('Internal error: in-place hash stream used after digest');
      if (i >= count || n > size) throw new Error(`Internal error: in-place update(${i}, ${n}) outside ${count} regions of ${size} bytes`);
      if (n > 0) x.update64(0, REGIONS_AT + i * stride, n);
    },
    digest() {
      if (done) throw new Error('Internal error: in-place hash stream digested twice');
      const hex = digestHex(x);
      release();
      return hex;
    },
    release,
  };
}
