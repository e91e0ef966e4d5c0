import { describe, expect, it } from 'vitest';
import { parseRemoteUrl } from '../../../src/remote/remote-url.js';
import { mergeRunLines, runLineOuts } from '../../../src/remote/run-entries.js';
import { forEachLimit } from '../../../src/util/parallel.js';
import { chooseRemote } from '../../../src/remote/remote.js';

describe('parseRemoteUrl', () => {
  it('reads S3 buckets and prefixes, directory paths and file URLs', () => {
    expect(parseRemoteUrl('s3://ml-team/cache/project/', '/repo')).toEqual({ ok: true, value: { kind: 's3', bucket: 'ml-team', prefix: 'cache/project' } });
    expect(parseRemoteUrl('s3://ml-team', '/repo')).toEqual({ ok: true, value: { kind: 's3', bucket: 'ml-team', prefix: '' } });
    expect(parseRemoteUrl('/mnt/cache', '/repo')).toEqual({ ok: true, value: { kind: 'directory', path: '/mnt/cache' } });
    expect(parseRemoteUrl('../shared-cache', '/work/repo')).toEqual({ ok: true, value: { kind: 'directory', path: '/work/shared-cache' } });
    expect(parseRemoteUrl('file:///mnt/nfs/cache', '/repo')).toEqual({ ok: true, value: { kind: 'directory', path: '/mnt/nfs/cache' } });
  });

  it('refuses other schemes and invalid bucket names, with a hint', () => {
    const gs = parseRemoteUrl('gs://bucket/c', '/r');
    expect(gs.ok ? '' : gs.error.message).toBe("remote URL scheme 'gs://' is not supported");
    expect(gs.ok ? '' : gs.error.hint).toContain('s3://bucket/prefix');
    // http(s) is DVC's read-only remote kind (issue 12).
    expect(parseRemoteUrl('https://remote.dvc.org/get-started/', '/r')).toEqual({ ok: true, value: { kind: 'http', url: 'https://remote.dvc.org/get-started' } });
    for (const bad of ['s3://', 's3://A_B', 's3://ab', 's3://-lead/x']) expect(parseRemoteUrl(bad, '/r').ok, bad).toBe(false);
    expect(parseRemoteUrl('', '/r').ok).toBe(false);
  });
});

describe('run-cache lines', () => {
  const line = (h: string): string => JSON.stringify({ outs: [{ path: 'model', hash: h, size: 3 }] });
  const A = line('0123456789abcdef');
  const B = line('fedcba9876543210.dir');

  it('accepts only complete lines with hashed outs', () => {
    expect(runLineOuts(A)).toEqual([{ path: 'model', hash: '0123456789abcdef', size: 3 }]);
    expect(runLineOuts(A.slice(0, -4))).toBeUndefined();
    expect(runLineOuts('{"outs":[{"path":"x","hash":"../../etc","size":1}]}')).toBeUndefined();
  });

  it('merges as a union that keeps the base order, dropping torn lines; nothing new is undefined', () => {
    expect(mergeRunLines(undefined, [A])).toBe(`${A}\n`);
    expect(mergeRunLines(`${A}\n${A.slice(0, 9)}`, [B, A, B])).toBe(`${A}\n${B}\n`);
    expect(mergeRunLines(`${A}\n${B}\n`, [B])).toBeUndefined();
  });
});

describe('forEachLimit', () => {
  it('never has more than the limit in flight and visits every item', async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    await forEachLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise<void>((r) => setImmediate(r));
      seen.push(n);
      inFlight--;
    });
    expect(peak).toBe(3);
    expect(seen.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('stops starting work after the first error and rethrows it', async () => {
    const started: number[] = [];
    await expect(
      forEachLimit([1, 2, 3, 4, 5], 1, (n) => {
        started.push(n);
        return n === 2 ? Promise.reject(new Error('boom')) : Promise.resolve();
      }),
    ).rejects.toThrow('boom');
    expect(started).toEqual([1, 2]);
  });
});

describe('chooseRemote', () => {
  const remotes = new Map([
    ['a', { name: 'a', url: '/mnt/a' }],
    ['b', { name: 'b', url: 's3://bucket-b' }],
  ]);
  const config = (core: { remote?: string }, rs = remotes) => ({ core, remotes: rs, slurm: { extra: [] }, files: ['/p/.mlbuild/config.yaml'] });

  it('takes -r, else core.remote, else the only remote', () => {
    expect(chooseRemote(config({ remote: 'a' }), 'b')).toMatchObject({ ok: true, value: { name: 'b' } });
    expect(chooseRemote(config({ remote: 'a' }), undefined)).toMatchObject({ ok: true, value: { name: 'a' } });
    expect(chooseRemote(config({}, new Map([['b', remotes.get('b')!]])), undefined)).toMatchObject({ ok: true, value: { name: 'b' } });
  });

  it('names the defined remotes when the choice is unknown or ambiguous', () => {
    const unknown = chooseRemote(config({}), 'c');
    expect(unknown.ok ? '' : unknown.error[0]!.message).toBe("no remote named 'c' in .mlbuild/config.yaml; defined: a, b");
    const ambiguous = chooseRemote(config({}), undefined);
    expect(ambiguous.ok ? '' : ambiguous.error[0]!.hint).toContain('mlbuild remote default NAME');
    const none = chooseRemote({ core: {}, remotes: new Map(), slurm: { extra: [] }, files: [] }, undefined);
    expect(none.ok ? '' : none.error[0]!.message).toBe('no remote is configured in .mlbuild/config.yaml (not created yet)');
  });
});
