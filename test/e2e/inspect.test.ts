/** Contract section 5: status, dag and params show. */
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();

const PIPE = `stages:
  prepare:
    cmd: cp raw.txt prepared.txt
    deps: [raw.txt]
    outs: [prepared.txt]
  train:
    cmd: cp prepared.txt model.txt
    deps: [prepared.txt]
    params: [train.lr]
    outs: [model.txt]
`;
const project = (): Project => {
  const p = new Project({ 'pipeline.yaml': PIPE, 'params.yaml': 'train:\n  lr: 0.1\n', 'raw.txt': 'x\n' });
  projects.push(p);
  return p;
};

describe('status', () => {
  it('names each stale stage and why; --check exits 1 only when stale', async () => {
    const p = project();
    let r = await p.run(['status']);
    expect(r.stdout).toBe('prepare:\n\tnew\ntrain:\n\tnew\n');
    expect(r.code).toBe(0);
    expect((await p.run(['status', '--check'])).code).toBe(1);
    await p.run(['repro']);
    r = await p.run(['status', '--check']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Data and pipelines are up to date.\n');
    p.write({ 'params.yaml': 'train:\n  lr: 0.3\n', 'raw.txt': 'y\n' });
    r = await p.run(['status', '--check']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('prepare:\n\tchanged deps: raw.txt\ntrain:\n\tchanged params: train.lr\n\tupstream stale: prepare\n');
    const j = JSON.parse((await p.run(['status', '--json'])).stdout) as { up_to_date: boolean; stages: { name: string; reason_codes: string[] }[] };
    expect(j.up_to_date).toBe(false);
    expect(j.stages[1]).toMatchObject({ name: 'train', reason_codes: ['params-changed', 'upstream-stale'] });
  });
});

describe('status --allow-missing (a fresh clone in CI)', () => {
  it('ignores missing outs and data, but not a changed param or a lockfile that disagrees with itself', async () => {
    const p = project();
    await p.run(['repro']);
    const lock = p.read('mlbuild.lock');
    // What a clone without the cache sees: no outs, no untracked data, no .mlcache.
    for (const f of ['prepared.txt', 'model.txt', 'raw.txt', '.mlcache']) p.remove(f);
    expect((await p.run(['status', '--check'])).code).not.toBe(0);
    let r = await p.run(['status', '--check', '--allow-missing']);
    expect(r.stdout).toBe('Data and pipelines are up to date.\n');
    expect(r.code).toBe(0);

    p.write({ 'params.yaml': 'train:\n  lr: 0.3\n' });
    r = await p.run(['status', '--check', '--allow-missing']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('train:\n\tchanged params: train.lr\n');

    // train records a prepared.txt that prepare's entry did not make.
    p.write({ 'params.yaml': 'train:\n  lr: 0.1\n' });
    const prepared = /- path: prepared.txt\n\s+hash: ([0-9a-f]{16})/.exec(lock)!;
    const lastAt = lock.lastIndexOf(prepared[0]);
    const tampered = lock.slice(0, lastAt) + prepared[0].replace(prepared[1]!, '0123456789abcdef') + lock.slice(lastAt + prepared[0].length);
    expect(tampered).not.toBe(lock);
    p.write({ 'mlbuild.lock': tampered });
    r = await p.run(['status', '--check', '--allow-missing', '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout) as { stages: { name: string; stale: boolean; reasons: string[] }[] };
    expect(j.stages.map((s) => [s.name, s.stale, s.reasons])).toEqual([
      ['prepare', false, []],
      ['train', true, ['changed deps: prepared.txt']],
    ]);
  });
});

describe('dag', () => {
  it('renders ascii, mermaid, dot and json', async () => {
    const p = project();
    expect((await p.run(['dag'])).stdout).toBe('● prepare\n  └─ train  ← prepare\n');
    expect((await p.run(['dag', '--mermaid'])).stdout).toBe('flowchart TD\n\tnode1["prepare"]\n\tnode2["train"]\n\tnode1-->node2\n');
    expect((await p.run(['dag', '--dot'])).stdout).toBe('strict digraph {\n  "prepare";\n  "train";\n  "prepare" -> "train";\n}\n');
    const j = JSON.parse((await p.run(['dag', '--json'])).stdout) as { edges: unknown[] };
    expect(j.edges).toEqual([{ from: 'prepare', to: 'train' }]);
  });
});

describe('params show', () => {
  it('prints the resolved tree with groups and -S overrides, without writing them', async () => {
    const p = new Project({
      'pipeline.yaml': 'stages: {}\n',
      'params/base.yaml': 'seed: 1\ndefaults:\n  - strategy: quick\n',
      'params/strategy/quick.yaml': 'folds: 1\n',
      'params/strategy/rigorous.yaml': 'folds: 5\n',
    });
    projects.push(p);
    expect((await p.run(['params', 'show'])).stdout).toBe('seed: 1\nstrategy:\n  folds: 1\n');
    const r = await p.run(['params', 'show', '--json', '-S', 'strategy=rigorous', '-S', 'seed=3']);
    expect(JSON.parse(r.stdout)).toEqual({ seed: 3, strategy: { folds: 5 } });
    expect(p.read('params/base.yaml')).toBe('seed: 1\ndefaults:\n  - strategy: quick\n');
    const bad = await p.run(['params', 'show', '-S', 'strategy=fast']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('quick');
    expect(bad.stderr).toContain('rigorous');
  });
});
