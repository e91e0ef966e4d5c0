/** Contract section 5: metrics show, metrics diff and params diff over real git history. */
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();

const PIPE = `stages:
  train:
    cmd: cp src.json metrics/train.json
    deps: [src.json]
    metrics: [metrics/train.json: {cache: false}]
  evaluate:
    cmd: cp ev.yaml metrics/test.yaml
    deps: [ev.yaml]
    metrics: [metrics/test.yaml: {cache: true}]
`;

const train = (acc: number, lossTrain: number, name: string) =>
  JSON.stringify({ acc, loss: { train: lossTrain, val: 0.6 }, name }) + '\n';

/** Two commits: `one` (tagged v1, on branch `old`) and `two` (main). */
async function history(): Promise<Project> {
  const p = new Project({
    'pipeline.yaml': PIPE,
    'params.yaml': 'lr: 0.1\nmodel:\n  depth: 3\n',
    'src.json': train(0.8, 0.5, 'a'),
    'ev.yaml': 'auc: 0.7\nper_class: [0.1, 0.2]\n',
  });
  projects.push(p);
  expect((await p.run(['repro'])).code).toBe(0);
  p.commitAll('one');
  p.git('tag', 'v1');
  p.git('branch', 'old');
  p.write({
    'src.json': train(0.9, 0.4, 'b'),
    'ev.yaml': 'auc: 0.75\nper_class: [0.1, 0.3]\n',
    'params.yaml': 'lr: 0.2\nmodel:\n  depth: 3\n  width: 8\n',
  });
  expect((await p.run(['repro'])).code).toBe(0);
  p.commitAll('two');
  return p;
}

describe('metrics show', () => {
  it('prints the workspace metrics, JSON and YAML, flattened', async () => {
    const p = await history();
    const r = await p.run(['metrics', 'show']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'Path                Metric       Value\n' +
        'metrics/train.json  acc          0.9\n' +
        'metrics/train.json  loss.train   0.4\n' +
        'metrics/train.json  loss.val     0.6\n' +
        'metrics/train.json  name         b\n' +
        'metrics/test.yaml   auc          0.75\n' +
        'metrics/test.yaml   per_class.0  0.1\n' +
        'metrics/test.yaml   per_class.1  0.3\n',
    );
    expect(JSON.parse((await p.run(['metrics', 'show', '--json'])).stdout)).toMatchObject({ 'metrics/test.yaml': { auc: 0.75 } });
  });
});

describe('metrics diff', () => {
  it('compares two commits, reading the cached metric through the lockfile and the cache', async () => {
    const p = await history();
    const r = await p.run(['metrics', 'diff', 'HEAD~1', 'HEAD']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(
      'Path                Metric       HEAD~1  HEAD  Change\n' +
        'metrics/train.json  acc          0.8     0.9   0.1\n' +
        'metrics/train.json  loss.train   0.5     0.4   -0.1\n' +
        'metrics/train.json  name         a       b     -\n' +
        'metrics/test.yaml   auc          0.7     0.75  0.05\n' +
        'metrics/test.yaml   per_class.1  0.2     0.3   0.1\n',
    );
  });

  it('defaults to HEAD against the workspace, with --precision and --all', async () => {
    const p = await history();
    p.write({ 'src.json': train(0.912345678, 0.4, 'b') });
    expect((await p.run(['repro'])).code).toBe(0);
    let r = await p.run(['metrics', 'diff']);
    expect(r.stdout).toBe('Path                Metric  HEAD  workspace  Change\nmetrics/train.json  acc     0.9   0.91235    0.01235\n');
    r = await p.run(['metrics', 'diff', '--precision', '2', '--all']);
    expect(r.stdout).toBe(
      'Path                Metric       HEAD  workspace  Change\n' +
        'metrics/train.json  acc          0.9   0.91       0.01\n' +
        'metrics/train.json  loss.train   0.4   0.4        0\n' +
        'metrics/train.json  loss.val     0.6   0.6        0\n' +
        'metrics/train.json  name         b     b          -\n' +
        'metrics/test.yaml   auc          0.75  0.75       0\n' +
        'metrics/test.yaml   per_class.0  0.1   0.1        0\n' +
        'metrics/test.yaml   per_class.1  0.3   0.3        0\n',
    );
  });

  it('takes branch and tag names as typed, and prints --md and --json', async () => {
    const p = await history();
    const md = await p.run(['metrics', 'diff', 'old', 'main', '--md']);
    expect(md.stdout).toBe(
      '| Path | Metric | old | main | Change |\n' +
        '|---|---|---|---|---|\n' +
        '| metrics/train.json | acc | 0.8 | 0.9 | 0.1 |\n' +
        '| metrics/train.json | loss.train | 0.5 | 0.4 | -0.1 |\n' +
        '| metrics/train.json | name | a | b | - |\n' +
        '| metrics/test.yaml | auc | 0.7 | 0.75 | 0.05 |\n' +
        '| metrics/test.yaml | per_class.1 | 0.2 | 0.3 | 0.1 |\n',
    );
    const j = await p.run(['metrics', 'diff', 'v1', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({
      'metrics/train.json': { acc: { old: 0.8, new: 0.9, diff: 0.1 }, 'loss.train': { old: 0.5, new: 0.4, diff: -0.1 }, name: { old: 'a', new: 'b' } },
      'metrics/test.yaml': { auc: { old: 0.7, new: 0.75, diff: 0.05 }, 'per_class.1': { old: 0.2, new: 0.3, diff: 0.1 } },
    });
  });

  it('names a file missing in one revision, and a cached metric whose object is gone', async () => {
    const p = await history();
    p.git('rm', '-q', '--cached', 'metrics/train.json');
    p.git('commit', '-q', '-m', 'untrack');
    let r = await p.run(['metrics', 'diff', 'HEAD~1', 'HEAD']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('metrics/train.json: not in HEAD');
    expect(r.stdout).toContain('metrics/train.json  acc         0.9     -     -\n');
    p.remove('.mlcache/objects');
    r = await p.run(['metrics', 'diff', 'HEAD~2', 'HEAD~1']);
    expect(r.stderr).toMatch(/metrics\/test\.yaml: cache object [0-9a-f]{16} \(from mlbuild\.lock at HEAD~2\) is not in the cache/);
  });

  it('exits 2 for an unknown revision or bad flags', async () => {
    const p = await history();
    let r = await p.run(['metrics', 'diff', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown revision 'nope'");
    expect(r.stdout).toBe('');
    r = await p.run(['metrics', 'diff', '--json', '--md']);
    expect(r.code).toBe(2);
    r = await p.run(['metrics', 'diff', '--precision', 'x']);
    expect(r.code).toBe(2);
  });
});

describe('params diff', () => {
  it('compares the resolved params of two commits and of HEAD with the workspace', async () => {
    const p = await history();
    let r = await p.run(['params', 'diff', 'HEAD~1', 'HEAD']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('Param        HEAD~1  HEAD\nlr           0.1     0.2\nmodel.width  -       8\n');
    r = await p.run(['params', 'diff', 'v1', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({ lr: { old: 0.1, new: 0.2, diff: 0.1 }, 'model.width': { old: null, new: 8 } });
    p.write({ 'params.yaml': 'lr: 0.3\nmodel:\n  depth: 3\n  width: 8\n' });
    r = await p.run(['params', 'diff', '--md']);
    expect(r.stdout).toBe('| Param | HEAD | workspace |\n|---|---|---|\n| lr | 0.2 | 0.3 |\n');
  });
});
