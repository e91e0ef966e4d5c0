/**
 * The serving request log: one JSON line per input text (a batch of n texts gives n records), in
 * `<dir>/requests-<YYYYMMDD>-<seq>.jsonl` (seq: 4 digits from 0001, per UTC day), rotated when a
 * file would pass `maxBytes`. `mlbuild monitor` reads it (readRequestLog / listRequestLogs).
 *
 *   {"v":1,"ts":"2026-12-05T23:59:01.123Z","request_id":"r-1","index":0,"model":"sentiment",
 *    "version":"v1.2.0","n_chars":17,"n_tokens":4,"token_hashes":[...],"score":0.93,"label":1}
 *
 * token_hashes: xxh32 (seed 0) of each token's UTF-8, tokens from stages/lib/text.ts tokenize(),
 * in token order: enough to measure vocabulary drift without keeping the text. "text" (the raw
 * input) is written only when the server runs with --log-text: privacy by default.
 *
 * Writes are buffered and appended off the request path (one fs write per flush, not per
 * request); `close()` flushes. It does not rotate by age or delete old files.
 */
import { createWriteStream, readdirSync, statSync, type WriteStream } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import xxhash from 'xxhash-wasm';
import { tokenize } from '../../stages/lib/text.js';

export const REQUEST_LOG_VERSION = 1;
export const DEFAULT_LOG_MAX_BYTES = 64 * 1024 * 1024;
export const DEFAULT_LOG_DIR = '.mlcache/serve-logs';
const FILE_RE = /^requests-(\d{8})-(\d+)\.jsonl$/;

export interface RequestRecord {
  readonly v: 1;
  /** ISO-8601, UTC. */
  readonly ts: string;
  readonly request_id: string;
  /** Position of this text in its request's batch (0 for a single text). */
  readonly index: number;
  readonly model: string;
  readonly version: string;
  readonly n_chars: number;
  readonly n_tokens: number;
  /** xxh32 (seed 0) of each token's UTF-8, in token order; unsigned 32-bit integers. */
  readonly token_hashes: readonly number[];
  /** P(positive). */
  readonly score: number;
  readonly label: 0 | 1;
  /** Raw input, only with --log-text. */
  readonly text?: string;
}

export interface RequestLogOptions {
  readonly dir: string;
  readonly maxBytes?: number;
  readonly logText?: boolean;
  /** Injected for tests; defaults to the wall clock. */
  readonly now?: () => Date;
  /** A write that failed (disk full, folder removed): the records are dropped, serving goes on. */
  readonly onError?: (e: Error) => void;
}

export interface LoggedText {
  readonly text: string;
  readonly score: number;
  readonly label: 0 | 1;
}

export const logFileName = (day: string, seq: number): string => `requests-${day}-${String(seq).padStart(4, '0')}.jsonl`;
const dayOf = (d: Date): string => d.toISOString().slice(0, 10).replace(/-/g, '');

/** Log files in `dir`, oldest first (by day, then sequence number). */
export function listRequestLogs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .flatMap((n) => {
      const m = FILE_RE.exec(n);
      return m ? [{ n, day: m[1] as string, seq: Number(m[2]) }] : [];
    })
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.seq - b.seq))
    .map((e) => join(dir, e.n));
}

export class RequestLogWriter {
  private stream: WriteStream | undefined;
  private file = '';
  private day = '';
  private seq = 0;
  private bytes = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxBytes: number;
  private readonly now: () => Date;

