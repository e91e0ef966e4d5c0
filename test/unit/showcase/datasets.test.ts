// Fetching: local copies are hash-checked, downloads are verified and cached, failures say what to do.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { download, fetchFile, localDataDir, readLocal, readUserFile, sha256 } from '../../../stages/lib/datasets.js';
import { dataParams, type DataParams } from '../../../stages/lib/params.js';
import { DataError } from '../../../stages/lib/tsv.js';

const content = Buffer.from('good\t1\nbad\t0\n');
const spec = { file: 'a.txt', sha256: sha256(content), url: 'https://example.org/a.txt' };
const params: DataParams = { name: 't', subdir: 'set', header: 'auto', dedupe: true, parts: { train: [spec], dev: [], test: [] } };

describe('local copies', () => {
  const root = mkdtempSync(join(tmpdir(), 'mlb-data-'));
  mkdirSync(join(root, 'set'));
  writeFileSync(join(root, 'set', 'a.txt'), content);

  it('prefers data.dir over MLBUILD_DATA_DIR and resolves relative paths from the project root', () => {
    expect(localDataDir(params, { MLBUILD_DATA_DIR: '../shared/data' }, '/proj')).toBe('/shared/data');
    expect(localDataDir({ ...params, dir: 'd' }, { MLBUILD_DATA_DIR: '/x' }, '/proj')).toBe('/proj/d');
    expect(localDataDir(params, {}, '/proj')).toBeUndefined();
  });

  it('reads <dir>/<subdir>/<file> or <dir>/<file> and checks the pinned hash', () => {
    expect(readLocal(spec, params, root).bytes).toEqual(content);
    expect(readLocal(spec, params, join(root, 'set')).bytes).toEqual(content);
  });

  it('names the file, both hashes and the fix on a mismatch', () => {
    const wrong = { ...spec, sha256: '0'.repeat(64) };
    expect(() => readLocal(wrong, params, root)).toThrow(DataError);
    expect(() => readLocal(wrong, params, root)).toThrow(new RegExp(`a\\.txt: SHA-256 mismatch .*expected 0{64}, got ${spec.sha256}.*update sha256`));
  });

  it('says where it looked when the file is missing', () => {
    expect(() => readLocal({ ...spec, file: 'b.txt' }, params, root)).toThrow(/b\.txt: not found in the local data directory/);
  });
});

describe('download', () => {
  const fakeFetch = (body: Buffer, ok = true) =>
    (async () => new Response(ok ? body : 'nope', { status: ok ? 200 : 404, statusText: ok ? 'OK' : 'Not Found' })) as unknown as typeof fetch;

  it('verifies the bytes and caches them under their hash', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'mlb-cache-'));
    expect((await download(spec, fakeFetch(content), cache)).bytes).toEqual(new Uint8Array(content));
    const offline = (async () => { throw new Error('offline'); }) as unknown as typeof fetch;
    expect(Buffer.from((await download(spec, offline, cache)).bytes)).toEqual(content); // from the cache
  });

  it('rejects a download whose hash differs, and uses url_sha256 when the upstream bytes differ', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'mlb-cache-'));
    await expect(download(spec, fakeFetch(Buffer.from('tampered')), cache)).rejects.toThrow(/SHA-256 mismatch for the download/);
    const upstream = Buffer.from('no header\t1\n');
    const withUpstream = { ...spec, url_sha256: sha256(upstream) };
    expect((await download(withUpstream, fakeFetch(upstream), cache)).bytes).toEqual(new Uint8Array(upstream));
  });

  it('fails with a clear message when offline or the server refuses', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'mlb-cache-'));
    const offline = (async () => { throw new Error('getaddrinfo ENOTFOUND'); }) as unknown as typeof fetch;
    await expect(download(spec, offline, cache)).rejects.toThrow(/download from https:\/\/example\.org\/a\.txt failed \(getaddrinfo ENOTFOUND\)\. .*MLBUILD_DATA_DIR/);
    await expect(download(spec, fakeFetch(content, false), cache)).rejects.toThrow(/HTTP 404/);
    await expect(download({ file: 'c', sha256: '1'.repeat(64) }, offline, cache)).rejects.toThrow(/no url/);
  });
});

describe('dataParams', () => {
  it('rejects malformed file lists naming the key', () => {
    const tree = { data: { name: 'x', train: [{ file: 'a', sha256: 'abc' }] } };
    expect(() => dataParams(tree)).toThrow(/data\.train\[0\]\.sha256 must be 64 lower-case hex digits/);
    expect(() => dataParams({ data: { name: 'x', train: [] } })).toThrow(/data\.train must be a file path \(e\.g\. -S data\.train=reviews\.tsv\) or a non-empty list/);
    expect(() => dataParams({ data: { name: 'x', train: 3 } })).toThrow(/data\.train must be a file path \(e\.g\. reviews\.tsv\) or a list of pinned files, got 3/);
  });

  it('takes a plain path (or several) for a part beside the pinned lists; null or empty means none', () => {
    const pinned = { file: 'a', sha256: 'a'.repeat(64) };
    const p = dataParams({ data: { name: 'uci', train: 'reviews.tsv', dev: null, test: '' } });
    expect(p.parts).toEqual({ train: [{ path: 'reviews.tsv' }], dev: [], test: [] });
    expect(dataParams({ data: { name: 'x', train: ['/d/a.tsv', pinned], test: '/d/t.tsv' } }).parts).toEqual({ train: [{ path: '/d/a.tsv' }, pinned], dev: [], test: [{ path: '/d/t.tsv' }] });
  });
});

describe("a user's file", () => {
  const root = mkdtempSync(join(tmpdir(), 'mlb-user-'));
  writeFileSync(join(root, 'reviews.tsv'), content);
  mkdirSync(join(root, 'folder'));

  it('is read relative to the project root or by absolute path, with no hash to match', async () => {
    expect(Buffer.from((await fetchFile({ path: 'reviews.tsv' }, params, {}, root)).bytes)).toEqual(content);
    expect(readUserFile({ path: join(root, 'reviews.tsv') }, '/elsewhere')).toEqual({ bytes: content, origin: join(root, 'reviews.tsv') });
  });

  it('that is missing or a folder is an error naming the path', () => {
    expect(() => readUserFile({ path: 'nope.tsv' }, root)).toThrow(new RegExp(`^nope\\.tsv: not found \\(looked at ${join(root, 'nope.tsv')}\\)`));
    expect(() => readUserFile({ path: 'folder' }, root)).toThrow(/^folder: is not a file/);
  });
});
