/**
 * DVC's hashes, pinned against values DVC itself computes: the expected `.dir` hashes below are
 * copied from DVC's own test suite (tests/func/test_diff.py and tests/func/test_install.py in
 * iterative/dvc), where DVC hashed these very directories; the escaping case was produced by
 * Python's json.dumps(sort_keys=True), the call dvc-data's Tree.as_bytes makes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Md5Stream, isTextBlock, md5OfBytes, md5OfFile, md5OfTree, md5TreeText, parseMd5Tree } from '../../../src/hashing/md5.js';

const tree = (files: Record<string, string>) => Object.entries(files).map(([relpath, text]) => ({ relpath, md5: md5OfBytes(Buffer.from(text)) }));

describe('md5 as DVC computes it', () => {
  it('file: md5 of the bytes (DVC test_diff: "text")', () => {
    expect(md5OfBytes(Buffer.from('text'))).toBe('1cb251ec0d568de6a929b520c4aed8d1');
  });

  it('directories: DVC test_diff / test_install values', () => {
    expect(md5OfTree(tree({ file: 'text' }))).toBe('0dab3fae569586d4c33272e5011605bf.dir');
    expect(md5OfTree(tree({ '1': '1', '2': '2' }))).toBe('5fb6b29836c388e093ca0715c872fe2a.dir');
    // Entries in any order: the listing is sorted by relpath.
    expect(md5OfTree(tree({ foo: 'foo', bar: 'bar' }))).toBe('5ea40360f5b4ec688df672a4db9c17d1.dir');
  });

  it("the listing text is Python's json.dumps: ', ' and ': ' separators, non-ASCII and DEL escaped, code-point order", () => {
    const md5x = md5OfBytes(Buffer.from('x'));
    const entries = ['café/日本.txt', 'a"b\\c', 'z\x7f', '😀.bin', 'Z'].map((relpath) => ({ relpath, md5: md5x }));
    expect(md5TreeText(entries)).toBe(
      '[{"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "Z"}, {"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "a\\"b\\\\c"}, ' +
        '{"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "caf\\u00e9/\\u65e5\\u672c.txt"}, {"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "z\\u007f"}, ' +
        '{"md5": "9dd4e461268c8034f5c8564e155c67a6", "relpath": "\\ud83d\\ude00.bin"}]',
    );
    expect(md5OfTree(entries)).toBe('a05ada1d6d006d18da81e0c3cb65cc9c.dir');
  });

  it("DVC 2's md5-dos2unix: CRLF becomes LF in text, binary is hashed as it is", () => {
    expect(md5OfBytes(Buffer.from('a\r\nb\r\n'), 'md5-dos2unix')).toBe('dd8c6a395b5dd36c56d23275028f526c');
    expect(md5OfBytes(Buffer.from('a\r\nb\r\n'), 'md5-dos2unix')).toBe(md5OfBytes(Buffer.from('a\nb\n')));
    const binary = Buffer.from([0, 13, 10, 1, 2]);
    expect(md5OfBytes(binary, 'md5-dos2unix')).toBe(md5OfBytes(binary));
    expect(isTextBlock(Buffer.alloc(0))).toBe(true);
    expect(isTextBlock(Buffer.from([200, 201, 202, 65]))).toBe(false);
  });

  it('md5-dos2unix decides text per 1 MiB chunk, however the stream is fed', () => {
    const big = Buffer.concat([Buffer.from('x\r\n'.repeat(400_000)), Buffer.alloc(100, 0), Buffer.from('y\r\n'.repeat(10))]);
    const whole = new Md5Stream('md5-dos2unix');
    whole.update(big);
    const pieces = new Md5Stream('md5-dos2unix');
    for (let i = 0; i < big.length; i += 77_777) pieces.update(big.subarray(i, i + 77_777));
    // Python following dvc-data's Dos2UnixHashStreamFile (1 MiB reads, istextblock on each chunk's first 512 bytes).
    const expected = '8c899a02c737290abd358b9eaaad1d56';
    expect(whole.digest()).toBe(expected);
    expect(pieces.digest()).toBe(expected);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'md5-'));
    fs.writeFileSync(path.join(dir, 'f'), big);
    expect(md5OfFile(path.join(dir, 'f'), 'md5-dos2unix')).toBe(md5OfBytes(big, 'md5-dos2unix'));
    expect(md5OfFile(path.join(dir, 'f'))).toBe(md5OfBytes(big));
    fs.rmSync(dir, { recursive: true });
  });

  it('parses a listing and refuses one that escapes its folder', () => {
    expect(parseMd5Tree('[{"md5": "1cb251ec0d568de6a929b520c4aed8d1", "relpath": "file"}]')).toEqual([{ relpath: 'file', md5: '1cb251ec0d568de6a929b520c4aed8d1' }]);
    expect(parseMd5Tree('[{"md5": "1cb251ec0d568de6a929b520c4aed8d1", "relpath": "../x"}]')).toBe("unsafe relpath '../x'");
    expect(parseMd5Tree('{}')).toBe('not a JSON list');
  });
});
