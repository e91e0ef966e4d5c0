/**
 * One side of a comparison (reference or current) as the monitor sees it: per input text, its
 * length, its tokens as xxh32 hashes (the only token form a privacy-preserving request log holds),
 * and where known the raw text, the served score and predicted label, and the true label.
 *
 * Sources: a labelled TSV (`sentence<TAB>label`, read by the showcase's strict reader; a file with
 * no tab at all is one unlabelled sentence per line), a prepared data folder (the data stage's
 * `train/dev/test.jsonl`), or mlbuild serve's request log (a folder or one .jsonl file, read by
 * src/serve/request-log.ts, the module that writes it). Texts are
 * tokenised with the showcase's `tokenize()` and hashed exactly as the server logs them, so every
 * source compares with every other. It does not score texts (monitor/scorer.ts) or compare samples.
 */
import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import xxhash from 'xxhash-wasm';
import { tokenize } from '../../stages/lib/text.js';
import { parseLabelledTsv, decodeUtf8, DataError } from '../../stages/lib/tsv.js';
import { loadPrepared } from '../../stages/lib/prepared.js';
import { readRequestLog, RequestLogError } from '../serve/request-log.js';

export interface SampleRow {
  readonly nChars: number;
  readonly nTokens: number;
  readonly hashes: Uint32Array;
  /** Served P(positive) (from a log or a model); undefined when unknown. */
  readonly score?: number;
  /** Predicted class (from a log or a model). */
  readonly predicted?: 0 | 1;
  /** True class, when labels are known. */
  readonly label?: 0 | 1;
  readonly text?: string;
}

export type SampleKind = 'tsv' | 'prepared' | 'log';

export interface Sample {
  /** The path as given, for reports. */
  readonly source: string;
  readonly kind: SampleKind;
  readonly rows: SampleRow[];
  /** token hash -> token, for every token whose text is known (TSV, prepared, a log with text). */
  readonly words: Map<number, string>;
  /** Records per served `model@version` (logs only). */
  readonly served: Record<string, number>;
  /** Per row, `request_id` NUL `index` (logs only): how labels that arrive later are joined. */
  readonly keys?: readonly string[];
}

/** A bad input file: the message names the file (and line) and says how to fix it. */
export class SampleError extends Error {
  override readonly name = 'SampleError';
}

export type TokenHash = (token: string) => number;

/** xxh32, seed 0, of a token's UTF-8: the hash mlbuild serve writes to token_hashes. */
export async function tokenHasher(): Promise<TokenHash> {
  const { h32 } = await xxhash();
  return (t) => h32(t, 0) >>> 0;
}

/** Tokenises and hashes one text, recording each hash's token in `words`. */
export function hashText(text: string, hash: TokenHash, words: Map<number, string>): Uint32Array {
  const toks = tokenize(text);
  const out = new Uint32Array(toks.length);
  toks.forEach((t, i) => {
    const h = hash(t);
    out[i] = h;
    if (!words.has(h)) words.set(h, t);
  });
  return out;
}

function textRow(text: string, label: 0 | 1 | undefined, hash: TokenHash, words: Map<number, string>): SampleRow {
  const hashes = hashText(text, hash, words);
  return { nChars: [...text].length, nTokens: hashes.length, hashes, text, ...(label === undefined ? {} : { label }) };
}

export type SampleFilter = (r: { ts: string; model: string; version: string }) => boolean;

/** Which kind of source a path is; undefined when it is none. */
export async function sourceKind(abs: string): Promise<SampleKind | undefined> {
  const info = await stat(abs).catch(() => undefined);
  if (!info) return undefined;
  if (info.isDirectory()) return existsSync(path.join(abs, 'train.jsonl')) ? 'prepared' : 'log';
  return abs.endsWith('.jsonl') ? 'log' : 'tsv';
}

/**
 * Loads a sample. `given` is the path as the user wrote it (for messages), `abs` where it is.
 * `filter` keeps only some log records (time window, served version).
 */
