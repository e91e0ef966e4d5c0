/**
 * The rest of dvc.yaml, end to end through the built CLI on a project in the DVCLive layout (a
 * `dvclive/` directory out holding metrics.json, plots/metrics/*.tsv, plots/sklearn/*.json and
 * images), in a git repo with history: top-level metrics and plots (folders and images included),
 * a metric declared inside a stage's directory out, params from custom YAML/TOML files, Python's
 * NaN/Infinity in metrics and plots, and the top-level artifacts.
 */
import { describe, expect, test } from 'vitest';
import { useProjects, type Project } from './rig.js';

const projects = useProjects();

/** Writes what DVCLive writes, from the params: a stand-in for a training script with `Live()`. */
const TRAIN = `import fs from 'node:fs';
const params = JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS, 'utf8'));
const depth = Number(/depth: (\\d+)/.exec(fs.readFileSync('custom.yaml', 'utf8'))[1]);
const seed = Number(/seed = (\\d+)/.exec(fs.readFileSync('config.toml', 'utf8'))[1]);
const epochs = params.train.epochs;
fs.mkdirSync('dvclive/plots/metrics/train', { recursive: true });
fs.mkdirSync('dvclive/plots/sklearn/roc', { recursive: true });
fs.mkdirSync('dvclive/plots/images', { recursive: true });
const loss = (e) => Number((1 / (e + depth)).toFixed(4));
// Python's json.dump writes these bare tokens (allow_nan=True): DVCLive's metrics and ROC files hold them.
fs.writeFileSync('dvclive/metrics.json', '{"train": {"loss": ' + loss(epochs - 1) + ', "acc": ' + (depth / 10) + '}, "step": ' + (epochs - 1) + ', "val_loss": NaN, "ratio": Infinity}');
fs.writeFileSync('dvclive/plots/metrics/train/loss.tsv', 'step\\tloss\\n' + Array.from({ length: epochs }, (_, e) => e + '\\t' + loss(e)).join('\\n') + '\\n');
fs.writeFileSync('dvclive/plots/sklearn/roc/train.json', '{"roc": [{"fpr": 0.0, "tpr": 0.0, "threshold": Infinity}, {"fpr": 0.1, "tpr": ' + (depth / 10) + ', "threshold": 0.5}, {"fpr": 1.0, "tpr": 1.0, "threshold": -Infinity}]}');
fs.writeFileSync('dvclive/plots/images/importance.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('depth=' + depth)]));
fs.writeFileSync('model.pkl', 'model depth=' + depth + ' seed=' + seed + '\\n');
`;

const EVALUATE = `import fs from 'node:fs';
fs.mkdirSync('eval', { recursive: true });
const model = fs.readFileSync('model.pkl', 'utf8');
fs.writeFileSync('eval/metrics.json', JSON.stringify({ auc: model.length / 100 }));
fs.writeFileSync('eval/predictions.csv', 'id,p\\n1,0.5\\n');
`;

const DVC_YAML = `stages:
  train:
    cmd: node train.mjs
    deps: [train.mjs]
    params:
      - train.epochs
      - custom.yaml:
          - model.depth
      - config.toml:
    outs:
      - model.pkl
      - dvclive
  evaluate:
    cmd: node evaluate.mjs
    deps: [evaluate.mjs, model.pkl]
    outs:
      - eval
    metrics:
      - eval/metrics.json:
          cache: false
metrics:
  - dvclive/metrics.json
params:
  - custom.yaml
plots:
  - dvclive/plots/metrics:
      x: step
  - dvclive/plots/sklearn/roc/train.json:
      template: simple
      x: fpr
      y: tpr
      title: ROC
  - dvclive/plots/images
artifacts:
  text-classifier:
    path: model.pkl
    type: model
    desc: Sentiment classifier
    labels: [nlp, baseline]
    meta:
      framework: none
`;

function dvcliveProject(): Project {
  return projects.make({
    'dvc.yaml': DVC_YAML,
    'params.yaml': 'train:\n  epochs: 3\n',
    'custom.yaml': 'model:\n  depth: 2\n  unused: 1\n',
    'config.toml': '[run]\nseed = 7\n',
    'train.mjs': TRAIN,
    'evaluate.mjs': EVALUATE,
  });
}

const F = ['-f', 'dvc.yaml'];

