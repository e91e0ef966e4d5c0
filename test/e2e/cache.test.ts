/** Issue 3: the content-addressed cache and the run-cache, through the built CLI. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();

const PIPE = `stages:
  train:
    cmd: mkdir -p model && (echo "lr=\${train.lr}"; cat data.txt) > model/weights.txt && echo done > summary.txt
    deps: [data.txt]
    outs: [model, summary.txt]
    metrics: [metrics.json: {cache: false}]
`;
const project = (): Project => {
  const p = new Project({
    'pipeline.yaml': PIPE.replace('echo done > summary.txt', 'echo done > summary.txt && echo \'{"acc":1}\' > metrics.json'),
    'params.yaml': 'train:\n  lr: 0.1\n',
    'data.txt': 'rows\n',
  });
  projects.push(p);
  return p;
};

describe('cache', () => {
  it('restores a deleted or hand-edited out from the cache without running, and says so', async () => {
    const p = project();
    expect((await p.repro()).outcomes).toEqual({ train: 'succeeded' });
    p.remove('model');
    let r = await p.repro();
    expect(r.outcomes).toEqual({ train: 'restored' });
    expect(r.doc.stages[0]!.reasons).toEqual(['missing outs: model']);
    expect(p.read('model/weights.txt')).toBe('lr=0.1\nrows\n');
    p.write({ 'summary.txt': 'edited\n' });
    const plain = await p.run(['repro']);
    expect(plain.stdout).toContain("Stage 'train' restored from the cache (changed outs: summary.txt)");
    expect(p.read('summary.txt')).toBe('done\n');
    r = await p.repro();
    expect(r.outcomes).toEqual({ train: 'fresh' });
  });

  it('restores a missing metric (stored though not git-ignored), but runs for a missing cache: false out', async () => {
    const p = project();
    await p.repro();
    expect(p.read('.gitignore')).not.toContain('metrics.json');
    p.remove('metrics.json');
    expect((await p.repro()).outcomes).toEqual({ train: 'restored' });
    expect(p.read('metrics.json')).toBe('{"acc":1}\n');
    const q = new Project({ 'pipeline.yaml': 'stages:\n  big:\n    cmd: cp in.txt big.txt\n    deps: [in.txt]\n    outs: [big.txt: {cache: false}]\n', 'in.txt': 'x\n' });
    projects.push(q);
    await q.repro();
    q.remove('big.txt');
    expect((await q.repro()).outcomes).toEqual({ big: 'succeeded' });
    expect(q.exists('.gitignore') && q.read('.gitignore')).not.toContain('big.txt');
  });

  it('run-cache: switching a param back restores the earlier result instead of running', async () => {
    const p = project();
    await p.repro();
    expect((await p.repro(['-S', 'train.lr=0.2'])).outcomes).toEqual({ train: 'succeeded' });
    expect(p.read('model/weights.txt')).toBe('lr=0.2\nrows\n');
    // Back to 0.1: outs and the metric come back from the run-cache.
    expect((await p.repro(['-S', 'train.lr=0.1'])).outcomes).toEqual({ train: 'restored' });
    expect(p.read('model/weights.txt')).toBe('lr=0.1\nrows\n');
    expect(p.read('metrics.json')).toBe('{"acc":1}\n');
    const q = new Project({
      'pipeline.yaml': 'stages:\n  t:\n    cmd: echo "${lr}" > out.txt\n    deps: [d.txt]\n    outs: [out.txt]\n',
      'params.yaml': 'lr: 1\n',
      'd.txt': 'x\n',
    });
    projects.push(q);
    await q.repro();
    expect((await q.repro(['-S', 'lr=2'])).outcomes).toEqual({ t: 'succeeded' });
    const back = await q.repro(['-S', 'lr=1']);
    expect(back.outcomes).toEqual({ t: 'restored' });
    expect(q.read('out.txt')).toBe('1\n');
    expect(q.read('mlbuild.lock')).toContain('lr: 1');
    expect((await q.repro(['-S', 'lr=2', '--no-run-cache'])).outcomes).toEqual({ t: 'succeeded' });
  });

  it('with hardlinks, outs are read-only links and a persist stage still appends safely', async () => {
    const p = new Project({
      'pipeline.yaml': 'stages:\n  grow:\n    cmd: cat in.txt >> log.txt\n    deps: [in.txt]\n    outs: [log.txt: {persist: true}]\n',
      'in.txt': 'a\n',
    });
    projects.push(p);
    const env = { MLBUILD_CACHE_TYPE: 'hardlink,copy' };
    await p.repro([], { env });
    p.remove('log.txt');
    expect((await p.repro([], { env })).outcomes).toEqual({ grow: 'restored' });
    const st = fs.statSync(p.path('log.txt'));
    expect(st.nlink).toBe(2);
    expect(st.mode & 0o222).toBe(0);
    p.write({ 'in.txt': 'b\n' });
    expect((await p.repro([], { env })).outcomes).toEqual({ grow: 'succeeded' });
    expect(p.read('log.txt')).toBe('a\nb\n');
    // The object the first run saved is untouched: restoring the old lock entry gives 'a\n'.
    const objects = fs.readdirSync(p.path('.mlcache/objects'), { recursive: true }) as string[];
    const contents = objects
      .map((o) => p.path(`.mlcache/objects/${o}`))
      .filter((f) => fs.statSync(f).isFile())
      .map((f) => fs.readFileSync(f, 'utf8'))
      .sort();
    expect(contents).toEqual(['a\n', 'a\nb\n']);
  });
});
