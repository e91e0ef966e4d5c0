/**
 * `mlbuild ui` on a dvc.yaml project in the DVCLive layout, through the built CLI: the metrics
 * history reads the top-level metrics file inside a cached directory out (`dvclive/metrics.json`,
 * through each commit's lockfile and the cache) beside a stage's metric, the experiments keep
 * Python's NaN as exp show --json writes it, custom params files are columns as `file:key`, and
 * the plots answer carries image plots per revision. A stage DVC built (dvc.lock matching the
 * workspace) is up to date and adopted in the pipeline view, as `status --json` says.
 */
import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Project, cliBuilt } from './rig.js';
import { getJson, startUi, type UiServer } from './ui-rig.js';

const TRAIN = `import fs from 'node:fs';
const depth = Number(/depth: (\\d+)/.exec(fs.readFileSync('custom.yaml', 'utf8'))[1]);
fs.mkdirSync('dvclive/plots/images', { recursive: true });
// Python's json.dump writes NaN bare (allow_nan=True), as DVCLive's metrics may hold.
fs.writeFileSync('dvclive/metrics.json', '{"train": {"acc": ' + depth / 10 + '}, "val_loss": NaN}');
fs.writeFileSync('dvclive/plots/images/importance.png', Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('depth=' + depth)]));
fs.mkdirSync('eval', { recursive: true });
fs.writeFileSync('eval/metrics.json', JSON.stringify({ auc: depth / 8 }));
`;

const DVC_YAML = `stages:
  train:
    cmd: node train.mjs
    deps: [train.mjs]
    params:
      - custom.yaml:
          - model.depth
    outs:
      - dvclive
    metrics:
      - eval/metrics.json:
          cache: false
metrics:
  - dvclive/metrics.json
plots:
  - dvclive/plots/images
`;

describe('mlbuild ui on a DVCLive project (dvc.yaml top-level metrics and plots)', () => {
  let p: Project;
  let ui: UiServer;
  const shas: string[] = [];

  beforeAll(async () => {
    cliBuilt();
    p = new Project({ 'dvc.yaml': DVC_YAML, 'params.yaml': 'seed: 1\n', 'custom.yaml': 'model:\n  depth: 2\n', 'train.mjs': TRAIN });
    for (const depth of [2, 4]) {
      p.write({ 'custom.yaml': `model:\n  depth: ${depth}\n` });
      const r = await p.run(['-f', 'dvc.yaml', 'repro']);
      expect(r.code, r.stderr).toBe(0);
      p.commitAll(`depth ${depth}`);
      shas.push(p.git('rev-parse', 'HEAD').trim());
    }
    ui = await startUi(p, ['-f', 'dvc.yaml']);
  }, 120_000);

  afterAll(async () => {
    if (ui) expect(await ui.stop()).toBe(0);
    p?.cleanup();
  });

  it('metrics history: the top-level metric inside the cached dvclive/ out at each commit, beside the stage metric', async () => {
    const { status, body } = await getJson<{ metrics: string[]; points: { sha: string; file: string; metric: string; value: number }[]; warnings: string[] }>(`${ui.url}/api/metrics/history`);
    expect(status, JSON.stringify(body)).toBe(200);
    // NaN is not a point on a chart; the finite metrics of both files are.
    expect(body.metrics).toEqual(['dvclive/metrics.json:train.acc', 'eval/metrics.json:auc']);
    expect(body.points.map((x) => [x.sha, x.metric, x.value])).toEqual([
      [shas[1], 'eval/metrics.json:auc', 0.5],
      [shas[1], 'dvclive/metrics.json:train.acc', 0.4],
      [shas[0], 'eval/metrics.json:auc', 0.25],
      [shas[0], 'dvclive/metrics.json:train.acc', 0.2],
    ]);
    expect(body.warnings).toEqual([]);
    // One file of the history, by its path.
    const one = await getJson<{ metrics: string[] }>(`${ui.url}/api/metrics/history?file=dvclive/metrics.json`);
    expect(one.body.metrics).toEqual(['dvclive/metrics.json:train.acc']);
    expect((await getJson(`${ui.url}/api/metrics/history?file=dvclive/plots/images/importance.png`)).status).toBe(404);
  });

  it('experiments: NaN kept as exp show --json writes it, custom params as file:key', async () => {
    const { status, body } = await getJson<{ experiments: { name: string; params: Record<string, unknown>; metrics: Record<string, Record<string, unknown>> }[]; params: string[] }>(`${ui.url}/api/experiments`);
    expect(status, JSON.stringify(body)).toBe(200);
    const ws = body.experiments.find((e) => e.name === 'workspace')!;
    expect(ws.metrics['dvclive/metrics.json']).toEqual({ 'train.acc': 0.4, val_loss: 'NaN' });
    expect(ws.params).toMatchObject({ seed: 1, 'custom.yaml:model.depth': 4 });
    expect(body.params).toContain('custom.yaml:model.depth');
    const cli = await p.run(['-f', 'dvc.yaml', 'exp', 'show', '--json']);
    const fromCli = (JSON.parse(cli.stdout) as { experiments: { name: string; metrics: unknown }[] }).experiments.find((e) => e.name === 'workspace');
    expect(ws.metrics).toEqual(fromCli?.metrics);
  });

  it('plots: the image plot of the folder, one image per revision', async () => {
    const { status, body } = await getJson<{ plots: unknown[]; images: { id: string; revisions: { rev: string; mime: string; src: string }[] }[]; problems: unknown[] }>(
      `${ui.url}/api/plots?revs=${shas[0]},${shas[1]}`,
    );
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.problems).toEqual([]);
    expect(body.images.map((im) => im.id)).toEqual(['dvclive/plots/images/importance.png']);
    const revs = body.images[0]!.revisions;
    expect(revs.map((r) => [r.rev, r.mime])).toEqual([
      [shas[0], 'image/png'],
      [shas[1], 'image/png'],
    ]);
    expect(revs.map((r) => Buffer.from(r.src.split(',')[1]!, 'base64').subarray(8).toString())).toEqual(['depth=2', 'depth=4']);
  });
});

