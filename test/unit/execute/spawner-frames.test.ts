/**
 * The spawner protocol's framing (src/execute/spawner-frames.ts): requests and answers survive a
 * round trip byte for byte, whatever the stream's chunking; NUL bytes are refused before encoding;
 * the bytes are the little-endian layout native/spawner.c reads and writes.
 */
import { describe, expect, it } from 'vitest';
import { decodeAnswer, decodeRequest, encodeAnswer, encodeRequest, FrameReader, NO_CODE, type Answer } from '../../../src/execute/spawner-frames.js';

describe('requests', () => {
  it('encode as u32 len | u32 id | cwd\\0 cmd\\0 (K=V\\0)* and decode back', () => {
    const b = encodeRequest({ id: 258, cwd: '/w', cmd: 'echo ü', env: { A: '1', B: 'x=y' } })!;
    expect([...b.subarray(0, 8)]).toEqual([b.length - 4, 0, 0, 0, 2, 1, 0, 0]);
    expect(b.subarray(8).toString('utf8')).toBe('/w\0echo ü\0A=1\0B=x=y\0');
    expect(decodeRequest(b.subarray(4))).toEqual({ id: 258, cwd: '/w', cmd: 'echo ü', env: { A: '1', B: 'x=y' } });
  });

  it('an empty environment and an empty command are still well-formed', () => {
    const b = encodeRequest({ id: 1, cwd: '/', cmd: '', env: {} })!;
    expect(decodeRequest(b.subarray(4))).toEqual({ id: 1, cwd: '/', cmd: '', env: {} });
  });

  it('refuses a NUL byte in the command, the cwd, a name or a value', () => {
    expect(encodeRequest({ id: 1, cwd: '/', cmd: 'a\0b', env: {} })).toBeUndefined();
    expect(encodeRequest({ id: 1, cwd: '/\0', cmd: 'a', env: {} })).toBeUndefined();
    expect(encodeRequest({ id: 1, cwd: '/', cmd: 'a', env: { 'K\0': 'v' } })).toBeUndefined();
    expect(encodeRequest({ id: 1, cwd: '/', cmd: 'a', env: { K: 'v\0' } })).toBeUndefined();
  });
});

describe('answers', () => {
  const all: Answer[] = [
    { t: 'R' },
    { t: 'P', id: 7, pid: 4_000_000 },
    { t: 'O', id: 7, data: Buffer.from([0, 255, 10, 13]) },
    { t: 'E', id: 7, data: Buffer.alloc(0) },
    { t: 'X', id: 7, code: 3, signal: 0 },
    { t: 'X', id: 8, code: null, signal: 15 },
    { t: 'F', id: 9, errno: 7, message: 'spawn /bin/sh in /ü: Argument list too long' },
  ];

  it('round-trip, with the layout native/spawner.c writes', () => {
    for (const a of all) expect(decodeAnswer(encodeAnswer(a).subarray(4))).toEqual(a);
    expect([...encodeAnswer({ t: 'X', id: 8, code: null, signal: 15 })]).toEqual([13, 0, 0, 0, 0x58, 8, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 15, 0, 0, 0]);
    expect(NO_CODE).toBe(0xffffffff);
  });

  it('FrameReader yields the same frames however the stream is cut, down to single bytes', () => {
    const stream = Buffer.concat(all.map(encodeAnswer));
    for (const size of [1, 2, 3, 5, 9, 16, stream.length]) {
      const got: Answer[] = [];
      const r = new FrameReader();
      for (let i = 0; i < stream.length; i += size) r.push(stream.subarray(i, i + size), (p) => got.push(decodeAnswer(p)));
      expect(got).toEqual(all);
    }
  });

  it('an unknown type is an error, not a silent drop', () => {
    const b = encodeAnswer({ t: 'R' });
    b[4] = 'Z'.charCodeAt(0);
    expect(() => decodeAnswer(b.subarray(4))).toThrow(/unknown spawner answer type "Z"/);
  });
});