export async function loadSample(given: string, abs: string, hash: TokenHash, filter?: SampleFilter): Promise<Sample> {
  const kind = await sourceKind(abs);
  if (kind === undefined) throw new SampleError(`${given}: does not exist (give a TSV file, a prepared data folder or a request log folder/file)`);
  const words = new Map<number, string>();
  try {
    if (kind === 'tsv') return { source: given, kind, rows: await tsvRows(given, abs, hash, words), words, served: {} };
    if (kind === 'prepared') {
      const data = loadPrepared(abs);
      const rows = data.rows.map((r) => textRow(r.text, r.label, hash, words));
      return { source: given, kind, rows, words, served: {} };
    }
    const records = await readRequestLog(abs);
    if (records.length === 0) throw new SampleError(`${given}: holds no request records (requests-<YYYYMMDD>-<seq>.jsonl); is this the folder mlbuild serve logs to?`);
    const served: Record<string, number> = {};
    const rows: SampleRow[] = [];
    const keys: string[] = [];
    for (const r of records) {
      if (filter && !filter(r)) continue;
      keys.push(`${r.request_id}\u0000${r.index}`);
      const key = `${r.model}@${r.version}`;
      served[key] = (served[key] ?? 0) + 1;
      if (r.text !== undefined) tokenize(r.text).forEach((t, i) => words.has(r.token_hashes[i] as number) || words.set(r.token_hashes[i] as number, t));
      rows.push({
        nChars: r.n_chars,
        nTokens: r.n_tokens,
        hashes: Uint32Array.from(r.token_hashes),
        score: r.score,
        predicted: r.label,
        ...(r.text === undefined ? {} : { text: r.text }),
      });
    }
    return { source: given, kind, rows, words, served, keys };
  } catch (e) {
    if (e instanceof DataError || e instanceof RequestLogError) throw new SampleError(e.message);
    if (e instanceof SyntaxError) throw new SampleError(`${given}: ${e.message}`);
    throw e;
  }
}

async function tsvRows(given: string, abs: string, hash: TokenHash, words: Map<number, string>): Promise<SampleRow[]> {
  const text = decodeUtf8(await readFile(abs), given);
  if (!text.includes('\t')) {
    // No label column anywhere: one unlabelled sentence per line (production text awaiting labels).
    const lines = text.split('\n').map((l) => l.replace(/\r$/, '').trim());
    const rows = lines.filter((l) => l !== '').map((l) => textRow(l, undefined, hash, words));
    if (rows.length === 0) throw new SampleError(`${given}: has no sentences`);
    return rows;
  }
  return parseLabelledTsv(text, given).map((r) => textRow(r.text, r.label, hash, words));
}

/** The rows of `sample` at `ids` (row ids of a prepared table), named `<source> (<what>)`. */
export function pickRows(sample: Sample, ids: readonly number[], what: string): Sample {
  const bad = ids.find((i) => !Number.isInteger(i) || i < 0 || i >= sample.rows.length);
  if (bad !== undefined) throw new SampleError(`${what}: row id ${bad} is not in ${sample.source} (${sample.rows.length} rows); was the plan made from other data? Rerun the split stage`);
  return { ...sample, source: `${sample.source} (${what})`, rows: ids.map((i) => sample.rows[i] as SampleRow) };
}

/**
 * Joins true labels that arrived after serving to a request log's rows, by (request_id, index).
 * `labels` is JSON lines `{"request_id": "...", "index": 0, "label": 0|1}` (index defaults to 0);
 * a malformed line is an error naming file and line. Returns the sample and how many rows matched.
 */
export function joinLabels(sample: Sample, keys: readonly string[], text: string, file: string): { sample: Sample; matched: number; unmatched: number } {
  const byKey = new Map<string, 0 | 1>();
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new SampleError(`${file}:${i + 1}: not JSON; each line must be {"request_id": "...", "index": 0, "label": 0 or 1}`);
    }
    const o = v as { request_id?: unknown; index?: unknown; label?: unknown };
    const index = o.index ?? 0;
    if (typeof o.request_id !== 'string' || !Number.isInteger(index) || (o.label !== 0 && o.label !== 1)) {
      throw new SampleError(`${file}:${i + 1}: expected {"request_id": "<id>", "index": <position in the batch>, "label": 0 or 1}`);
    }
    byKey.set(`${o.request_id}\u0000${index as number}`, o.label);
  });
  let matched = 0;
  const rows = sample.rows.map((r, i) => {
    const label = byKey.get(keys[i] as string);
    if (label === undefined) return r;
    matched++;
    return { ...r, label };
  });
  return { sample: { ...sample, rows }, matched, unmatched: byKey.size - matched };
}
