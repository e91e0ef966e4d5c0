import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hashText, joinLabels, loadSample, pickRows, SampleError, tokenHasher } from '../../../src/monitor/sample.js';
import { RequestLogWriter } from '../../../src/serve/request-log.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-monitor-sample-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string): string => {
  fs.writeFileSync(path.join(dir, name), text);
  return path.join(dir, name);
};

describe('samples', () => {
  it('hashes tokens exactly as mlbuild serve logs them, so a TSV compares with a log', async () => {
    const text = "Honestly it's lit 🔥 no cap!!! Don't buy";
    const writer = await RequestLogWriter.open({ dir: path.join(dir, 'log') });
    const [record] = writer.records('r', 'm', 'v1.0.0', [{ text, score: 0.9, label: 1 }]);
    const words = new Map<number, string>();
    expect(Array.from(hashText(text, await tokenHasher(), words))).toEqual(record?.token_hashes);
    expect([...words.values()]).toContain('🔥');
    expect([...words.values()]).toContain("n't");
  });

  it('reads a TSV without a tab anywhere as unlabelled sentences, and a labelled one strictly', async () => {
    const hash = await tokenHasher();
    const plain = await loadSample('plain.txt', write('plain.txt', 'first one\n\nsecond one\n'), hash);
    expect(plain.rows.map((r) => [r.nTokens, r.label])).toEqual([[2, undefined], [2, undefined]]);
    const labelled = await loadSample('l.tsv', write('l.tsv', 'good\t1\nbad\t0\n'), hash);
    expect(labelled.rows.map((r) => r.label)).toEqual([1, 0]);
    await expect(loadSample('b.tsv', write('b.tsv', 'good\t1\nbad\n'), hash)).rejects.toThrow(new SampleError('b.tsv:2: no tab: expected `sentence<TAB>label` (missing label column)'));
    await expect(loadSample('none', path.join(dir, 'none'), hash)).rejects.toThrow(/none: does not exist/);
  });

  it('joins late labels to log rows by request id and batch index', async () => {
    const hash = await tokenHasher();
    const log = path.join(dir, 'joined');
    const writer = await RequestLogWriter.open({ dir: log });
    writer.append('a', 'm', 'v1', [{ text: 'one', score: 0.2, label: 0 }, { text: 'two', score: 0.8, label: 1 }]);
    writer.append('b', 'm', 'v1', [{ text: 'three', score: 0.6, label: 1 }]);
    await writer.close();
    const s = await loadSample('joined', log, hash);
    expect(s.kind).toBe('log');
    const j = joinLabels(s, s.keys ?? [], '{"request_id":"a","index":1,"label":0}\n{"request_id":"b","label":1}\n{"request_id":"zz","label":1}\n', 'labels.jsonl');
    expect(j.sample.rows.map((r) => r.label)).toEqual([undefined, 0, 1]);
    expect([j.matched, j.unmatched]).toEqual([2, 1]);
    expect(() => joinLabels(s, s.keys ?? [], 'nope\n', 'labels.jsonl')).toThrow(/labels\.jsonl:1: not JSON/);
  });

  it('picks plan rows by id and refuses ids the data does not have', async () => {
    const s = await loadSample('l.tsv', write('p.tsv', 'a\t1\nb\t0\nc\t1\n'), await tokenHasher());
    expect(pickRows(s, [2, 0], 'plan test rows').rows.map((r) => r.text)).toEqual(['c', 'a']);
    expect(() => pickRows(s, [3], 'plan test rows')).toThrow(/row id 3 is not in l\.tsv \(3 rows\)/);
  });
});
