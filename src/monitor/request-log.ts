/**
 * Reading the request log `mlbuild serve` writes: JSON-lines files `requests-<YYYYMMDD>-<seq>.jsonl`
 * in a directory (default `.mlcache/serve-logs`), one record per input text:
 *
 *   {"v":1,"ts":"<ISO-8601 UTC>","request_id":"<id>","index":<position in batch>,"model":"<name>",
 *    "version":"<vX.Y.Z>","n_chars":<int>,"n_tokens":<int>,"token_hashes":[<uint32>...],
 *    "score":<P(positive)>,"label":0|1,"text":"<raw>"}
 *
 * token_hashes are xxh32 (seed 0) of each `tokenize()` token's UTF-8, in order; `text` is present
 * only when the server logs raw text (privacy by default). Files are read in (date, seq) order.
 * A record that breaks the format is an error naming file and line; only a torn final line (a
 * writer stopped mid-append) is skipped, and counted. It does not write logs (serve does).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';

export const LOG_VERSION = 1;
export const DEFAULT_LOG_DIR = '.mlcache/serve-logs';
const FILE_RE = /^requests-(\d{8})-(\d+)\.jsonl$/;

export interface RequestRecord {
  readonly v: 1;
  readonly ts: string;
  readonly request_id: string;
  readonly index: number;
  readonly model: string;
  readonly version: string;
  readonly n_chars: number;
  readonly n_tokens: number;
  readonly token_hashes: readonly number[];
  readonly score: number;
  readonly label: 0 | 1;
  readonly text?: string;
}

/** A problem with a log file, located. */
export class LogError extends Error {
  override readonly name = 'LogError';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    message: string,
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${message}`);
  }
}

export interface LogRead {
  readonly records: RequestRecord[];
  readonly files: string[];
  /** Torn final lines skipped (at most one per file). */
  readonly torn: number;
}

const isUint = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** Checks one parsed line; returns the problem or undefined. */
export function recordProblem(r: unknown): string | undefined {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) return 'not a JSON object';
  const o = r as Record<string, unknown>;
  if (o.v !== LOG_VERSION) return `unsupported record version ${JSON.stringify(o.v)} (this mlbuild reads v ${LOG_VERSION})`;
  if (typeof o.ts !== 'string' || Number.isNaN(Date.parse(o.ts))) return '"ts" must be an ISO-8601 time';
  if (typeof o.request_id !== 'string') return '"request_id" must be a string';
  if (!isUint(o.index)) return '"index" must be a whole number >= 0';
  if (typeof o.model !== 'string' || typeof o.version !== 'string') return '"model" and "version" must be strings';
  if (!isUint(o.n_chars) || !isUint(o.n_tokens)) return '"n_chars" and "n_tokens" must be whole numbers >= 0';
  if (!Array.isArray(o.token_hashes) || !o.token_hashes.every((h) => isUint(h) && h <= 0xffffffff)) return '"token_hashes" must be a list of uint32';
  if (o.token_hashes.length !== o.n_tokens) return `"token_hashes" has ${o.token_hashes.length} entries but n_tokens is ${o.n_tokens}`;
  if (typeof o.score !== 'number' || !(o.score >= 0 && o.score <= 1)) return '"score" must be a probability in [0, 1]';
  if (o.label !== 0 && o.label !== 1) return '"label" must be 0 or 1';
  if (o.text !== undefined && typeof o.text !== 'string') return '"text" must be a string when present';
  return undefined;
}

/** Parses one log file's text (`file` names it in errors). */
export function parseLogText(text: string, file: string): { records: RequestRecord[]; torn: boolean } {
  const lines = text.split('\n');
  const complete = text.endsWith('\n') || text === '';
  const records: RequestRecord[] = [];
  let torn = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const last = i === lines.length - 1;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // A line cut short by a writer that stopped mid-append can only be the last, unterminated one.
      if (last && !complete) {
        torn = true;
        continue;
      }
      throw new LogError(file, i + 1, 'not valid JSON; each line must be one request record');
    }
    const problem = recordProblem(parsed);
    if (problem) throw new LogError(file, i + 1, `${problem} (the format of mlbuild serve's request log, see docs/lifecycle.md)`);
    records.push(parsed as RequestRecord);
  }
  return { records, torn };
}

/** Log files of a directory, oldest first: by date, then by sequence number (numerically). */
export function logFilesIn(names: readonly string[]): string[] {
  return names
    .map((n) => ({ n, m: FILE_RE.exec(n) }))
    .filter((x): x is { n: string; m: RegExpExecArray } => x.m !== null)
    .sort((a, b) => (a.m[1] as string).localeCompare(b.m[1] as string) || Number(a.m[2]) - Number(b.m[2]))
    .map((x) => x.n);
}

/** Reads a log directory (every requests-*.jsonl in it) or one .jsonl file. `display` turns a path into what errors show. */
export async function readRequestLog(target: string, display: (abs: string) => string = (p) => p): Promise<LogRead> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new LogError(display(target), undefined, 'does not exist');
  const files = info.isDirectory() ? logFilesIn(await readdir(target)).map((n) => path.join(target, n)) : [target];
  if (files.length === 0) {
    throw new LogError(display(target), undefined, 'holds no request log files (requests-<YYYYMMDD>-<seq>.jsonl); is this the folder mlbuild serve logs to?');
  }
  const records: RequestRecord[] = [];
  let torn = 0;
  for (const f of files) {
    const r = parseLogText(await readFile(f, 'utf8'), display(f));
    records.push(...r.records);
    if (r.torn) torn++;
  }
  return { records, files, torn };
}