/** `mlbuild -f dvc.yaml repro --json` (the global -f goes before the command: `repro -f` is --force). */
async function repro(p: Project): Promise<{ outcomes: Record<string, string>; stderr: string }> {
  const r = await p.run([...F, 'repro', '--json']);
  const doc = JSON.parse(r.stdout || '{"stages": []}') as { stages: { name: string; outcome: string }[] };
  return { outcomes: Object.fromEntries(doc.stages.map((s) => [s.name, s.outcome])), stderr: r.stderr };
}

async function json(p: Project, args: string[]): Promise<unknown> {
  const r = await p.run([...F, ...args]);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout) as unknown;
}

describe('dvc.yaml top-level metrics, plots, params and artifacts (DVCLive layout)', () => {
  test('metrics show/diff, params diff, status reasons, plots diff with an image, exp show columns, artifacts', async () => {
    const p = dvcliveProject();
    const first = await repro(p);
    expect(first.outcomes, first.stderr).toEqual({ train: 'succeeded', evaluate: 'succeeded' });
    p.commitAll('first run');
    // Custom-file params are locked like the project's, keyed file:key.
    expect(p.read('mlbuild.lock')).toContain(['      config.toml:run:', '        seed: 7', '      custom.yaml:model.depth: 2', '      train.epochs: 3'].join('\n'));

    // Top-level metrics (inside the cached dvclive/ out) and a stage metric inside the eval/ out.
    const shown = (await json(p, ['metrics', 'show', '--json'])) as Record<string, Record<string, unknown>>;
    expect(Object.keys(shown)).toEqual(['eval/metrics.json', 'dvclive/metrics.json']);
    // NaN and Infinity are read, and written in JSON as strings (strict JSON has no such numbers).
    expect(shown['dvclive/metrics.json']).toEqual({ 'train.loss': 0.25, 'train.acc': 0.2, step: 2, val_loss: 'NaN', ratio: 'Infinity' });
    const table = await p.run([...F, 'metrics', 'show']);
    expect(table.stdout).toMatch(/^dvclive\/metrics\.json\s+val_loss\s+NaN$/m);
    expect(table.stdout).toMatch(/^dvclive\/metrics\.json\s+ratio\s+Infinity$/m);

    // A change in a custom params file is named, with its file.
    p.write({ 'custom.yaml': 'model:\n  depth: 4\n  unused: 1\n', 'config.toml': '[run]\nseed = 8\n' });
    const status = (await json(p, ['status', '--json'])) as { stages: { name: string; reasons: string[] }[] };
    expect(status.stages.find((s) => s.name === 'train')?.reasons).toEqual(['changed params: custom.yaml:model.depth, config.toml:run']);
    // A key of the file the stage does not use changes nothing.
    p.write({ 'custom.yaml': 'model:\n  depth: 2\n  unused: 5\n', 'config.toml': '[run]\nseed = 7\n' });
    const quiet = (await json(p, ['status', '--json'])) as { up_to_date: boolean };
    expect(quiet.up_to_date).toBe(true);

    p.write({ 'custom.yaml': 'model:\n  depth: 4\n  unused: 5\n' });
    const second = await repro(p);
    expect(second.outcomes).toEqual({ train: 'succeeded', evaluate: 'succeeded' });
    p.commitAll('deeper model');

    // metrics diff across two commits, reading both dvclive/metrics.json through the lock and the cache.
    const diff = (await json(p, ['metrics', 'diff', 'HEAD~1', 'HEAD', '--json'])) as Record<string, Record<string, { old: unknown; new: unknown; diff?: number }>>;
    expect(diff['dvclive/metrics.json']).toEqual({
      'train.loss': { old: 0.25, new: 0.1667, diff: -0.0833 },
      'train.acc': { old: 0.2, new: 0.4, diff: 0.2 },
    });
    expect(Object.keys(diff['eval/metrics.json'] ?? {})).toEqual([]);

    // params diff: the project params and the custom files (stage-declared and top-level), as file:key.
    const pdiff = (await json(p, ['params', 'diff', 'HEAD~1', 'HEAD', '--json'])) as Record<string, unknown>;
    expect(pdiff).toEqual({
      'custom.yaml:model.depth': { old: 2, new: 4, diff: 2 },
      'custom.yaml:model.unused': { old: 1, new: 5, diff: 4 },
    });

    // plots diff: the plot folder expanded per file, the ROC with its Infinity thresholds, the image per revision.
    const plots = (await json(p, ['plots', 'diff', 'HEAD~1', 'HEAD', '--json'])) as {
      plots: { id: string; title: string; series: string[]; datapoints: Record<string, unknown>[] }[];
      images: { id: string; revisions: { rev: string; mime: string; src: string }[] }[];
      problems: unknown[];
    };
    expect(plots.problems).toEqual([]);
    expect(plots.plots.map((x) => x.id)).toEqual(['dvclive/plots/metrics/train/loss.tsv', 'dvclive/plots/sklearn/roc/train.json']);
    const loss = plots.plots[0]!;
    expect(loss.series).toEqual(['HEAD~1', 'HEAD']);
    expect(loss.datapoints.filter((d) => d.rev === 'HEAD').map((d) => d.y)).toEqual([0.25, 0.2, 0.1667]);
    const roc = plots.plots[1]!;
    expect(roc.title).toBe('ROC');
    expect(roc.datapoints.filter((d) => d.rev === 'HEAD~1').map((d) => d.y)).toEqual([0, 0.2, 1]);
    expect(plots.images.map((im) => im.id)).toEqual(['dvclive/plots/images/importance.png']);
    const image = plots.images[0]!;
    expect(image.revisions.map((r) => [r.rev, r.mime])).toEqual([['HEAD~1', 'image/png'], ['HEAD', 'image/png']]);
    expect(image.revisions.map((r) => Buffer.from(r.src.split(',')[1]!, 'base64').subarray(8).toString())).toEqual(['depth=2', 'depth=4']);

    // The HTML page shows both revisions of the image side by side.
    const page = await p.run([...F, 'plots', 'diff', 'HEAD~1', 'HEAD', '-o', 'report']);
    expect(page.code, page.stderr).toBe(0);
    const html = p.read('report/index.html');
    const figures = /data-image="dvclive\/plots\/images\/importance\.png">(.*?)<\/div>/.exec(html)?.[1] ?? '';
    expect([...figures.matchAll(/<figcaption>([^<]+)<\/figcaption>/g)].map((m) => m[1])).toEqual(['HEAD~1', 'HEAD']);

    // exp show: columns from the top-level metrics and the custom params.
    const exp = await p.run([...F, 'exp', 'show']);
    expect(exp.code, exp.stderr).toBe(0);
    const header = exp.stdout.split('\n')[0]!.split(/\s+/);
    expect(header).toEqual(expect.arrayContaining(['train.loss', 'train.acc', 'val_loss', 'ratio', 'auc']));
    const expJson = (await json(p, ['exp', 'show', '--json'])) as { experiments: { name: string; params: Record<string, unknown>; metrics: Record<string, Record<string, unknown>> }[] };
    const ws = expJson.experiments.find((e) => e.name === 'workspace')!;
    expect(ws.metrics['dvclive/metrics.json']).toMatchObject({ 'train.acc': 0.4, val_loss: 'NaN' });
    expect(ws.params).toMatchObject({ 'train.epochs': 3, 'custom.yaml:model.depth': 4, 'config.toml:run.seed': 7 });

    // artifacts: the top-level artifacts with the stage that makes each.
    const arts = (await json(p, ['artifacts', '--json'])) as unknown;
    expect(arts).toEqual({
      version: 1,
      artifacts: [{ name: 'text-classifier', path: 'model.pkl', type: 'model', desc: 'Sentiment classifier', labels: ['nlp', 'baseline'], meta: { framework: 'none' }, stage: 'train' }],
    });
    // The model registry takes an artifact's path from artifacts: when --path is not given.
    const reg = await p.run([...F, 'model', 'register', 'text-classifier', '--json']);
    expect(reg.code, reg.stderr).toBe(0);
    expect(JSON.parse(reg.stdout)).toMatchObject({ tag: 'text-classifier@v0.0.1', path: 'model.pkl' });
    const artTable = await p.run([...F, 'artifacts']);
    expect(artTable.stdout.split('\n').slice(0, 2)).toEqual([
      'Name             Path       Type   Stage  Labels         Desc                  Meta',
      'text-classifier  model.pkl  model  train  nlp, baseline  Sentiment classifier  {"framework":"none"}',
    ]);
  });

  test('a plot file inside a declared plot folder is a target with the folder options; pipeline.yaml takes the same keys', async () => {
    const p = projects.make({
      'pipeline.yaml': DVC_YAML,
      'params.yaml': 'train:\n  epochs: 2\n',
      'custom.yaml': 'model:\n  depth: 1\n',
      'config.toml': '[run]\nseed = 1\n',
      'train.mjs': TRAIN,
      'evaluate.mjs': EVALUATE,
    });
    const r = await p.repro();
    expect(r.outcomes, r.stderr).toEqual({ train: 'succeeded', evaluate: 'succeeded' });
    const shown = await p.run(['plots', 'show', 'dvclive/plots/metrics/train/loss.tsv', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    const doc = JSON.parse(shown.stdout) as { plots: { id: string; datapoints: { x: unknown; y: unknown }[] }[] };
    expect(doc.plots.map((x) => x.id)).toEqual(['dvclive/plots/metrics/train/loss.tsv']);
    expect(doc.plots[0]!.datapoints.map((d) => [d.x, d.y])).toEqual([[0, 1], [1, 0.5]]);

    // -S file:key=value, as `dvc exp run -S` takes it: written into the file, the stage reruns with it.
    const s = await p.repro(['-S', 'custom.yaml:model.depth=3']);
    expect(s.outcomes, s.stderr).toEqual({ train: 'succeeded', evaluate: 'succeeded' });
    expect(p.read('custom.yaml')).toBe('model:\n  depth: 3\n');
    expect(p.read('model.pkl')).toBe('model depth=3 seed=1\n');
  });

  test('a top-level metrics folder committed to git: every metrics file below it, at each revision', async () => {
    const p = projects.make({
      'dvc.yaml': 'metrics:\n  - reports\nstages:\n  noop:\n    cmd: echo\n',
      'reports/train.json': '{"loss": 0.5}',
      'reports/eval/scores.yaml': 'f1: 0.7\n',
      'reports/notes.txt': 'not a metrics file\n',
    });
    p.commitAll('first');
    p.write({ 'reports/train.json': '{"loss": 0.25}', 'reports/extra.toml': 'auc = 0.9\n' });
    const diff = (await json(p, ['metrics', 'diff', '--json'])) as Record<string, Record<string, { old: unknown; new: unknown; diff?: number }>>;
    expect(diff).toEqual({
      'reports/train.json': { loss: { old: 0.5, new: 0.25, diff: -0.25 } },
      'reports/extra.toml': { auc: { old: null, new: 0.9 } },
    });
    const shown = await p.run([...F, 'metrics', 'show', '--md']);
    expect(shown.stdout).toBe(
      ['| Path | Metric | Value |', '|---|---|---|', '| reports/eval/scores.yaml | f1 | 0.7 |', '| reports/extra.toml | auc | 0.9 |', '| reports/train.json | loss | 0.25 |', ''].join('\n'),
    );
  });

  test("the stage-less dvc.yaml DVCLive writes itself (metrics, plots, params, artifacts) is read as is", async () => {
    const p = projects.make({
      'dvc.yaml': 'metrics:\n- dvclive/metrics.json\nplots:\n- dvclive/plots/metrics:\n    x: step\nparams:\n- params.yaml\nartifacts:\n  model:\n    path: model.pkl\n    type: model\n',
      'params.yaml': 'lr: 0.1\n',
      'dvclive/metrics.json': '{"acc": 0.5, "loss": NaN}',
      'dvclive/plots/metrics/acc.tsv': 'step\tacc\n0\t0.25\n1\tnan\n2\t0.5\n',
    });
    expect(await json(p, ['metrics', 'show', '--json'])).toEqual({ 'dvclive/metrics.json': { acc: 0.5, loss: 'NaN' } });
    const plots = (await json(p, ['plots', 'show', '--json'])) as { plots: { id: string; datapoints: { x: unknown; y: unknown }[] }[] };
    expect(plots.plots.map((x) => [x.id, x.datapoints.map((d) => d.y)])).toEqual([['dvclive/plots/metrics/acc.tsv', [0.25, 'NaN', 0.5]]]);
    expect(((await json(p, ['artifacts', '--json'])) as { artifacts: { name: string; stage: unknown }[] }).artifacts).toMatchObject([{ name: 'model', stage: null }]);
  });

  test('unsupported dvc.yaml content is a located error on every command, never ignored', async () => {
    const p = projects.make({
      'dvc.yaml': 'stages:\n  a:\n    cmd: echo\n    params:\n      - settings.ini: [lr]\ndatasets:\n  - name: x\nplots:\n  - loss.tsv: {x: step, colour: red}\n',
      'settings.ini': 'lr = 0.1\n',
    });
    for (const args of [['status'], ['metrics', 'show'], ['artifacts'], ['repro', '--dry']]) {
      const r = await p.run([...F, ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain("dvc.yaml:5:9: error: params file 'settings.ini' of stage 'a': params files must end in .yaml, .yml, .json, .toml, .py");
      expect(r.stderr).toContain("dvc.yaml:6:1: error: top-level 'datasets' is not supported by mlbuild");
      expect(r.stderr).toContain("dvc.yaml:9:25: error: unknown key 'colour' in top-level plot 'loss.tsv'");
    }
  });
});