describe('mlbuild ui on a project DVC built (dvc.lock adoption)', () => {
  it('a stage whose dvc.lock entry matches the workspace is up to date and adopted, as status --json says', { timeout: 60_000 }, async () => {
    const md5 = (s: string): string => crypto.createHash('md5').update(s).digest('hex');
    const p = new Project({
      'dvc.yaml': 'stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    outs: [out.txt]\n',
      'in.txt': 'hello\n',
      'out.txt': 'hello\n',
      'dvc.lock': `schema: '2.0'\nstages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps:\n    - path: in.txt\n      hash: md5\n      md5: ${md5('hello\n')}\n      size: 6\n    outs:\n    - path: out.txt\n      hash: md5\n      md5: ${md5('hello\n')}\n      size: 6\n`,
    });
    const ui = await startUi(p, ['-f', 'dvc.yaml']);
    try {
      const { body } = await getJson<{ stages: { name: string; state: string; adopted: boolean; reasons: string[] }[] }>(`${ui.url}/api/pipeline`);
      expect(body.stages.map((s) => [s.name, s.state, s.adopted, s.reasons])).toEqual([['copy', 'up-to-date', true, []]]);
      const status = JSON.parse((await p.run(['-f', 'dvc.yaml', 'status', '--json'])).stdout) as { stages: { adopted: boolean; reasons: string[] }[] };
      expect(status.stages.map((s) => [s.adopted, s.reasons])).toEqual([[true, []]]);
      // A changed input is not adopted: the ui says stale, with status's reason.
      p.write({ 'in.txt': 'changed\n' });
      const after = await getJson<{ stages: { state: string; adopted: boolean; reasons: string[] }[] }>(`${ui.url}/api/pipeline`);
      expect(after.body.stages.map((s) => [s.state, s.adopted])).toEqual([['stale', false]]);
      expect(after.body.stages[0]!.reasons).toEqual((JSON.parse((await p.run(['-f', 'dvc.yaml', 'status', '--json'])).stdout) as { stages: { reasons: string[] }[] }).stages[0]!.reasons);
    } finally {
      expect(await ui.stop()).toBe(0);
      p.cleanup();
    }
  });
});
