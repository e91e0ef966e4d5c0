import { describe, expect, it } from 'vitest';
import { cleanText } from '../../../stages/lib/text.js';
import { DataError, decodeUtf8, parseLabelledTsv } from '../../../stages/lib/tsv.js';

const parse = (s: string, header: boolean | 'auto' = 'auto') => parseLabelledTsv(s, 'f.tsv', { header, clean: cleanText });

describe('parseLabelledTsv', () => {
  it('reads sentence<TAB>label lines, splitting on the last tab and trimming', () => {
    expect(parse('good  \t1\nbad\tthing \t0\n')).toEqual([
      { text: 'good', label: 1, line: 1 },
      { text: 'bad thing', label: 0, line: 2 },
    ]);
  });

  it('treats quotes as text (no CSV quoting) and U+0085 as text, not a line break', () => {
    const rows = parse('He said "great\t1\n"meh" movie\u0085\t0\n');
    expect(rows.map((r) => r.text)).toEqual(['He said "great', '"meh" movie…']);
  });

  it('detects a header, or takes an explicit setting', () => {
    expect(parse('sentence\tlabel\nfine\t1\n')).toHaveLength(1);
    expect(parse('first\t1\nsecond\t0\n', true)).toEqual([{ text: 'second', label: 0, line: 2 }]);
    expect(() => parse('sentence\tlabel\nfine\t1\n', false)).toThrow(/f\.tsv:1: label must be 0 or 1/);
  });

  it('accepts CRLF endings and a missing final newline', () => {
    expect(parse('a\t1\r\nb\t0')).toHaveLength(2);
  });

  it.each([
    ['no label column', 'good\t1\njust text\n', /f\.tsv:2: no tab/],
    ['label not 0/1', 'good\t1\nbad\t2\n', /f\.tsv:2: label must be 0 or 1, got "2"/],
    ['label not numeric', 'good\tpositive\n', /f\.tsv:1: label must be 0 or 1/],
    ['empty sentence', '  \t1\n', /f\.tsv:1: empty sentence/],
    ['blank line inside', 'a\t1\n\nb\t0\n', /f\.tsv:2: empty line/],
    ['empty file', '', /f\.tsv: has no data rows/],
    ['header only', 'sentence\tlabel\n', /has no data rows/],
  ])('rejects %s with the file and line', (_name, input, message) => {
    expect(() => parse(input)).toThrow(DataError);
    expect(() => parse(input)).toThrow(message);
  });

  it('refuses invalid UTF-8 instead of replacing it', () => {
    expect(() => decodeUtf8(Uint8Array.from([0x61, 0x96, 0x62]), 'x.txt')).toThrow(/^x\.txt:1: is not valid UTF-8/);
    // The line of the first bad byte (here a cp1252 'é' on line 3), so the user can find it.
    const cp1252 = Buffer.concat([Buffer.from('good\t1\nfine\t0\ncaf'), Buffer.from([0xe9]), Buffer.from('\t1\n')]);
    expect(() => decodeUtf8(cp1252, 'reviews.tsv')).toThrow(/^reviews\.tsv:3: is not valid UTF-8; convert it/);
    expect(decodeUtf8(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]), 'x.txt')).toBe('a'); // BOM dropped
  });
});
