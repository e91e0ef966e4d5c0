/** `.dvc` pointers (DVC 2 and 3, imports) and DVC's INI config, from the formats DVC documents. */
import { describe, expect, it } from 'vitest';
import { parsePointer, pointerText } from '../../../src/data/pointer.js';
import { parseDvcConfigText } from '../../../src/remote/dvc-config.js';
import type { Diagnostic } from '../../../src/report/diagnostic.js';

describe('.dvc pointers', () => {
  it("reads DVC 3's form (hash: md5), relative to the pointer's folder", () => {
    const r = parsePointer('data/data.xml.dvc', 'outs:\n- md5: 22a1a2931c8370d3aeedd7183606fd7f\n  size: 14445097\n  hash: md5\n  path: data.xml\n', 'data/data.xml.dvc');
    expect(r.diags).toEqual([]);
    expect(r.pointers).toEqual([{ file: 'data/data.xml.dvc', path: 'data/data.xml', md5: '22a1a2931c8370d3aeedd7183606fd7f', md5Kind: 'md5', size: 14445097, frozen: false }]);
  });

  it("reads DVC 2's form (no hash key: md5-dos2unix) and a directory", () => {
    const r = parsePointer('raw.dvc', 'outs:\n- md5: b6dcab6ccd17ca0a8bf4a215a37d14cc.dir\n  size: 6\n  nfiles: 2\n  path: raw\n', 'raw.dvc');
    expect(r.pointers[0]).toMatchObject({ path: 'raw', md5: 'b6dcab6ccd17ca0a8bf4a215a37d14cc.dir', md5Kind: 'md5-dos2unix', nfiles: 2 });
  });

  it('reads an import (repo url + rev_lock) as frozen data with its source', () => {
    const text = 'md5: 1a1a\nfrozen: true\ndeps:\n- path: get-started/data.xml\n  repo:\n    url: https://github.com/iterative/dataset-registry\n    rev_lock: f31f5c4cdae787b4bdeb97a717687d44667d9e62\nouts:\n- md5: 22a1a2931c8370d3aeedd7183606fd7f\n  size: 14445097\n  hash: md5\n  path: data.xml\n';
    const r = parsePointer('data/data.xml.dvc', text, 'data/data.xml.dvc');
    expect(r.pointers[0]).toMatchObject({ frozen: true, importFrom: { url: 'https://github.com/iterative/dataset-registry', revLock: 'f31f5c4cdae787b4bdeb97a717687d44667d9e62', path: 'get-started/data.xml' } });
  });

  it("trusts mlbuild's xxh64 only beside the md5 it was computed with", () => {
    const text = pointerText({ path: 'x.csv', md5: '1cb251ec0d568de6a929b520c4aed8d1', size: 4, xxh64: '0123456789abcdef' });
    expect(text).toBe('outs:\n- md5: 1cb251ec0d568de6a929b520c4aed8d1\n  size: 4\n  hash: md5\n  path: x.csv\nmeta:\n  mlbuild:\n    md5: 1cb251ec0d568de6a929b520c4aed8d1\n    xxh64: 0123456789abcdef\n');
    expect(parsePointer('x.csv.dvc', text, 'x.csv.dvc').pointers[0]!.xxh64).toBe('0123456789abcdef');
    // A teammate's `dvc add` changed the md5 and kept meta: the stale xxh64 is ignored.
    const edited = text.replace('- md5: 1cb251ec0d568de6a929b520c4aed8d1', '- md5: 37b51d194a7513e45b56f6524f2d51f2');
    expect(parsePointer('x.csv.dvc', edited, 'x.csv.dvc').pointers[0]!.xxh64).toBeUndefined();
  });

  it('locates what is wrong', () => {
    const r = parsePointer('a.dvc', 'outs:\n- md5: nothex\n  path: a\n', 'a.dvc');
    expect(r.diags.map((d) => [d.location?.line, d.message])).toEqual([[2, "a.dvc: md5 'nothex' of 'a' is not an md5 hash"]]);
    expect(parsePointer('b.dvc', 'outs:\n- md5: 1cb251ec0d568de6a929b520c4aed8d1\n  path: ../../etc/x\n', 'b.dvc').diags[0]!.message).toContain('lies outside the project');
    expect(parsePointer('c.dvc', 'foo: 1\n', 'c.dvc').diags[0]!.message).toBe("c.dvc has no 'outs:' list");
  });
});

describe(".dvc/config (configobj INI)", () => {
  it("reads DVC's quoted section headers and the plain ones; config.local wins key by key", () => {
    const sections = new Map<string, Map<string, string>>();
    const diags: Diagnostic[] = [];
    parseDvcConfigText("[core]\n    remote = storage\n['remote \"storage\"']\n    url = https://remote.dvc.org/get-started\n[remote \"s3\"]\n    url = s3://bucket/path\n    endpointurl = http://127.0.0.1:9000\n", '.dvc/config', sections, diags);
    parseDvcConfigText("['remote \"storage\"']\n    url = /mnt/mirror\n", '.dvc/config.local', sections, diags);
    expect(diags).toEqual([]);
    expect(Object.fromEntries([...sections].map(([k, v]) => [k, Object.fromEntries(v)]))).toEqual({
      core: { remote: 'storage' },
      'remote "storage"': { url: '/mnt/mirror' },
      'remote "s3"': { url: 's3://bucket/path', endpointurl: 'http://127.0.0.1:9000' },
    });
    parseDvcConfigText('[core]\nthis is not ini\n', '.dvc/config', sections, diags);
    expect(diags.map((d) => [d.location?.line, d.message])).toEqual([[2, '.dvc/config: cannot read this line']]);
  });
});
