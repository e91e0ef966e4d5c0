import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import xxhash from 'xxhash-wasm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listRequestLogs, logFileName, readRequestLog, RequestLogWriter } from '../../../src/serve/request-log.js';
import { tokenize } from '../../../stages/lib/text.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlbuild-reqlog-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const fixed = (iso: string) => () => new Date(iso);

describe('RequestLogWriter', () => {
  it('writes one record per text in exactly the documented shape, without the text by default', async () => {
    const w = await RequestLogWriter.open({ dir, now: fixed('2026-12-05T10:00:00.000Z') });
    w.append('req-1', 'sentiment', 'v1.2.0', [
      { text: "Don't buy it 😡", score: 0.125, label: 0 },
      { text: 'abc', score: 0.75, label: 1 },
    ]);
    await w.close();
    expect(readdirSync(dir)).toEqual(['requests-20261205-0001.jsonl']);
    const lines = readFileSync(join(dir, 'requests-20261205-0001.jsonl'), 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    const api = await xxhash();
    const first = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(first)).toEqual(['v', 'ts', 'request_id', 'index', 'model', 'version', 'n_chars', 'n_tokens', 'token_hashes', 'score', 'label']);
    expect(tokenize("Don't buy it 😡")).toEqual(['do', "n't", 'buy', 'it', '😡']);
    expect(first).toEqual({
      v: 1,
      ts: '2026-12-05T10:00:00.000Z',
      request_id: 'req-1',
      index: 0,
      model: 'sentiment',
      version: 'v1.2.0',
      n_chars: 14,
      n_tokens: 5,
      token_hashes: ['do', "n't", 'buy', 'it', '😡'].map((t) => api.h32Raw(Buffer.from(t, 'utf8'), 0) >>> 0),
      score: 0.125,
      label: 0,
    });
    // xxh32("abc", seed 0) = 0x32d153ff: pins the hash function, not just self-consistency.
    expect((JSON.parse(lines[1]!) as { token_hashes: number[]; index: number }).token_hashes).toEqual([0x32d153ff]);
    expect((JSON.parse(lines[1]!) as { index: number }).index).toBe(1);
  });

  it('keeps the raw text only with logText', async () => {
    const w = await RequestLogWriter.open({ dir, logText: true });
    w.append('r', 'm', 'v1.0.0', [{ text: 'hello there', score: 0.5, label: 1 }]);
    await w.close();
    const [rec] = await readRequestLog(dir);
    expect(rec!.text).toBe('hello there');
  });

  it('rotates by size, continues the day after a restart, and reads back in order', async () => {
    const w = await RequestLogWriter.open({ dir, maxBytes: 600, now: fixed('2026-12-05T10:00:00.000Z') });
    for (let i = 0; i < 10; i++) w.append(`r${i}`, 'm', 'v1.0.0', [{ text: `text number ${i}`, score: 0.5, label: 1 }]);
    await w.close();
    const files = listRequestLogs(dir);
    expect(files.length).toBeGreaterThan(2);
    for (const f of files) expect(readFileSync(f).length).toBeLessThanOrEqual(600);
    const w2 = await RequestLogWriter.open({ dir, maxBytes: 600, now: fixed('2026-12-05T11:00:00.000Z') });
    w2.append('again', 'm', 'v1.0.0', [{ text: 'x', score: 0.1, label: 0 }]);
    await w2.close();
    const w3 = await RequestLogWriter.open({ dir, maxBytes: 600, now: fixed('2026-12-06T00:00:01.000Z') });
    w3.append('next-day', 'm', 'v1.0.0', [{ text: 'y', score: 0.1, label: 0 }]);
    await w3.close();
    const all = await readRequestLog(dir);
    expect(all.map((r) => r.request_id)).toEqual([...Array.from({ length: 10 }, (_, i) => `r${i}`), 'again', 'next-day']);
    expect(listRequestLogs(dir).at(-1)).toBe(join(dir, logFileName('20261206', 1)));
  });

  it('names file and line of a malformed record, and skips a torn last line', async () => {
    const f = join(dir, logFileName('20261205', 1));
    const good = JSON.stringify({ v: 1, ts: 't', request_id: 'a', index: 0, model: 'm', version: 'v1.0.0', n_chars: 1, n_tokens: 1, token_hashes: [1], score: 0.2, label: 0 });
    writeFileSync(f, `${good}\n{"v":1,"ts":"t`);
    expect(await readRequestLog(f)).toHaveLength(1);
    writeFileSync(f, `${good}\n${good.replace('"label":0', '"label":2')}\n`);
    await expect(readRequestLog(f)).rejects.toThrow(`${f}:2: label must be 0 or 1`);
  });

  it('reports a failed write and keeps going instead of crashing the server', async () => {
    const errors: string[] = [];
    const w = await RequestLogWriter.open({ dir, onError: (e) => errors.push(e.message) });
    rmSync(dir, { recursive: true, force: true });
    w.append('lost', 'm', 'v1.0.0', [{ text: 'x', score: 0.5, label: 1 }]);
    await w.flush();
    expect(errors.join()).toMatch(/ENOENT/);
    mkdirSync(dir);
    w.append('kept', 'm', 'v1.0.0', [{ text: 'y', score: 0.5, label: 1 }]);
    await w.close();
    expect((await readRequestLog(dir)).map((r) => r.request_id)).toEqual(['kept']);
  });
});
