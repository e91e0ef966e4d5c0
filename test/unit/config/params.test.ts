/** Params (contract 3): params.yaml + params/ layout, option groups, -S overrides and write-back. */
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, test } from 'vitest';
import { getParam, loadParams } from '../../../src/config/params.js';
import { formatDiagnostics } from '../../../src/report/diagnostic.js';
import { load, loadErr, loadOk, project, read } from './helpers.js';

const LAYOUT = {
  'params/base.yaml': '# shared settings\ndefaults:\n  - strategy: quick   # fast iteration\n  - model: logreg\nseed: 42  # the seed\ntrain:\n  batch: 32\n',
  'params/strategy/quick.yaml': 'epochs: 1  # few\n',
  'params/strategy/rigorous.yaml': 'epochs: 50\n',
  'params/model/logreg.yaml': '# logistic regression\nlr: 0.1  # step\nC: 1.0\n',
  'params/model/cnn.yaml': 'lr: 0.001\nlayers: [32, 64]\n',
  'pipeline.yaml': 'stages:\n  a:\n    cmd: run\n',
};

const params = async (root: string, overrides: string[] = [], writeBack = false) => {
  const r = await loadParams(root, overrides, { writeBack, displayCwd: root });
  if (!r.ok) throw new Error(formatDiagnostics(r.error));
  return r.value;
};

describe('loading', () => {
  test('base.yaml with option groups', async () => {
    const root = await project(LAYOUT);
    const p = await params(root);
    expect(p.tree).toEqual({ strategy: { epochs: 1 }, model: { lr: 0.1, C: 1 }, seed: 42, train: { batch: 32 } });
    expect(p.files).toEqual(['params/base.yaml', 'params/strategy/quick.yaml', 'params/model/logreg.yaml']);
  });

  test("base.yaml's own keys override the option files", async () => {
    const root = await project({ ...LAYOUT, 'params/base.yaml': 'defaults: [{model: logreg}]\nmodel:\n  lr: 0.5\n' });
    expect((await params(root)).tree).toEqual({ model: { lr: 0.5, C: 1 } });
  });

  test('a list of options puts each under its name', async () => {
    const root = await project({ ...LAYOUT, 'params/base.yaml': 'defaults:\n  - model: [logreg, cnn]\n' });
    expect((await params(root)).tree).toEqual({ model: { logreg: { lr: 0.1, C: 1 }, cnn: { lr: 0.001, layers: [32, 64] } } });
  });

  test('params.yaml and params/ merge deeply, params/ winning', async () => {
    const root = await project({
      'params.yaml': 'seed: 1\ntrain:\n  batch: 8\n  epochs: 3\nonly_dvc: yes\n',
      'params/base.yaml': 'seed: 2\ntrain:\n  batch: 16\n',
    });
    const p = await params(root);
    expect(p.tree).toEqual({ seed: 2, train: { batch: 16, epochs: 3 }, only_dvc: 'yes' });
    expect(p.files).toEqual(['params.yaml', 'params/base.yaml']);
  });

  test('no params files at all is an empty tree', async () => {
    const root = await project({});
    expect(await params(root)).toEqual({ tree: {}, files: [] });
  });

  test('getParam', () => {
    const tree = { a: { b: [10, { c: 3 }] }, z: null };
    expect(getParam(tree, 'a.b')).toEqual({ found: true, value: [10, { c: 3 }] });
    expect(getParam(tree, 'a.b.1.c')).toEqual({ found: true, value: 3 });
    expect(getParam(tree, 'z')).toEqual({ found: true, value: null });
    expect(getParam(tree, 'a.x')).toEqual({ found: false });
    expect(getParam(tree, 'a.b.c')).toEqual({ found: false });
  });
});

describe('-S overrides', () => {
  test('group selection, multi-option selection and key overrides (YAML-typed)', async () => {
    const root = await project(LAYOUT);
    const p = await params(root, ['strategy=rigorous', 'model=logreg,cnn', 'model.cnn.lr=0.5', 'train.sizes=[1, 2]', 'flag=true', 'name=abc']);
    expect(p.tree).toEqual({
      strategy: { epochs: 50 },
      model: { logreg: { lr: 0.1, C: 1 }, cnn: { lr: 0.5, layers: [32, 64] } },
      seed: 42,
      train: { batch: 32, sizes: [1, 2] },
      flag: true,
      name: 'abc',
    });
  });

  test('a group not in defaults can be selected', async () => {
    const root = await project({ ...LAYOUT, 'params/base.yaml': 'seed: 1\n' });
    expect((await params(root, ['model=cnn'])).tree).toEqual({ seed: 1, model: { lr: 0.001, layers: [32, 64] } });
  });

  test('a group that base.yaml selects as a list stays keyed by option when -S picks one', async () => {
    const root = await project({ ...LAYOUT, 'params/base.yaml': 'defaults:\n  - model: [logreg, cnn]\n' });
    expect((await params(root, ['model=cnn'])).tree).toEqual({ model: { cnn: { lr: 0.001, layers: [32, 64] } } });
    await params(root, ['model=cnn', 'model.cnn.lr=0.2'], true);
    expect(await read(root, 'params/base.yaml')).toBe('defaults:\n  - model: [cnn]\n');
    expect(await read(root, 'params/model/cnn.yaml')).toBe('lr: 0.2\nlayers: [32, 64]\n');
  });

  test('without writeBack nothing is written', async () => {
    const root = await project(LAYOUT);
    await params(root, ['strategy=rigorous', 'seed=7']);
    expect(await read(root, 'params/base.yaml')).toBe(LAYOUT['params/base.yaml']);
  });
});

