/**
 * Golden diagnostics: the exact text users see for each config error (file:line:col, source line,
 * caret, hint), and that every error of every file is reported in one go.
 */
import { describe, expect, test } from 'vitest';
import { loadErr, project } from './helpers.js';

const pipeline = (text: string, more: Record<string, string> = {}): Promise<string> => project({ 'pipeline.yaml': text, ...more });

describe('pipeline.yaml errors', () => {
  test('unknown stage key, with a suggestion (and no extra "missing cmd")', async () => {
    const root = await pipeline('stages:\n  train:\n    cmdd: python train.py\n    outs: [model.pkl]\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:3:5: error: unknown key 'cmdd' in stage 'train'",
        '  3 |     cmdd: python train.py',
        '    |     ^^^^',
        "  hint: did you mean 'cmd'?",
      ].join('\n'),
    );
  });

  test('unknown top-level key', async () => {
    const root = await pipeline('stage:\n  a:\n    cmd: x\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:1:1: error: unknown key 'stage' in pipeline.yaml",
        '  1 | stage:',
        '    | ^^^^^',
        "  hint: did you mean 'stages'?",
      ].join('\n'),
    );
  });

  test('wrong types, all reported in file order', async () => {
    const root = await pipeline(
      'stages:\n  train:\n    cmd: python train.py\n    frozen: "yes"\n    deps: data.csv\n    resources: {cpus: 0, gpus: two, memory: lots}\n    retries: -1\n    timeout: soon\n',
    );
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:4:13: error: 'frozen' of stage 'train' must be true or false, got the string 'yes'",
        '  4 |     frozen: "yes"',
        '    |             ^^^^^',
        '  hint: write frozen: true',
        '',
        "pipeline.yaml:5:11: error: 'deps' of stage 'train' must be a list of paths, got the string 'data.csv'",
        '  5 |     deps: data.csv',
        '    |           ^^^^^^^^',
        '  hint: write deps: [path/to/file, path/to/folder]',
        '',
        "pipeline.yaml:6:23: error: 'resources.cpus' of stage 'train' must be at least 1, got 0",
        '  6 |     resources: {cpus: 0, gpus: two, memory: lots}',
        '    |                       ^',
        '  hint: write e.g. cpus: 2',
        '',
        "pipeline.yaml:6:32: error: 'resources.gpus' of stage 'train' must be an integer >= 0, got the string 'two'",
        '  6 |     resources: {cpus: 0, gpus: two, memory: lots}',
        '    |                                ^^^',
        '  hint: write e.g. gpus: 1',
        '',
        "pipeline.yaml:6:45: error: 'resources.memory' of stage 'train' must be a size like 4G or 512M, or a number of MiB",
        '  6 |     resources: {cpus: 0, gpus: two, memory: lots}',
        '    |                                             ^^^^',
        '  hint: write e.g. memory: 8G',
        '',
        "pipeline.yaml:7:14: error: 'retries' of stage 'train' must be at least 0, got -1",
        '  7 |     retries: -1',
        '    |              ^^',
        '  hint: write e.g. retries: 2',
        '',
        "pipeline.yaml:8:14: error: 'timeout' of stage 'train' must be a positive number of seconds or a duration like 90s, 10m, 2h",
        '  8 |     timeout: soon',
        '    |              ^^^^',
        '  hint: write e.g. timeout: 10m',
      ].join('\n'),
    );
  });

  test('several errors in several stages of one file come together', async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: x\n    dep: [a]\n  b:\n    outs: [b]\n  c:\n    cmd: [1]\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:4:5: error: unknown key 'dep' in stage 'a'",
        '  4 |     dep: [a]',
        '    |     ^^^',
        "  hint: did you mean 'deps'?",
        '',
        "pipeline.yaml:5:3: error: stage 'b' has no 'cmd'",
        '  5 |   b:',
        '    |   ^',
        '  hint: add cmd: <command to run> (a string or a list of strings)',
        '',
        "pipeline.yaml:8:11: error: each item of 'cmd' of stage 'c' must be a string, got the number 1",
        '  8 |     cmd: [1]',
        '    |           ^',
        '  hint: write cmd: python train.py, or a list of commands',
      ].join('\n'),
    );
  });

  test('malformed YAML carries the parser position', async () => {
    const root = await pipeline('stages:\n  train:\n    cmd: python train.py\n    outs: [model.pkl\n  eval:\n    cmd: x\n');
    expect(await loadErr(root)).toBe(
      [
        'pipeline.yaml:5:3: error: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]',
        '  5 |   eval:',
        '    |   ^',
        '  hint: check the indentation and the brackets/quotes on this line',
      ].join('\n'),
    );
  });

  test('duplicate key', async () => {
    const root = await pipeline('stages:\n  train:\n    cmd: a\n    cmd: b\n');
    expect(await loadErr(root)).toBe(
      [
        'pipeline.yaml:4:5: error: invalid YAML: Map keys must be unique',
        '  4 |     cmd: b',
        '    |     ^^^',
        '  hint: each key may appear only once in a mapping; remove or rename one of them',
      ].join('\n'),
    );
  });

  test('missing pipeline file', async () => {
    const root = await project({});
    expect(await loadErr(root)).toBe(
      ['error: pipeline file not found: pipeline.yaml', '  hint: create pipeline.yaml with a stages: map, or name another file with -f'].join('\n'),
    );
  });

  test('undefined variables are named, with a suggestion when one is close', async () => {
    const root = await pipeline('stages:\n  train:\n    cmd: python train.py --lr ${train.lrr} --x ${nope}\n', { 'params.yaml': 'train:\n  lr: 0.1\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:3:31: error: undefined variable 'train.lrr'",
        '  3 |     cmd: python train.py --lr ${train.lrr} --x ${nope}',
        '    |                               ^^^^^^^^^^^^',
        "  hint: did you mean 'train.lr'?",
        '',
        "pipeline.yaml:3:48: error: undefined variable 'nope'",
        '  3 |     cmd: python train.py --lr ${train.lrr} --x ${nope}',
        '    |                                                ^^^^^^^',
        "  hint: define 'nope' in the params files (params.yaml or params/) or under vars:",
      ].join('\n'),
    );
  });

  test('an undefined variable in a foreach body is reported once, not per instance', async () => {
    const root = await pipeline('stages:\n  a:\n    foreach: [x, y]\n    do:\n      cmd: echo ${item} ${missing}\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:5:25: error: undefined variable 'missing'",
        '  5 |       cmd: echo ${item} ${missing}',
        '    |                         ^^^^^^^^^^',
        "  hint: define 'missing' in the params files (params.yaml or params/) or under vars:",
      ].join('\n'),
    );
  });

  test('missing params keys', async () => {
    const root = await pipeline('stages:\n  train:\n    cmd: python train.py\n    params: [train.lr, train.epochs, trian]\n', { 'params.yaml': 'train:\n  lr: 0.1\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:4:24: error: param 'train.epochs' of stage 'train' is not defined in the params files",
        '  4 |     params: [train.lr, train.epochs, trian]',
        '    |                        ^^^^^^^^^^^^',
        "  hint: define 'train.epochs' in params/base.yaml or params.yaml, or remove it from params",
        '',
        "pipeline.yaml:4:38: error: param 'trian' of stage 'train' is not defined in the params files",
        '  4 |     params: [train.lr, train.epochs, trian]',
        '    |                                      ^^^^^',
        "  hint: did you mean 'train'?",
      ].join('\n'),
    );
  });

  test('an out outside the project', async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: x\n    deps: [../ext.csv]\n    outs: [../model.pkl]\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:5:12: error: out '../model.pkl' of stage 'a' is outside the project",
        '  5 |     outs: [../model.pkl]',
        '    |            ^^^^^^^^^^^^',
        '  hint: outputs must lie inside the project folder (below the pipeline file); write a path like data/out.csv',
      ].join('\n'),
    );
  });

  test('a list interpolated inside a string', async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: echo ${xs}\n', { 'params.yaml': 'xs: [1, 2]\n' });
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:3:15: error: cannot put a list inside a string: '${xs}'",
        '  3 |     cmd: echo ${xs}',
        '    |               ^^^^^',
        '  hint: reference a single value (e.g. a key inside it), or make the whole value just this ${...}',
      ].join('\n'),
    );
  });

  test('an unclosed ${', async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: echo ${oops\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:3:15: error: unclosed '${' in 'echo ${oops'",
        '  3 |     cmd: echo ${oops',
        '    |               ^^^^^^',
        "  hint: write '${name}', or '\\${' for a literal '${'",
      ].join('\n'),
    );
  });

  test('foreach without do, and keys beside foreach', async () => {
    const root = await pipeline('stages:\n  a:\n    foreach: [1, 2]\n    cmd: x ${item}\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:3:5: error: stage 'a' uses 'foreach' but has no 'do:' block",
        '  3 |     foreach: [1, 2]',
        '    |     ^^^^^^^',
        '  hint: put the stage keys (cmd, deps, outs, ...) under do:',
        '',
        "pipeline.yaml:4:5: error: 'cmd' must go under 'do:' when stage 'a' uses 'foreach'",
        '  4 |     cmd: x ${item}',
        '    |     ^^^',
        "  hint: indent 'cmd' under do:",
      ].join('\n'),
    );
  });

  test('duplicate expanded names', async () => {
    const root = await pipeline('stages:\n  a:\n    foreach: [1, "1"]\n    do:\n      cmd: x\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:2:3: error: stage 'a' expands to the name 'a@1' twice",
        '  2 |   a:',
        '    |   ^',
        '  hint: make its foreach/matrix values unique',
      ].join('\n'),
    );
  });

  test('an out entry whose options are not indented under the path', async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: x\n    outs:\n      - m.pkl:\n        cache: false\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:5:9: error: each entry of 'outs' in stage 'a' must be a path or a one-key map {path: {options}}",
        '  5 |       - m.pkl:',
        '    |         ^^^^^^',
        '  hint: write - model.pkl: {cache: false}, with the options indented under the path',
      ].join('\n'),
    );
  });

  test('an unknown out option', async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: x\n    outs:\n      - m.pkl: {cahce: false}\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:5:17: error: unknown key 'cahce' in the options of outs entry 'm.pkl'",
        '  5 |       - m.pkl: {cahce: false}',
        '    |                 ^^^^^',
        "  hint: did you mean 'cache'?",
      ].join('\n'),
    );
  });

  test('an invalid stage name', async () => {
    const root = await pipeline('stages:\n  a@b:\n    cmd: x\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:2:3: error: invalid stage name 'a@b'",
        '  2 |   a@b:',
        '    |   ^^^',
        "  hint: stage names may not be empty or contain '@', '/', '\\' or ':'",
      ].join('\n'),
    );
  });

  test('a custom params file that is missing, in Python, or lacks the key', async () => {
    const root = await pipeline(
      'stages:\n  a:\n    cmd: x\n    params:\n      - custom.yaml: [lr]\n      - conf.py: [lr]\n      - train.toml: [optim.lr]\n',
      { 'train.toml': '[optim]\nlearning_rate = 0.1\n' },
    );
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:5:9: error: params file 'custom.yaml' of stage 'a': not found",
        '  5 |       - custom.yaml: [lr]',
        '    |         ^^^^^^^^^^^',
        '  hint: create custom.yaml or fix the file name',
        '',
        "pipeline.yaml:6:9: error: params file 'conf.py' of stage 'a': not found",
        '  6 |       - conf.py: [lr]',
        '    |         ^^^^^^^',
        '  hint: create conf.py or fix the file name',
        '',
        "pipeline.yaml:7:22: error: param 'optim.lr' of stage 'a' is not defined in train.toml",
        '  7 |       - train.toml: [optim.lr]',
        '    |                      ^^^^^^^^',
        "  hint: define 'optim.lr' in train.toml, or remove it from params",
      ].join('\n'),
    );
  });

  test('a params file of another format is refused by name, a broken JSON one with the parser message', async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: x\n    params:\n      - conf.ini: [lr]\n      - p.json:\n', { 'conf.ini': 'lr = 0.1\n', 'p.json': '{"lr": }' });
    const text = await loadErr(root);
    expect(text).toContain(
      [
        "pipeline.yaml:5:9: error: params file 'conf.ini' of stage 'a': params files must end in .yaml, .yml, .json, .toml, .py",
        '  5 |       - conf.ini: [lr]',
        '    |         ^^^^^^^^',
        '  hint: fix conf.ini',
      ].join('\n'),
    );
    expect(text).toMatch(/^pipeline\.yaml:6:9: error: params file 'p\.json' of stage 'a': cannot parse: .+$/m);
  });

  test("an out's remote: and push: false are refused, not ignored", async () => {
    const root = await pipeline('stages:\n  a:\n    cmd: x\n    outs:\n      - big.bin: {remote: archive}\n      - model.pkl: {push: false}\n      - ok.bin: {push: true, desc: fine, type: model, labels: [a], meta: {x: 1}}\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:5:27: error: 'remote' of outs entry 'big.bin' is not supported by mlbuild: every out goes to the default remote",
        '  5 |       - big.bin: {remote: archive}',
        '    |                           ^^^^^^^',
        '  hint: remove remote:, or make that remote the default (mlbuild remote default NAME)',
        '',
        "pipeline.yaml:6:27: error: 'push: false' of outs entry 'model.pkl' is not supported by mlbuild: push uploads every cached out",
        '  6 |       - model.pkl: {push: false}',
        '    |                           ^^^^^',
        '  hint: remove push: false, or declare the out with cache: false to keep it out of the cache and the remote',
      ].join('\n'),
    );
  });

  test("top-level 'datasets' is refused, not ignored", async () => {
    const root = await pipeline('datasets:\n  - name: reviews\n    url: dvc://x\nstages:\n  a:\n    cmd: x\n');
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:1:1: error: top-level 'datasets' is not supported by mlbuild (DVC resolves them through DVC Studio)",
        '  1 | datasets:',
        '    | ^^^^^^^^',
        '  hint: declare the data as a stage dep instead (a path in the project, tracked by git or a .dvc file), then remove datasets:',
      ].join('\n'),
    );
  });

  test('bad top-level metrics, params and artifacts entries, each located', async () => {
    const root = await pipeline(
      [
        'metrics: dvclive/metrics.json',
        'params:',
        '  - ../outside.yaml',
        'artifacts:',
        '  Bad_Name:',
        '    path: model.pkl',
        '  model:',
        '    type: model',
        '  clf:',
        '    path: m.pkl',
        '    labels: nlp',
        '    owner: me',
        'stages:',
        '  a:',
        '    cmd: x',
        '',
      ].join('\n'),
    );
    expect(await loadErr(root)).toBe(
      [
        "pipeline.yaml:1:10: error: the top-level 'metrics' must be a list of paths, got the string 'dvclive/metrics.json'",
        '  1 | metrics: dvclive/metrics.json',
        '    |          ^^^^^^^^^^^^^^^^^^^^',
        '  hint: write metrics: then - path on each line',
        '',
        "pipeline.yaml:3:5: error: params file '../outside.yaml' is outside the project",
        '  3 |   - ../outside.yaml',
        '    |     ^^^^^^^^^^^^^^^',
        '  hint: name a path inside the project, relative to the pipeline file',
        '',
        "pipeline.yaml:5:3: error: invalid artifact name 'Bad_Name'",
        '  5 |   Bad_Name:',
        '    |   ^^^^^^^^',
        "  hint: use lowercase letters and digits, with '-' or '/' as separators (not first or last), e.g. text-classifier",
        '',
        "pipeline.yaml:7:3: error: artifact 'model' has no 'path'",
        '  7 |   model:',
        '    |   ^^^^^',
        '  hint: add path: models/model.pkl (relative to the pipeline file) or a URL',
        '',
        "pipeline.yaml:12:5: error: unknown key 'owner' in artifact 'clf'",
        '  12 |     owner: me',
        '     |     ^^^^^',
        '  hint: allowed keys: path, type, desc, labels, meta',
      ].join('\n'),
    );
  });

  test('a missing vars file', async () => {
    const root = await pipeline('vars:\n  - extra.yaml\nstages:\n  a:\n    cmd: x\n');
    expect(await loadErr(root)).toBe(
      [
        'pipeline.yaml:2:5: error: vars file not found: extra.yaml',
        '  2 |   - extra.yaml',
        '    |     ^^^^^^^^^^',
        '  hint: create extra.yaml or remove it from vars',
      ].join('\n'),
    );
  });
});

