import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readProjectConfig, setConfigValue } from '../../../src/config/project-config.js';
import { formatDiagnostics } from '../../../src/report/diagnostic.js';
import { project } from './helpers.js';

describe('project config (.mlbuild/config.yaml + config.local.yaml)', () => {
  it('is empty when neither file exists', async () => {
    const root = await project({});
    const r = await readProjectConfig(root, root);
    expect(r.ok && r.value.remotes.size === 0 && r.value.files.length === 0).toBe(true);
  });

  it('reads remotes, core and slurm; the local file wins key by key', async () => {
    const root = await project({
      '.mlbuild/config.yaml': [
        'core: {remote: shared, executor: slurm}',
        'remote:',
        '  shared: {url: "s3://team/cache", endpoint_url: "http://127.0.0.1:8080", region: us-east-1}',
        'slurm:',
        '  partition: gpu',
        '  time: 2h',
        '  extra: [--exclusive]',
        '',
      ].join('\n'),
      '.mlbuild/config.local.yaml': 'remote:\n  shared: {profile: mine}\nslurm: {partition: debug}\n',
    });
    const r = await readProjectConfig(root, root);
    if (!r.ok) throw new Error(formatDiagnostics(r.error));
    expect(r.value.core).toEqual({ remote: 'shared', executor: 'slurm' });
    expect(r.value.remotes.get('shared')).toEqual({ name: 'shared', url: 's3://team/cache', endpointUrl: 'http://127.0.0.1:8080', region: 'us-east-1', profile: 'mine' });
    expect(r.value.slurm).toEqual({ partition: 'debug', timeSeconds: 7200, extra: ['--exclusive'] });
  });

  it('reports each bad key located, with a hint', async () => {
    const root = await project({
      '.mlbuild/config.yaml': 'core:\n  remot: x\nremote:\n  a: {region: eu}\nslurm:\n  time: soon\n',
    });
    const r = await readProjectConfig(root, root);
    expect(r.ok).toBe(false);
    const text = r.ok ? '' : formatDiagnostics(r.error);
    expect(text).toContain(".mlbuild/config.yaml:2:3: error: unknown key 'remot' in core");
    expect(text).toContain("did you mean 'remote'?");
    expect(text).toContain(".mlbuild/config.yaml:4:3: error: remote 'a' has no url");
    expect(text).toContain('.mlbuild/config.yaml:6:9: error: slurm.time must be a duration');
  });

  it('names a default remote that no section defines', async () => {
    const root = await project({ '.mlbuild/config.yaml': 'core: {remote: nowhere}\n' });
    const r = await readProjectConfig(root, root);
    expect(r.ok ? '' : formatDiagnostics(r.error)).toContain("core.remote names 'nowhere'");
  });

  it('setConfigValue keeps comments, deletes empty sections and git-ignores the local file', async () => {
    const root = await project({ '.mlbuild/config.yaml': '# team settings\ncore:\n  jobs: 4\n' });
    await setConfigValue(root, ['remote', 'nfs', 'url'], '/mnt/cache', { local: false });
    let text = await readFile(path.join(root, '.mlbuild/config.yaml'), 'utf8');
    expect(text).toContain('# team settings');
    expect(text).toContain('nfs:\n    url: /mnt/cache');
    await setConfigValue(root, ['remote', 'nfs', 'url'], undefined, { local: false });
    text = await readFile(path.join(root, '.mlbuild/config.yaml'), 'utf8');
    expect(text).not.toContain('remote');
    await setConfigValue(root, ['remote', 'nfs', 'profile'], 'me', { local: true });
    expect(await readFile(path.join(root, '.mlbuild/.gitignore'), 'utf8')).toBe('/config.local.yaml\n');
  });
});
