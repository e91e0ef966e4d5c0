/** `${...}` interpolation: typed lone values, text rendering, functions, vars, implicit param deps. */
import { describe, expect, test } from 'vitest';
import { loadErr, loadOk, project } from './helpers.js';

const PARAMS = [
  'train:',
  '  lr: 0.001',
  '  epochs: 10',
  '  shuffle: true',
  '  layers: [64, 32]',
  'files: [a.csv, b.csv]',
  'cmds: [echo one, echo two]',
  'split:',
  '  k: 3',
  'name: run',
  '',
].join('\n');

const stagesOf = async (pipeline: string, files: Record<string, string> = {}) => {
  const root = await project({ 'params.yaml': PARAMS, 'pipeline.yaml': pipeline, ...files });
  return (await loadOk(root)).stages;
};

describe('values', () => {
  test('inside a string: numbers plainly, booleans as true/false, list items by index', async () => {
    const [s] = await stagesOf('stages:\n  a:\n    cmd: train --lr ${train.lr} --epochs ${ train.epochs } --shuffle ${train.shuffle} --w ${train.layers[1]}\n');
    expect(s!.cmd).toEqual(['train --lr 0.001 --epochs 10 --shuffle true --w 32']);
  });

  test('a lone ${...} keeps its type (list for cmd and deps, number for resources and retries)', async () => {
    const [s] = await stagesOf(
      'stages:\n  a:\n    cmd: ${cmds}\n    deps: ${files}\n    retries: ${split.k}\n    resources:\n      cpus: ${split.k}\n    meta: ${train}\n',
    );
    expect(s!.cmd).toEqual(['echo one', 'echo two']);
    expect(s!.deps.map((d) => d.path)).toEqual(['a.csv', 'b.csv']);
    expect(s!.retries).toBe(3);
    expect(s!.resources.cpus).toBe(3);
    expect(s!.meta).toEqual({ lr: 0.001, epochs: 10, shuffle: true, layers: [64, 32] });
  });

  test('a lone ${...} that gives a number where a string is needed is a located error', async () => {
    const root = await project({ 'params.yaml': PARAMS, 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    desc: ${split.k}\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:4:11: error: 'desc' of stage 'a' must be a string, got the number 3",
        '  4 |     desc: ${split.k}',
        '    |           ^^^^^^^^^^',
        '  hint: write desc: a short description',
      ].join('\n'),
    );
  });

  test('\\${ is a literal ${', async () => {
    const [s] = await stagesOf('stages:\n  a:\n    cmd: echo \\${HOME} ${name}\n');
    expect(s!.cmd).toEqual(['echo ${HOME} run']);
  });

  test('range(n), range(a, b) and range(k) from params', async () => {
    const [s] = await stagesOf('stages:\n  a:\n    cmd: x\n    meta: {a: "${range(3)}", b: "${range(2, 5)}", c: "${range(split.k)}", d: "${range(10, 0, -5)}"}\n');
    expect(s!.meta).toEqual({ a: [0, 1, 2], b: [2, 3, 4], c: [0, 1, 2], d: [10, 5] });
  });

  test('desc, env and out paths are interpolated', async () => {
    const [s] = await stagesOf('stages:\n  a:\n    desc: Train ${name}\n    cmd: x\n    env: {LR: "${train.lr}"}\n    outs: [models/${name}.pkl]\n');
    expect(s!.desc).toBe('Train run');
    expect(s!.env).toEqual({ LR: '0.001' });
    expect(s!.outs.map((o) => o.path)).toEqual(['models/run.pkl']);
  });

  test('${...} inside flow collections is read (plain YAML would reject the braces)', async () => {
    const [s] = await stagesOf('stages:\n  a:\n    cmd: x\n    deps: [data/${name}, "q/${name}", r/${train.layers[0]}]\n    meta: {c: ${range(0, 2)}}\n');
    expect(s!.deps.map((d) => d.path)).toEqual(['data/run', 'q/run', 'r/64']);
    expect(s!.meta).toEqual({ c: [0, 1] });
  });
});

