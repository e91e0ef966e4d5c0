/** Custom params files (DVC's `params: [{custom.yaml: [a.b]}]`): parsing by extension, lookup, and how stages record them. */
import { spawnSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { fileParamKey, paramDepValue, parseParamsText } from '../../../src/config/param-files.js';
import { loadErr, loadOk, project, read } from './helpers.js';

describe('parseParamsText', () => {
  test('YAML, JSON and TOML give the same plain tree', () => {
    const want = { train: { lr: 0.1, layers: [64, 32], name: 'cnn', early: true } };
    expect(parseParamsText('train:\n  lr: 0.1\n  layers: [64, 32]\n  name: cnn\n  early: true\n', 'p.yaml')).toEqual({ ok: true, value: want });
    expect(parseParamsText(JSON.stringify(want), 'p.json')).toEqual({ ok: true, value: want });
    const toml = parseParamsText('[train]\nlr = 0.1\nlayers = [64, 32]\nname = "cnn"\nearly = true\n', 'p.toml');
    expect(toml).toEqual({ ok: true, value: want });
    // TOML tables come without a prototype; the tree must be plain objects like the others.
    expect(Object.getPrototypeOf((toml as unknown as { value: { train: object } }).value.train)).toBe(Object.prototype);
  });

  test('an empty file is an empty tree; a TOML date becomes its ISO text', () => {
    expect(parseParamsText('', 'p.yml')).toEqual({ ok: true, value: {} });
    expect(parseParamsText('when = 2024-01-02T03:04:05Z\n', 'p.toml')).toEqual({ ok: true, value: { when: '2024-01-02T03:04:05.000Z' } });
  });

  test('errors say what is wrong in one line', () => {
    expect(parseParamsText('lr: 1\n', 'p.txt')).toEqual({ ok: false, error: 'params files must end in .yaml, .yml, .json, .toml, .py' });
    expect(parseParamsText('[1, 2]', 'p.json')).toEqual({ ok: false, error: 'must hold a map of parameters at the top level' });
    const bad = parseParamsText('a = = 1', 'p.toml');
    expect(bad.ok).toBe(false);
    expect((bad as { error: string }).error).toMatch(/^cannot parse: /);
  });
});

// Python params, read by python3's ast as DVC does (the example of DVC's get-started project).
const PY = `# All standard variable types are supported.
BOOL = True
INT = 2
FLOAT = 0.001
STR = "abc"
DICT = {"a": 1, "b": 2}
LIST = [1, 2, 3]
SET = {4, 5}
TUPLE = (10, 102)
NONE = None
UNARY_OP = -3
lr: float = 0.1

# Complex expressions are skipped, never run.
DICT_EXP = dict(a=1, b=2)
import os
CWD = os.getcwd()

class TrainConfig:
    EPOCHS = 723

    def __init__(self):
        self.layers = 5
        self.layers = 11
        self.sum = 1 + 2
        bar = 3
`;

// Skipped without python3 outside CI; under CI=true (.ci/run installs it) it fails instead.
describe.skipIf(spawnSync('python3', ['--version']).status !== 0 && process.env.CI !== 'true')('Python params files', () => {
  test('literal assignments, class attributes and self.x in __init__, as DVC reads them', () => {
    expect(parseParamsText(PY, 'params.py')).toEqual({
      ok: true,
      value: { BOOL: true, INT: 2, FLOAT: 0.001, STR: 'abc', DICT: { a: 1, b: 2 }, LIST: [1, 2, 3], SET: [4, 5], TUPLE: [10, 102], NONE: null, UNARY_OP: -3, lr: 0.1, TrainConfig: { EPOCHS: 723, layers: 11 } },
    });
  });

  test('a syntax error names the line', () => {
    expect(parseParamsText('A = 1\nB = (\n', 'p.py')).toEqual({ ok: false, error: expect.stringMatching(/^cannot parse: line \d+: /) as unknown });
  });
});

test('without python3 a Python params file is refused with the reason', () => {
  const noPython = () => ({ ok: false as const, error: 'reading a Python params file needs python3 on PATH' });
  expect(parseParamsText('A = 1\n', 'p.py', noPython)).toEqual({ ok: false, error: 'reading a Python params file needs python3 on PATH' });
});

describe('params from other files in a stage', () => {
  test('{file: [keys]} and {file: null} give file:key deps whose values are looked up in that file', async () => {
    const root = await project({
      'dvc.yaml': 'stages:\n  train:\n    cmd: x\n    wdir: src\n    params:\n      - lr\n      - custom.yaml: [model.depth]\n      - ../conf/run.toml:\n',
      'params.yaml': 'lr: 0.1\n',
      'src/custom.yaml': 'model:\n  depth: 3\n  width: 9\n',
      'conf/run.toml': 'seed = 1\n[opt]\nname = "adam"\n',
    });
    const loaded = await loadOk(root, { file: 'dvc.yaml' });
    const deps = loaded.stages[0]!.params.map((p) => ({ key: p.key, file: p.file }));
    // Custom files are relative to the stage's wdir, as DVC reads them; the whole file tracks each top-level key.
    expect(deps).toEqual([
      { key: 'lr', file: undefined },
      { key: 'src/custom.yaml:model.depth', file: 'src/custom.yaml' },
      { key: 'conf/run.toml:seed', file: 'conf/run.toml' },
      { key: 'conf/run.toml:opt', file: 'conf/run.toml' },
    ]);
    expect(Object.keys(loaded.fileParams)).toEqual(['conf/run.toml', 'src/custom.yaml']);
    const value = (i: number) => paramDepValue(loaded.stages[0]!.params[i]!, loaded.params, loaded.fileParams);
    expect([value(0), value(1), value(3)]).toEqual([
      { found: true, value: 0.1 },
      { found: true, value: 3 },
      { found: true, value: { name: 'adam' } },
    ]);
    // The files are inputs of the resolved pipeline, so a change re-resolves it.
    expect(loaded.inputFiles.filter((f) => !f.endsWith('dvc.yaml') && !f.endsWith('params.yaml')).map((f) => f.slice(root.length + 1)).sort()).toEqual(['conf/run.toml', 'src/custom.yaml']);
    expect(fileParamKey('a.json', '')).toBe('a.json');
  });

  test('a missing key in a custom file suggests the close one', async () => {
    const root = await project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    params:\n      - p.json: [model.dept]\n', 'p.json': '{"model": {"depth": 3}}' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:5:18: error: param 'model.dept' of stage 'a' is not defined in p.json",
        '  5 |       - p.json: [model.dept]',
        '    |                  ^^^^^^^^^^',
        "  hint: did you mean 'model.depth'?",
      ].join('\n'),
    );
  });
});