  private constructor(
    private readonly opts: RequestLogOptions,
    private readonly h32: (s: string) => number,
  ) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_LOG_MAX_BYTES;
    this.now = opts.now ?? (() => new Date());
  }

  static async open(opts: RequestLogOptions): Promise<RequestLogWriter> {
    await mkdir(opts.dir, { recursive: true });
    const api = await xxhash();
    return new RequestLogWriter(opts, (s) => api.h32(s, 0) >>> 0);
  }

  /** The records of one request (one per text), as they will be written. */
  records(requestId: string, model: string, version: string, items: readonly LoggedText[]): RequestRecord[] {
    const ts = this.now().toISOString();
    return items.map((it, index) => {
      const tokens = tokenize(it.text);
      return {
        v: REQUEST_LOG_VERSION,
        ts,
        request_id: requestId,
        index,
        model,
        version,
        n_chars: [...it.text].length,
        n_tokens: tokens.length,
        token_hashes: tokens.map((t) => this.h32(t)),
        score: it.score,
        label: it.label,
        ...(this.opts.logText ? { text: it.text } : {}),
      };
    });
  }

  append(requestId: string, model: string, version: string, items: readonly LoggedText[]): void {
    for (const r of this.records(requestId, model, version, items)) {
      const line = `${JSON.stringify(r)}\n`;
      this.pending.push(line);
      this.pendingBytes += Buffer.byteLength(line);
    }
    // Batch the writes: one flush per event-loop turn, or sooner when a lot has piled up.
    if (this.pending.length === items.length) setImmediate(() => void this.flush());
    else if (this.pendingBytes > 1 << 20) void this.flush();
  }

  /** Writes what is pending; resolves when it reached the OS. */
  flush(): Promise<void> {
    const lines = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (lines.length === 0) return this.flushing;
    this.flushing = this.flushing.then(() => this.write(lines)).catch((e: unknown) => {
      // Never let logging take the server down; the stream is reopened on the next write.
      this.stream = undefined;
      this.day = '';
      this.opts.onError?.(e as Error);
    });
    return this.flushing;
  }

  private async write(lines: readonly string[]): Promise<void> {
    let chunk = '';
    let chunkBytes = 0;
    for (const line of lines) {
      const n = Buffer.byteLength(line);
      const day = dayOf(this.now());
      if (!this.stream || day !== this.day || (this.bytes + chunkBytes + n > this.maxBytes && this.bytes + chunkBytes > 0)) {
        if (chunk) await this.put(chunk, chunkBytes);
        chunk = '';
        chunkBytes = 0;
        await this.rotate(day);
      }
      chunk += line;
      chunkBytes += n;
    }
    if (chunk) await this.put(chunk, chunkBytes);
  }

  private put(chunk: string, n: number): Promise<void> {
    this.bytes += n;
    const s = this.stream as WriteStream;
    return new Promise((res, rej) => s.write(chunk, (e) => (e ? rej(e) : res())));
  }

  /** Opens the next file: after a restart, the day's last file if it still has room. */
  private async rotate(day: string): Promise<void> {
    await this.closeStream();
    if (day !== this.day) {
      this.day = day;
      const today = listRequestLogs(this.opts.dir).filter((f) => f.includes(`requests-${day}-`));
      const last = today.at(-1);
      this.seq = last ? Number(FILE_RE.exec(last.slice(this.opts.dir.length + 1))?.[2]) : 0;
      const size = last ? statSync(last).size : 0;
      if (last && size < this.maxBytes) {
        this.open(last, size);
        return;
      }
    }
    this.seq += 1;
    this.open(join(this.opts.dir, logFileName(day, this.seq)), 0);
  }

  private open(file: string, size: number): void {
    this.file = file;
    this.bytes = size;
    const stream = createWriteStream(file, { flags: 'a' });
    // Failures reach the pending write's callback (and so onError); without a listener the
    // stream's 'error' event would end the process.
    stream.on('error', () => {});
    this.stream = stream;
  }

  /** The file being written (empty before the first record). */
  get currentFile(): string {
    return this.file;
  }

  private closeStream(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    return s ? new Promise((res) => s.end(() => res())) : Promise.resolve();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.closeStream();
  }
}

export class RequestLogError extends Error {}

/** Checks one parsed line; returns the problem, or undefined when it is a valid record. */
export function checkRecord(r: unknown): string | undefined {
  if (!r || typeof r !== 'object') return 'not a JSON object';
  const o = r as Record<string, unknown>;
  if (o.v !== REQUEST_LOG_VERSION) return `v is ${String(o.v)}, expected ${REQUEST_LOG_VERSION}`;
  for (const k of ['ts', 'request_id', 'model', 'version']) if (typeof o[k] !== 'string') return `${k} must be a string`;
  for (const k of ['index', 'n_chars', 'n_tokens']) if (!Number.isInteger(o[k])) return `${k} must be an integer`;
  if (typeof o.score !== 'number' || !(o.score >= 0 && o.score <= 1)) return 'score must be a number in [0, 1]';
  if (o.label !== 0 && o.label !== 1) return 'label must be 0 or 1';
  if (!Array.isArray(o.token_hashes) || o.token_hashes.some((h) => !Number.isInteger(h) || (h as number) < 0 || (h as number) > 0xffffffff)) return 'token_hashes must be a list of unsigned 32-bit integers';
  if (o.text !== undefined && typeof o.text !== 'string') return 'text must be a string when present';
  return undefined;
}

/**
 * Every record of a log file, or of every log file in a directory (oldest first). A malformed
 * line is an error naming file and line; a truncated last line (a server killed mid-write) is
 * skipped, since the server never writes one otherwise.
 */
export async function readRequestLog(path: string): Promise<RequestRecord[]> {
  const files = statSync(path).isDirectory() ? listRequestLogs(path) : [path];
  const out: RequestRecord[] = [];
  for (const file of files) {
    const lines = (await readFile(file, 'utf8')).split('\n');
    const complete = lines.at(-1) === '';
    lines.forEach((line, i) => {
      if (line === '') return;
      if (i === lines.length - 1 && !complete) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (e) {
        throw new RequestLogError(`${file}:${i + 1}: not JSON (${(e as Error).message})`);
      }
      const problem = checkRecord(value);
      if (problem) throw new RequestLogError(`${file}:${i + 1}: ${problem}`);
      out.push(value as RequestRecord);
    });
  }
  return out;
}
