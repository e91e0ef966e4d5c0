/** foreach / matrix fan-out and DVC's names for the expanded stages. */
import { describe, expect, test } from 'vitest';
import { loadErr, loadOk, project } from './helpers.js';

const load = async (pipeline: string, params = '') => {
  const root = await project({ 'pipeline.yaml': pipeline, ...(params ? { 'params.yaml': params } : {}) });
  return (await loadOk(root)).stages;
};

describe('foreach', () => {
  test('a list of scalars names stages by value', async () => {
    const stages = await load('stages:\n  prep:\n    foreach: [raw, 3, true, 0.5]\n    do:\n      cmd: prep ${item}\n      outs: [out/${item}]\n');
    expect(stages.map((s) => [s.name, s.group, s.cmd[0], s.outs[0]!.path])).toEqual([
      ['prep@raw', 'prep', 'prep raw', 'out/raw'],
      ['prep@3', 'prep', 'prep 3', 'out/3'],
      ['prep@true', 'prep', 'prep true', 'out/true'],
      ['prep@0.5', 'prep', 'prep 0.5', 'out/0.5'],
    ]);
  });

  test('a list holding maps names stages by index', async () => {
    const stages = await load('stages:\n  t:\n    foreach:\n      - {name: a, lr: 1}\n      - {name: b, lr: 2}\n    do:\n      cmd: t ${item.name} ${item.lr}\n');
    expect(stages.map((s) => [s.name, s.cmd[0]])).toEqual([
      ['t@0', 't a 1'],
      ['t@1', 't b 2'],
    ]);
  });

  test('a list with one list in it names every stage by index', async () => {
    const stages = await load('stages:\n  t:\n    foreach: [x, [1, 2]]\n    do:\n      cmd: t\n');
    expect(stages.map((s) => s.name)).toEqual(['t@0', 't@1']);
  });

  test('a map names stages by key and sets ${key}', async () => {
    const stages = await load('stages:\n  t:\n    foreach:\n      us: {thresh: 10}\n      uk: {thresh: 15}\n    do:\n      cmd: t ${key} ${item.thresh}\n');
    expect(stages.map((s) => [s.name, s.cmd[0]])).toEqual([
      ['t@us', 't us 10'],
      ['t@uk', 't uk 15'],
    ]);
  });

  test('the foreach value may come from params (which shape the stage set, so are no param dep)', async () => {
    const stages = await load('stages:\n  t:\n    foreach: ${models}\n    do:\n      cmd: t ${item}\n', 'models: [a, b]\n');
    expect(stages.map((s) => [s.name, s.params.map((p) => p.key)])).toEqual([
      ['t@a', []],
      ['t@b', []],
    ]);
  });

  test("keys(map) lists a map's names in file order, e.g. the options of a params group", async () => {
    const simple = await load('stages:\n  t:\n    foreach: ${keys(model)}\n    do:\n      cmd: t ${item} ${model.zeta.lr}\n  m:\n    matrix:\n      m: ${keys(model)}\n      f: [0, 1]\n    cmd: m ${item.m} ${item.f}\n', 'model:\n  zeta: {lr: 1}\n  alpha: {lr: 2}\n');
    expect(simple.map((s) => [s.name, s.cmd[0]])).toEqual([
      ['t@zeta', 't zeta 1'],
      ['t@alpha', 't alpha 1'],
      ['m@zeta-0', 'm zeta 0'],
      ['m@zeta-1', 'm zeta 1'],
      ['m@alpha-0', 'm alpha 0'],
      ['m@alpha-1', 'm alpha 1'],
    ]);
  });

  test('keys() of something that is not a map', async () => {
    const root = await project({ 'pipeline.yaml': 'stages:\n  t:\n    foreach: ${keys(xs)}\n    do:\n      cmd: t\n', 'params.yaml': 'xs: [a, b]\n' });
    expect(await loadErr(root)).toMatch(/^pipeline\.yaml:3:14: error: keys\(\) needs a map, got a list\n[^]*hint: pass a key path to a map/);
  });

  test('a foreach value that is not a list or map', async () => {
    const root = await project({ 'pipeline.yaml': 'stages:\n  t:\n    foreach: nope\n    do:\n      cmd: t\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:3:14: error: 'foreach' of stage 't' must be a list or a map",
        '  3 |     foreach: nope',
        '    |              ^^^^',
        '  hint: write foreach: [a, b], foreach: {a: 1, b: 2} or foreach: ${some.list}',
      ].join('\n'),
    );
  });
});

describe('matrix', () => {
  test('cartesian product in declaration order, first axis outermost', async () => {
    const stages = await load(
      'stages:\n  train:\n    matrix:\n      model: [logreg, cnn]\n      fold: [0, 1, 2]\n    cmd: train ${item.model} ${item.fold}\n    outs: [m/${item.model}/${item.fold}]\n',
    );
    expect(stages.map((s) => s.name)).toEqual([
      'train@logreg-0',
      'train@logreg-1',
      'train@logreg-2',
      'train@cnn-0',
      'train@cnn-1',
      'train@cnn-2',
    ]);
    expect(stages.map((s) => s.group)).toEqual(Array(6).fill('train'));
    expect(stages[4]!.cmd).toEqual(['train cnn 1']);
    expect(stages[4]!.outs[0]!.path).toBe('m/cnn/1');
  });

  test('map or list values are named <axis><index>', async () => {
    const stages = await load('stages:\n  t:\n    matrix:\n      cfg: [{lr: 1}, {lr: 2}]\n      seed: [7]\n    cmd: t ${item.cfg.lr} ${item.seed}\n');
    expect(stages.map((s) => [s.name, s.cmd[0]])).toEqual([
      ['t@cfg0-7', 't 1 7'],
      ['t@cfg1-7', 't 2 7'],
    ]);
  });

  test('an axis from ${range(split.k)} in params', async () => {
    const stages = await load('stages:\n  t:\n    matrix:\n      fold: ${range(split.k)}\n      m: [a]\n    cmd: t ${item.fold}\n', 'split:\n  k: 2\n');
    expect(stages.map((s) => [s.name, s.cmd, s.params.map((p) => [p.key, p.implicit])])).toEqual([
      ['t@0-a', ['t 0'], []],
      ['t@1-a', ['t 1'], []],
    ]);
  });

  test('an axis that is not a list', async () => {
    const root = await project({ 'pipeline.yaml': 'stages:\n  t:\n    matrix:\n      fold: 3\n    cmd: t\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:4:13: error: matrix axis 'fold' of stage 't' must be a list",
        '  4 |       fold: 3',
        '    |             ^',
        '  hint: write fold: [a, b] or fold: ${some.list}',
      ].join('\n'),
    );
  });

  test('matrix and foreach together', async () => {
    const root = await project({ 'pipeline.yaml': 'stages:\n  t:\n    foreach: [a]\n    matrix: {x: [1]}\n    do:\n      cmd: t\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:4:5: error: stage 't' has both 'foreach' and 'matrix'",
        '  4 |     matrix: {x: [1]}',
        '    |     ^^^^^^',
        '  hint: use one of them: matrix for a product of axes, foreach for one list or map',
      ].join('\n'),
    );
  });

  test('an empty axis gives no stages and a warning', async () => {
    const root = await project({ 'pipeline.yaml': 'stages:\n  t:\n    matrix: {x: []}\n    cmd: t\n' });
    const p = await loadOk(root);
    expect(p.stages).toEqual([]);
    expect(p.warnings.map((w) => w.message)).toEqual(["stage 't' expands to no stages"]);
  });
});