describe('-S custom.yaml:key=value (DVC exp run -S file:key=value)', () => {
  const files = {
    'dvc.yaml': 'stages:\n  a:\n    cmd: x\n    params:\n      - custom.yaml: [model.depth]\n      - p.json: [lr]\n      - c.toml: [opt.momentum]\n',
    'custom.yaml': '# model settings\nmodel:\n  depth: 2   # layers\n  width: 8\n',
    'p.json': '{\n    "lr": 0.1,\n    "keep": [1, 2]\n}\n',
    'c.toml': '[opt]\nmomentum = 0.9\n',
  };

  test('the values the stage sees are overridden, and written back into each file (YAML keeps its comments)', async () => {
    const root = await project(files);
    const loaded = await loadOk(root, { file: 'dvc.yaml', overrides: ['custom.yaml:model.depth=5', 'p.json:lr=0.01', 'c.toml:opt.momentum=0.5', 'c.toml:opt.nesterov=true'], writeBack: true });
    const values = loaded.stages[0]!.params.map((p) => paramDepValue(p, loaded.params, loaded.fileParams));
    expect(values).toEqual([{ found: true, value: 5 }, { found: true, value: 0.01 }, { found: true, value: 0.5 }]);
    expect(await read(root, 'custom.yaml')).toBe('# model settings\nmodel:\n  depth: 5   # layers\n  width: 8\n');
    expect(await read(root, 'p.json')).toBe('{\n    "lr": 0.01,\n    "keep": [\n        1,\n        2\n    ]\n}\n');
    expect(parseParamsText(await read(root, 'c.toml'), 'c.toml')).toEqual({ ok: true, value: { opt: { momentum: 0.5, nesterov: true } } });
  });

  test('without write-back nothing is written; a file outside the project or missing is an error', async () => {
    const root = await project(files);
    await loadOk(root, { file: 'dvc.yaml', overrides: ['custom.yaml:model.depth=5'], writeBack: false });
    expect(await read(root, 'custom.yaml')).toBe(files['custom.yaml']);
    expect(await loadErr(root, { file: 'dvc.yaml', overrides: ['../x.yaml:a=1'] })).toContain("invalid -S override '../x.yaml:a=1': ../x.yaml is outside the project");
    expect(await loadErr(root, { file: 'dvc.yaml', overrides: ['other.yaml:a=1'], writeBack: true })).toContain('-S other.yaml:a=1: other.yaml not found');
  });
});
