/**
 * DVC's content hashes, beside mlbuild's xxh64, so `.dvc` pointers, `dvc.lock` and DVC remotes can
 * be read and written (dvc-data `hashfile/hash.py` and `hashfile/tree.py`):
 *
 * - file, DVC 3 (`hash: md5` in the record): md5 of the bytes.
 * - file, DVC 2 (no `hash:` key, dvc-data's `md5-dos2unix`): md5 of the bytes read in 1 MiB chunks,
 *   each chunk whose first 512 bytes look like text (istextblock: no NUL, at most 30 % outside
 *   printable ASCII and `\n\r\t\f\b`) having its `\r\n` turned into `\n`. Binary files and text
 *   without CRLF hash the same under both.
 * - directory: md5 of the JSON listing `[{"md5": ..., "relpath": ...}, ...]` sorted by relpath and
 *   serialised as Python's `json.dumps(..., sort_keys=True)` (`", "` and `": "` separators, every
 *   character outside printable ASCII escaped as `\uXXXX`), plus `.dir`.
 *
 * It hashes bytes and listings only: it does not walk directories, cache anything or know about
 * pointers (data/ does).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

export type Md5Kind = 'md5' | 'md5-dos2unix';

const CHUNK = 1 << 20;
const TEXT_BLOCK = 512;

/** dvc-data's `istextblock`. */
export function isTextBlock(block: Uint8Array): boolean {
  if (block.length === 0) return true;
  let nontext = 0;
  for (const b of block) {
    if (b === 0) return false;
    const text = (b >= 32 && b < 127) || b === 10 || b === 13 || b === 9 || b === 12 || b === 8;
    if (!text) nontext++;
  }
  return nontext / block.length <= 0.3;
}

function dos2unix(chunk: Buffer): Buffer {
  if (!isTextBlock(chunk.subarray(0, TEXT_BLOCK)) || chunk.indexOf('\r\n') < 0) return chunk;
  return Buffer.from(chunk.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
}

/** An incremental md5 of either kind, fed in any chunk sizes (re-chunked to DVC's 1 MiB). */
export class Md5Stream {
  private readonly h = crypto.createHash('md5');
  private pending: Buffer[] = [];
  private pendingLen = 0;

  constructor(private readonly kind: Md5Kind) {}

  update(b: Uint8Array): void {
    if (this.kind === 'md5') {
      this.h.update(b);
      return;
    }
    this.pending.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
    this.pendingLen += b.byteLength;
    while (this.pendingLen >= CHUNK) {
      const all = Buffer.concat(this.pending, this.pendingLen);
      this.h.update(dos2unix(all.subarray(0, CHUNK)));
      const rest = all.subarray(CHUNK);
      this.pending = rest.length ? [Buffer.from(rest)] : [];
      this.pendingLen = rest.length;
    }
  }

  digest(): string {
    if (this.kind === 'md5-dos2unix' && this.pendingLen > 0) this.h.update(dos2unix(Buffer.concat(this.pending, this.pendingLen)));
    return this.h.digest('hex');
  }
}

export function md5OfBytes(b: Uint8Array, kind: Md5Kind = 'md5'): string {
  const s = new Md5Stream(kind);
  s.update(b);
  return s.digest();
}

/** md5 of a file's content, read synchronously in 1 MiB chunks. */
export function md5OfFile(abs: string, kind: Md5Kind = 'md5'): string {
  const s = new Md5Stream(kind);
  const fd = fs.openSync(abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      s.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return s.digest();
}

/** One file of a `.dir` listing. */
export interface Md5TreeEntry {
  readonly relpath: string;
  readonly md5: string;
}

/** Python's `json.dumps` string encoding with `ensure_ascii=True`. */
function pyJsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += '\\\\';
    else if (c >= 0x20 && c <= 0x7e) out += s[i];
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else out += '\\u' + c.toString(16).padStart(4, '0');
  }
  return out + '"';
}

/** Python sorts str by code point; JS `<` compares UTF-16 units, which differs only past U+FFFF. */
function byCodePoint(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** The exact bytes DVC stores as a `.dir` object (and hashes to name the directory). */
export function md5TreeText(entries: readonly Md5TreeEntry[]): string {
  const sorted = [...entries].sort((a, b) => byCodePoint(a.relpath, b.relpath));
  return '[' + sorted.map((e) => `{"md5": ${pyJsonString(e.md5)}, "relpath": ${pyJsonString(e.relpath)}}`).join(', ') + ']';
}

/** The directory's DVC hash: md5 of its listing + `.dir`. */
export function md5OfTree(entries: readonly Md5TreeEntry[]): string {
  return md5OfBytes(Buffer.from(md5TreeText(entries), 'utf8')) + '.dir';
}

/** Parses a `.dir` object as DVC writes it (a JSON list of `{md5, relpath, ...}`), or explains why not. */
export function parseMd5Tree(text: string): Md5TreeEntry[] | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  if (!Array.isArray(raw)) return 'not a JSON list';
  const out: Md5TreeEntry[] = [];
  for (const e of raw) {
    const o = e as { md5?: unknown; relpath?: unknown };
    if (typeof o !== 'object' || o === null || typeof o.md5 !== 'string' || typeof o.relpath !== 'string' || !/^[0-9a-f]{32}$/.test(o.md5)) return 'an entry lacks md5 or relpath';
    if (o.relpath.split('/').some((p) => p === '..' || p === '') || o.relpath.startsWith('/')) return `unsafe relpath '${o.relpath}'`;
    out.push({ relpath: o.relpath, md5: o.md5 });
  }
  return out;
}

export const isMd5 = (h: string): boolean => /^[0-9a-f]{32}(\.dir)?$/.test(h);
