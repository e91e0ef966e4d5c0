import { describe, expect, it } from 'vitest';
import { JsonTransferReporter, PlainTransferReporter, PrettyTransferReporter } from '../../../src/report/reporters/transfer.js';
import type { Terminal } from '../../../src/report/terminal.js';
import { emptyResult } from '../../../src/remote/transfer.js';

function fakeTerminal(isTTY: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  const term: Terminal = { out: (t) => void out.push(t), err: (t) => void err.push(t), isTTY, columns: 80 };
  return { term, out, err };
}

const failedResult = () => {
  const r = emptyResult();
  r.transferred = 2;
  r.bytes = 3 * 1024 * 1024;
  r.present = 5;
  r.failed.push({ object: 'objects/ab/cdef0123456789', neededBy: "model (stage 'train')", message: 'corrupt remote object objects/ab/cdef0123456789 rejected: its content hashes to 1111111111111111, not abcdef0123456789' });
  return r;
};

describe('transfer reporters', () => {
  it('plain: a start line, each failure with what needed it on stderr, and a summary', () => {
    const t = fakeTerminal(false);
    const r = new PlainTransferReporter(t.term, 'pull', 'storage');
    r.on({ type: 'transfer-start', direction: 'fetch', files: 3, bytes: 3 * 1024 * 1024, present: 5 });
    r.on({ type: 'transfer-progress', files: 1, bytes: 1024 });
    r.finish({ command: 'pull', remote: 'storage', url: 's3://b/p', result: failedResult(), elapsedMs: 2000, restored: ['data'], notRestored: ["model (stage 'train')"] });
    expect(t.out.join('')).toBe("Fetching 3 files (3.0 MiB) from 'storage'; 5 already there\nrestored data\n");
    expect(t.err.join('')).toBe(
      "error: corrupt remote object objects/ab/cdef0123456789 rejected: its content hashes to 1111111111111111, not abcdef0123456789 (needed by model (stage 'train'))\n" +
        "error: model (stage 'train') is not in the cache and could not be fetched\n" +
        "Fetched 2 objects (3.0 MiB) from 'storage' in 2.0s (1.5 MiB/s); 5 already there; 1 out restored; 2 failed\n",
    );
  });

  it('pretty: redraws one progress line with files, bytes and rate, and clears it before printing', () => {
    const t = fakeTerminal(true);
    const r = new PrettyTransferReporter(t.term, 'push', 'storage');
    r.on({ type: 'transfer-start', direction: 'push', files: 10, bytes: 10 * 1024, present: 0 });
    r.on({ type: 'transfer-progress', files: 4, bytes: 4096 });
    const line = t.out.at(-1)!;
    expect(line.startsWith('\r\x1b[K[push storage] 4/10 files  4.0 KiB/10.0 KiB  ')).toBe(true);
    expect(line).toMatch(/\/s$/);
    r.finish({ command: 'push', remote: 'storage', url: '/mnt/c', result: emptyResult(), elapsedMs: 10, restored: undefined });
    expect(t.out.slice(-2)).toEqual(['\r\x1b[K', "Pushed 0 objects (0 B) to 'storage' in 10ms (0 B/s)\n"]);
  });

  it('json: one document with the errors by object and needer; ok is false when anything failed', () => {
    const t = fakeTerminal(false);
    new JsonTransferReporter(t.term, 'fetch').finish({ command: 'fetch', remote: 'storage', url: 's3://b/p', result: failedResult(), elapsedMs: 1000 });
    const doc = JSON.parse(t.out.join('')) as Record<string, unknown>;
    expect(doc).toMatchObject({ version: 1, command: 'fetch', ok: false, transferred: { objects: 2, bytes: 3145728 }, present: 5, bytes_per_second: 3145728 });
    expect(doc.errors).toEqual([{ kind: 'corrupt-or-failed', object: 'objects/ab/cdef0123456789', needed_by: "model (stage 'train')", message: expect.stringContaining('rejected') as string }]);
  });
});
