/**
 * How the page joins a stage's log fetched over HTTP with the chunks streamed over SSE (each chunk
 * says the byte offset where it ends): overlaps are cut at the byte, gaps and new runs detected.
 */
import { describe, expect, it } from 'vitest';
import { appendLog, joinLog } from '../../../src/ui/web/api.js';

const bytes = (s: string) => Buffer.byteLength(s);

describe('appendLog', () => {
  it('appends a chunk that continues the previous one, starts anew after a gap', () => {
    let s = appendLog(undefined, 'ab', 2);
    s = appendLog(s, 'cé', 2 + bytes('cé'));
    expect(s).toEqual({ start: 0, text: 'abcé' });
    expect(appendLog(s, 'zz', 100)).toEqual({ start: 98, text: 'zz' });
  });
});

describe('joinLog', () => {
  const fetched = { text: 'line 1\nline é\n', size: bytes('line 1\nline é\n') };
  it('adds only what was streamed past the fetched bytes (multi-byte characters cut correctly)', () => {
    const streamed = { start: bytes('line 1\n'), text: 'line é\nline 3\n' };
    expect(joinLog(fetched, streamed)).toBe('line 1\nline é\nline 3\n');
  });
  it('keeps the fetched text when the stream holds nothing newer, or nothing at all', () => {
    expect(joinLog(fetched, { start: 0, text: 'line 1\n' })).toBe(fetched.text);
    expect(joinLog(fetched, undefined)).toBe(fetched.text);
  });
  it('says the two do not meet when the stream starts after the fetched end (fetch again)', () => {
    expect(joinLog(fetched, { start: fetched.size + 5, text: 'x' })).toBeUndefined();
  });
});