describe('write-back', () => {
  test('selections go to defaults, keys to the file whose value wins; comments and layout are kept', async () => {
    const root = await project({ ...LAYOUT, 'params.yaml': '# dvc params\ntrain:\n  epochs: 3   # dvc\n' });
    await params(root, ['strategy=rigorous', 'model=logreg,cnn', 'seed=7', 'strategy.epochs=77', 'model.cnn.lr=0.5', 'train.epochs=9', 'train.batch=64', 'new.key=[1, 2]'], true);
    expect(await read(root, 'params/base.yaml')).toBe(
      [
        '# shared settings',
        'defaults:',
        '  - strategy: rigorous   # fast iteration',
        '  - model: [logreg, cnn]',
        'seed: 7  # the seed',
        'train:',
        '  batch: 64',
        'new:',
        '  key:',
        '    - 1',
        '    - 2',
        '',
      ].join('\n'),
    );
    expect(await read(root, 'params/strategy/rigorous.yaml')).toBe('epochs: 77\n');
    expect(await read(root, 'params/strategy/quick.yaml')).toBe('epochs: 1  # few\n');
    expect(await read(root, 'params/model/cnn.yaml')).toBe('lr: 0.5\nlayers: [32, 64]\n');
    expect(await read(root, 'params.yaml')).toBe('# dvc params\ntrain:\n  epochs: 9   # dvc\n');
    // No temp files are left behind, and a plain reload sees what ran.
    expect((await readdir(path.join(root, 'params'))).sort()).toEqual(['base.yaml', 'model', 'strategy']);
    const again = await params(root);
    expect(again.tree).toMatchObject({ seed: 7, strategy: { epochs: 77 }, model: { cnn: { lr: 0.5 } }, train: { epochs: 9, batch: 64 } });
  });

  test('a key set in a single selected option file goes there', async () => {
    const root = await project(LAYOUT);
    await params(root, ['model.lr=0.3'], true);
    expect(await read(root, 'params/model/logreg.yaml')).toBe('# logistic regression\nlr: 0.3  # step\nC: 1.0\n');
    expect(await read(root, 'params/base.yaml')).toBe(LAYOUT['params/base.yaml']);
  });

  test('a DVC project writes into params.yaml, adding new keys to the right map', async () => {
    const root = await project({ 'params.yaml': 'train:\n  lr: 0.1 # keep\n  epochs: 3\nother: 1\n' });
    await params(root, ['train.lr=0.2', 'train.momentum=0.9', 'top=x'], true);
    expect(await read(root, 'params.yaml')).toBe('train:\n  lr: 0.2 # keep\n  epochs: 3\n  momentum: 0.9\nother: 1\ntop: x\n');
  });

  test('a selection creates defaults in base.yaml when there is none', async () => {
    const root = await project({ ...LAYOUT, 'params/base.yaml': '# header\nseed: 1\n' });
    await params(root, ['model=cnn'], true);
    expect(await read(root, 'params/base.yaml')).toBe('# header\ndefaults:\n  - model: cnn\nseed: 1\n');
    await params(root, ['strategy=quick'], true);
    expect(await read(root, 'params/base.yaml')).toBe('# header\ndefaults:\n  - model: cnn\n  - strategy: quick\nseed: 1\n');
  });

  test('loadPipeline writes back only when writeBack is set and the pipeline is valid', async () => {
    const root = await project(LAYOUT);
    await loadOk(root, { overrides: ['seed=1'] });
    expect(await read(root, 'params/base.yaml')).toBe(LAYOUT['params/base.yaml']);

    const bad = await project({ ...LAYOUT, 'pipeline.yaml': 'stages:\n  a:\n    cmdd: run\n' });
    await loadErr(bad, { overrides: ['seed=1'], writeBack: true });
    expect(await read(bad, 'params/base.yaml')).toBe(LAYOUT['params/base.yaml']);

    const p = await loadOk(root, { overrides: ['seed=1'], writeBack: true });
    expect(p.params).toMatchObject({ seed: 1 });
    expect(await read(root, 'params/base.yaml')).toContain('seed: 1  # the seed\n');
  });

  test('nothing is written when an override is invalid', async () => {
    const root = await project(LAYOUT);
    const r = await load(root, { overrides: ['seed=2', 'model=rnn'], writeBack: true });
    expect(r.ok).toBe(false);
    expect(await read(root, 'params/base.yaml')).toBe(LAYOUT['params/base.yaml']);
  });
});
