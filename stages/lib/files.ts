/**
 * Deterministic file output. Outputs are content-hashed by mlbuild, so a file must be byte-identical
 * for identical inputs: JSON is written with keys in construction order, a fixed indent and a final
 * newline, and binary arrays in little-endian order whatever the host.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { endianness } from 'node:os';

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

export function writeText(path: string, text: string): void {
  ensureDir(dirname(path));
  writeFileSync(path, text);
}

export function writeBytes(path: string, bytes: Uint8Array): void {
  ensureDir(dirname(path));
  writeFileSync(path, bytes);
}

/** Pretty JSON (for files people read and diff: metrics, reports' inputs). */
export function writeJson(path: string, value: unknown): void {
  writeText(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** One-line JSON (for machine files where indentation would only add bytes: plans, predictions). */
export function writeCompactJson(path: string, value: unknown): void {
  writeText(path, `${JSON.stringify(value)}\n`);
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

export function writeJsonl(path: string, rows: readonly unknown[]): void {
  writeText(path, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

export function readJsonl<T>(path: string): T[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}

if (endianness() !== 'LE') {
  // Typed arrays use host byte order; every platform Node supports in practice is little-endian.
  throw new Error('mlbuild showcase stages write little-endian binaries and need a little-endian host');
}

/** Bytes of a typed array, for writing (host order = little-endian, checked above). */
export function bytesOf(a: Int32Array | Float32Array | Float64Array | Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}
