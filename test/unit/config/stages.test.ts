/** Stage fields, defaults, path normalisation and the DVC-compatible forms of pipeline.yaml. */
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadOk, project } from './helpers.js';

const one = async (body: string, more: Record<string, string> = {}) => {
  const root = await project({ 'pipeline.yaml': `stages:\n  s:\n${body}`, ...more });
  const p = await loadOk(root);
  expect(p.stages).toHaveLength(1);
  return { root, stage: p.stages[0]!, loaded: p };
};

describe('stage fields', () => {
  test('defaults for a minimal stage', async () => {
    const { stage } = await one('    cmd: python run.py\n');
    expect(stage).toEqual({
      name: 's',
      group: 's',
      cmd: ['python run.py'],
      wdir: '',
      deps: [],
      params: [],
      outs: [],
      frozen: false,
      alwaysChanged: false,
      env: {},
      resources: { cpus: 1, gpus: 0, memoryMb: 0 },
      retries: 0,
      loc: { file: 'pipeline.yaml', line: 2, col: 3, length: 1, sourceLine: '  s:' },
    });
  });

  test("slurm: per-stage partition, account, qos and extra flags (interpolated), kept out of the other fields", async () => {
    const { stage } = await one('    cmd: python run.py\n    vars: [{part: a100}]\n    slurm: {partition: ${part}, account: ml, qos: long, extra: [--constraint=80g, --exclusive]}\n');
    expect(stage.slurm).toEqual({ partition: 'a100', account: 'ml', qos: 'long', extra: ['--constraint=80g', '--exclusive'] });
    expect((await one('    cmd: python run.py\n    slurm: {extra: --exclusive}\n')).stage.slurm).toEqual({ extra: ['--exclusive'] });
  });

  test('every key', async () => {
    const { stage } = await one(
      [
        '    desc: Train it',
        '    cmd: [python a.py, python b.py]',
        '    deps: [a.py, data/]',
        '    outs: [model.pkl]',
        '    frozen: true',
        '    always_changed: true',
        '    meta: {owner: me, n: 3}',
        '    resources: {cpus: 4, gpus: 2, memory: 8G}',
        '    env: {OMP_NUM_THREADS: 4, MODE: fast, DEBUG: false}',
        '    timeout: 1h30m',
        '    retries: 2',
        '',
      ].join('\n'),
    );
    expect(stage.desc).toBe('Train it');
    expect(stage.cmd).toEqual(['python a.py', 'python b.py']);
    expect(stage.deps.map((d) => d.path)).toEqual(['a.py', 'data']);
    expect(stage.frozen).toBe(true);
    expect(stage.alwaysChanged).toBe(true);
    expect(stage.meta).toEqual({ owner: 'me', n: 3 });
    expect(stage.resources).toEqual({ cpus: 4, gpus: 2, memoryMb: 8192 });
    expect(stage.env).toEqual({ OMP_NUM_THREADS: '4', MODE: 'fast', DEBUG: 'false' });
    expect(stage.timeout).toBe(5400);
    expect(stage.retries).toBe(2);
  });

  test('empty list keys are empty lists', async () => {
    const { stage } = await one('    cmd: x\n    deps:\n    outs:\n    params:\n');
    expect([stage.deps, stage.outs, stage.params]).toEqual([[], [], []]);
  });

  test('outs, metrics and plots with options and defaults', async () => {
    const { stage } = await one(
      [
        '    cmd: x',
        '    outs:',
        '      - model.pkl',
        '      - data/cache/: {cache: false, persist: true, desc: scratch, labels: [tmp]}',
        '    metrics:',
        '      - metrics.json: {cache: false}',
        '      - more.json',
        '      - kept.json: {cache: true}',
        '    plots:',
        '      - roc.json: {x: fpr, y: tpr, title: ROC}',
        '      - loss.csv:',
        '          y: [train, val]',
        '      - bare.png',
        '',
      ].join('\n'),
    );
    expect(stage.outs.map(({ loc: _loc, ...o }) => o)).toEqual([
      { path: 'model.pkl', kind: 'out', cache: true, persist: false },
      { path: 'data/cache', kind: 'out', cache: false, persist: true },
      { path: 'metrics.json', kind: 'metric', cache: false, persist: false },
      // Contract section 1: metrics and plots are committed to git, so `cache: false` by default.
      { path: 'more.json', kind: 'metric', cache: false, persist: false },
      { path: 'kept.json', kind: 'metric', cache: true, persist: false },
      { path: 'roc.json', kind: 'plot', cache: false, persist: false, plot: { x: 'fpr', y: 'tpr', title: 'ROC' } },
      { path: 'loss.csv', kind: 'plot', cache: false, persist: false, plot: { y: ['train', 'val'] } },
      { path: 'bare.png', kind: 'plot', cache: false, persist: false },
    ]);
    expect(stage.outs[1]!.loc).toEqual({ file: 'pipeline.yaml', line: 6, col: 9, length: 11, sourceLine: '      - data/cache/: {cache: false, persist: true, desc: scratch, labels: [tmp]}' });
  });

  test('memory and timeout units', async () => {
    const a = await one('    cmd: x\n    resources: {memory: 512M}\n    timeout: 90\n');
    expect(a.stage.resources.memoryMb).toBe(512);
    expect(a.stage.timeout).toBe(90);
    const b = await one('    cmd: x\n    resources: {memory: 2048}\n    timeout: 10m\n');
    expect(b.stage.resources.memoryMb).toBe(2048);
    expect(b.stage.timeout).toBe(600);
  });
});