describe('paths()', () => {
  const pinned = 'user: reviews.tsv\nnone: null\nblank: ""\npinned:\n  - {file: a.txt, sha256: abc}\nmixed: [x.tsv, {file: b.txt}, x.tsv]\n';
  const depsOf = async (expr: string): Promise<string[]> => {
    const root = await project({ 'params.yaml': pinned, 'pipeline.yaml': `stages:\n  a:\n    cmd: x\n    deps:\n      - code.js\n      - \${${expr}}\n`, 'code.js': '' });
    return (await loadOk(root)).stages[0]!.deps.map((d) => d.path);
  };

  test('a string param is a dep in place; null, empty strings and pinned entries add none; duplicates once', async () => {
    expect(await depsOf('paths(user)')).toEqual(['code.js', 'reviews.tsv']);
    expect(await depsOf('paths(pinned, none, blank)')).toEqual(['code.js']);
    expect(await depsOf('paths(mixed, user)')).toEqual(['code.js', 'x.tsv', 'reviews.tsv']);
  });

  test('the keys it reads are tracked as implicit param deps', async () => {
    const root = await project({ 'params.yaml': pinned, 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    deps: [${paths(user, pinned)}]\n' });
    expect((await loadOk(root)).stages[0]!.params.map((p) => [p.key, p.implicit])).toEqual([['user', true], ['pinned', true]]);
  });

  test('without arguments it is a located error', async () => {
    const root = await project({ 'params.yaml': pinned, 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    deps: [${paths()}]\n' });
    expect(await loadErr(root)).toMatch(/pipeline\.yaml:4:\d+.*paths\(\) takes at least one argument/);
  });
});

describe('vars', () => {
  test('inline maps and files, later items win, stage vars on top', async () => {
    const [s, t] = await stagesOf(
      [
        'vars:',
        '  - name: first',
        '    seed: 1',
        '  - extra.yaml',
        '  - picks.yaml:keep,deep.x',
        'stages:',
        '  a:',
        '    cmd: echo ${name} ${seed} ${keep} ${deep.x}',
        '  b:',
        '    vars:',
        '      - name: stage-level',
        '    cmd: echo ${name} ${train.lr}',
        '',
      ].join('\n'),
      { 'extra.yaml': 'seed: 2\n', 'picks.yaml': 'keep: k\ndrop: d\ndeep: {x: 9, y: 8}\n' },
    );
    expect(s!.cmd).toEqual(['echo first 2 k 9']);
    expect(t!.cmd).toEqual(['echo stage-level 0.001']);
  });

  test('a key picked from a vars file must exist there', async () => {
    const root = await project({ 'pipeline.yaml': 'vars:\n  - picks.yaml:nope\nstages:\n  a:\n    cmd: x\n', 'picks.yaml': 'keep: 1\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:2:5: error: key 'nope' not found in vars file picks.yaml",
        '  2 |   - picks.yaml:nope',
        '    |     ^^^^^^^^^^^^^^^',
        "  hint: define 'nope' in picks.yaml or remove it from this entry",
      ].join('\n'),
    );
  });
});

describe('implicit param deps (contract 2)', () => {
  test('params used in cmd, deps, outs, metrics and plots are added, with the full key', async () => {
    const [s] = await stagesOf(
      [
        'stages:',
        '  a:',
        '    cmd: train --lr ${train.lr} --w ${train.layers[0]}',
        '    deps: [data/${name}]',
        '    outs: [m-${split.k}]',
        '    metrics: [m-${train.epochs}.json]',
        '    plots: [p-${train.shuffle}.json]',
        '    desc: not tracked ${files[0]}',
        '',
      ].join('\n'),
    );
    expect(s!.params).toEqual([
      { key: 'train.lr', implicit: true },
      { key: 'train.layers', implicit: true },
      { key: 'name', implicit: true },
      { key: 'split.k', implicit: true },
      { key: 'train.epochs', implicit: true },
      { key: 'train.shuffle', implicit: true },
    ]);
  });

  test('deduplicated with explicit params, a subtree covering its keys', async () => {
    const [s] = await stagesOf('stages:\n  a:\n    cmd: train ${train.lr} ${train.epochs} ${name} ${name}\n    params: [train]\n');
    expect(s!.params.map((p) => [p.key, p.implicit])).toEqual([
      ['train', false],
      ['name', true],
    ]);
  });

  test('vars and item values are not params', async () => {
    const [s] = await stagesOf('vars:\n  - seed: 7\nstages:\n  a:\n    foreach: [x]\n    do:\n      cmd: run ${seed} ${item}\n');
    expect(s!.cmd).toEqual(['run 7 x']);
    expect(s!.params).toEqual([]);
  });

  test('a var that shadows a param is not a param dep', async () => {
    const [s] = await stagesOf('vars:\n  - name: mine\nstages:\n  a:\n    cmd: echo ${name} ${train.lr}\n');
    expect(s!.cmd).toEqual(['echo mine 0.001']);
    expect(s!.params.map((p) => p.key)).toEqual(['train.lr']);
  });

  test('params read by a matrix value are no param dep: growing the matrix keeps existing stages cached', async () => {
    const stages = await stagesOf('stages:\n  t:\n    matrix:\n      fold: ${range(split.k)}\n    cmd: train ${item.fold} ${split.k}\n');
    expect(stages.map((s) => [s.name, s.params.map((p) => p.key)])).toEqual([
      ['t@0', ['split.k']],
      ['t@1', ['split.k']],
      ['t@2', ['split.k']],
    ]);
    const plain = await stagesOf('stages:\n  t:\n    matrix:\n      fold: ${range(split.k)}\n    cmd: train ${item.fold}\n');
    expect(plain.map((s) => s.params.length)).toEqual([0, 0, 0]);
  });

  test('-S overrides are what gets interpolated', async () => {
    const root = await project({ 'params.yaml': PARAMS, 'pipeline.yaml': 'stages:\n  a:\n    cmd: train --lr ${train.lr}\n' });
    const p = await loadOk(root, { overrides: ['train.lr=0.5'] });
    expect(p.stages[0]!.cmd).toEqual(['train --lr 0.5']);
  });
});
