/** The top-level metrics, params and artifacts of a pipeline file, and metrics declared inside a stage's directory out. */
import { describe, expect, test } from 'vitest';
import { loadOk, project } from './helpers.js';

describe('top-level sections', () => {
  test('paths are relative to the pipeline file; artifacts keep every field', async () => {
    const root = await project({
      'ml/dvc.yaml': [
        'metrics: [dvclive/metrics.json, eval]',
        'params: [custom.yaml, ../params.yaml]',
        'artifacts:',
        '  text-classifier:',
        '    path: models/model.pkl',
        '    type: model',
        '    desc: Sentiment',
        '    labels: [nlp]',
        '    meta: {framework: tfjs, size: 3}',
        '  remote/model-2:',
        '    path: s3://bucket/model.pkl',
        'stages:',
        '  a:',
        '    cmd: x',
        '',
      ].join('\n'),
      'ml/custom.yaml': 'a: 1\n',
    });
    const loaded = await loadOk(root, { file: 'ml/dvc.yaml' });
    expect(loaded.topLevel.metrics.map((m) => m.path)).toEqual(['ml/dvclive/metrics.json', 'ml/eval']);
    // ../params.yaml is the project params (at the root) already: only the custom file is listed.
    expect(loaded.topLevel.params.map((m) => m.path)).toEqual(['ml/custom.yaml']);
    expect(loaded.topLevel.artifacts.map(({ loc: _loc, ...a }) => a)).toEqual([
      { name: 'text-classifier', path: 'ml/models/model.pkl', type: 'model', desc: 'Sentiment', labels: ['nlp'], meta: { framework: 'tfjs', size: 3 } },
      { name: 'remote/model-2', path: 's3://bucket/model.pkl', labels: [] },
    ]);
    expect(loaded.topLevel.artifacts[0]!.loc).toMatchObject({ file: 'ml/dvc.yaml', line: 4, col: 3 });
  });

  test('a metric or plot inside the stage’s own directory out is a view of it, not a second out', async () => {
    const root = await project({
      'pipeline.yaml': 'stages:\n  train:\n    cmd: x\n    outs: [dvclive, model.pkl]\n    metrics: [dvclive/metrics.json, summary.json]\n    plots: [dvclive/plots/loss.tsv]\n',
    });
    const stage = (await loadOk(root)).stages[0]!;
    expect(stage.outs.map((o) => `${o.kind}:${o.path}`)).toEqual(['out:dvclive', 'out:model.pkl', 'metric:summary.json']);
    expect(stage.views?.map((o) => `${o.kind}:${o.path}`)).toEqual(['metric:dvclive/metrics.json', 'plot:dvclive/plots/loss.tsv']);
  });

  test('no top-level sections: empty lists', async () => {
    const root = await project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: x\n' });
    expect((await loadOk(root)).topLevel).toEqual({ metrics: [], params: [], artifacts: [] });
  });
});