describe('params errors', () => {
  const groups = {
    'params/model/logreg.yaml': 'lr: 1\n',
    'params/model/cnn.yaml': 'lr: 2\n',
    'pipeline.yaml': 'stages:\n  a:\n    cmd: x ${model.lr}\n',
  };

  test('a defaults entry naming a missing option lists the available ones (and hides the follow-on undefined var)', async () => {
    const root = await project({ ...groups, 'params/base.yaml': 'defaults:\n  - model: rnn\n' });
    expect(await loadErr(root)).toBe(
      [
        "params/base.yaml:2:12: error: params group 'model' has no option 'rnn'",
        '  2 |   - model: rnn',
        '    |            ^^^',
        '  hint: available options: cnn, logreg (params/model/*.yaml)',
      ].join('\n'),
    );
  });

  test('-S with an unknown option, and bad -S syntax', async () => {
    const root = await project({ ...groups, 'params/base.yaml': 'defaults:\n  - model: cnn\n' });
    expect(await loadErr(root, { overrides: ['model=rnn', 'oops', '=3'] })).toBe(
      [
        "error: -S model=rnn: params group 'model' has no option 'rnn'",
        '  hint: available options: cnn, logreg (params/model/*.yaml)',
        '',
        "error: invalid -S override 'oops': expected KEY=VALUE or GROUP=OPTION",
        '  hint: write e.g. -S train.lr=0.01 or -S model=cnn (several options: -S model=logreg,cnn)',
        '',
        "error: invalid -S override '=3': expected KEY=VALUE or GROUP=OPTION",
        '  hint: write e.g. -S train.lr=0.01 or -S model=cnn (several options: -S model=logreg,cnn)',
      ].join('\n'),
    );
  });

  test('errors in params and pipeline files are reported together', async () => {
    const root = await project({
      'params.yaml': 'a: 1\n',
      'params/base.yaml': 'defaults:\n  - nogroup: x\n',
      'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n    outz: [y]\n',
    });
    expect(await loadErr(root)).toBe(
      [
        "params/base.yaml:2:5: error: params group 'nogroup' not found: there is no folder params/nogroup/",
        '  2 |   - nogroup: x',
        '    |     ^^^^^^^',
        '  hint: create params/nogroup/<option>.yaml or remove this entry from defaults',
        '',
        "pipeline.yaml:4:5: error: unknown key 'outz' in stage 'a'",
        '  4 |     outz: [y]',
        '    |     ^^^^',
        "  hint: did you mean 'outs'?",
      ].join('\n'),
    );
  });

  test('a params file that is not a map', async () => {
    const root = await project({ 'params.yaml': '- 1\n- 2\n', 'pipeline.yaml': 'stages: {}\n' });
    expect(await loadErr(root)).toBe(
      [
        'params.yaml:1:1: error: params.yaml must hold a map of parameters',
        '  1 | - 1',
        '    | ^^^',
        '  hint: write keys at the top level, e.g. `lr: 0.1`',
      ].join('\n'),
    );
  });
});