describe('paths', () => {
  test('deps and outs are normalised to project-relative POSIX paths', async () => {
    const { stage } = await one('    cmd: x\n    deps: [./data//raw/, src/../lib/a.py]\n    outs: [./out/]\n');
    expect(stage.deps.map((d) => d.path)).toEqual(['data/raw', 'lib/a.py']);
    expect(stage.outs.map((o) => o.path)).toEqual(['out']);
  });

  test('paths already in normal form are kept as written, dots inside names included', async () => {
    const { stage } = await one('    cmd: x\n    wdir: sub\n    deps: [a.b/c..d/.e, ..x/y., data/raw]\n    outs: [out/..., \'out/ spaced \']\n');
    expect(stage.deps.map((d) => d.path)).toEqual(['sub/a.b/c..d/.e', 'sub/..x/y.', 'sub/data/raw']);
    expect(stage.outs.map((o) => o.path)).toEqual(['sub/out/...', 'sub/out/ spaced ']);
  });

  test('wdir makes paths relative to it, and is stored project-relative', async () => {
    const { stage } = await one('    cmd: x\n    wdir: sub/dir/\n    deps: [../a.csv, b.csv]\n    outs: [out]\n');
    expect(stage.wdir).toBe('sub/dir');
    expect(stage.deps.map((d) => d.path)).toEqual(['sub/a.csv', 'sub/dir/b.csv']);
    expect(stage.outs.map((o) => o.path)).toEqual(['sub/dir/out']);
  });

  test('wdir . is the root', async () => {
    const { stage } = await one('    cmd: x\n    wdir: .\n');
    expect(stage.wdir).toBe('');
  });

  test('deps outside the project are kept as absolute paths', async () => {
    const { root, stage } = await one('    cmd: x\n    deps: [../shared/data.csv, /etc/hosts]\n');
    expect(stage.deps.map((d) => d.path)).toEqual([path.resolve(root, '../shared/data.csv'), '/etc/hosts']);
  });

  test('an absolute path inside the project becomes relative', async () => {
    const root = await project({});
    await writeFile(path.join(root, 'pipeline.yaml'), `stages:\n  s:\n    cmd: x\n    outs: [${root}/out.bin]\n`);
    expect((await loadOk(root)).stages[0]!.outs[0]!.path).toBe('out.bin');
  });
});

describe('file shapes', () => {
  test('an empty pipeline file has no stages', async () => {
    const root = await project({ 'pipeline.yaml': '# nothing yet\n' });
    expect((await loadOk(root)).stages).toEqual([]);
  });

  test("DVC's top-level plots/metrics/params/artifacts are accepted and ignored", async () => {
    const root = await project({
      'pipeline.yaml': 'stages:\n  a:\n    cmd: x\nplots:\n  - roc.json\nmetrics: [m.json]\nparams: [p.yaml]\nartifacts:\n  model:\n    path: m.pkl\n',
    });
    expect((await loadOk(root)).stages.map((s) => s.name)).toEqual(['a']);
  });

  test('a dvc.yaml project with params.yaml and the {params.yaml: [...]} form', async () => {
    const root = await project({
      'params.yaml': 'prepare:\n  split: 0.2\n  seed: 20170428\ntrain:\n  n_est: 50\n',
      'dvc.yaml': [
        'stages:',
        '  prepare:',
        '    cmd: python src/prepare.py data/data.xml',
        '    deps:',
        '      - data/data.xml',
        '      - src/prepare.py',
        '    params:',
        '      - prepare.seed',
        '      - prepare.split',
        '    outs:',
        '      - data/prepared',
        '  train:',
        '    cmd: python src/train.py data/features model.pkl',
        '    deps: [data/features, src/train.py]',
        '    params:',
        '      - params.yaml:',
        '          - train.n_est',
        '    outs: [model.pkl]',
        '  evaluate:',
        '    cmd: python src/evaluate.py model.pkl',
        '    params:',
        '      - params.yaml:',
        '    metrics:',
        '      - eval/metrics.json:',
        '          cache: false',
        '',
      ].join('\n'),
    });
    const p = await loadOk(root, { file: 'dvc.yaml' });
    expect(p.paramsFiles).toEqual(['params.yaml']);
    expect(p.stages.map((s) => [s.name, s.params.map((x) => x.key)])).toEqual([
      ['prepare', ['prepare.seed', 'prepare.split']],
      ['train', ['train.n_est']],
      ['evaluate', ['prepare', 'train']],
    ]);
    expect(p.stages[2]!.outs).toMatchObject([{ path: 'eval/metrics.json', kind: 'metric', cache: false }]);
  });

  test('private-use characters in a file with nothing to mask are kept as written', async () => {
    // The `${...}` masking borrows U+E000-U+E004; a file that needed none must not have them rewritten.
    const { stage } = await one('    cmd: echo \uE002x\uE004\n');
    expect(stage.cmd).toEqual(['echo \uE002x\uE004']);
  });

  test('YAML anchors and aliases work', async () => {
    const root = await project({
      'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    deps: &common [lib.py, data]\n  b:\n    cmd: y\n    deps: *common\n',
    });
    const p = await loadOk(root);
    expect(p.stages[1]!.deps.map((d) => d.path)).toEqual(['lib.py', 'data']);
  });
});
