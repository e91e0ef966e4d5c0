/** `mlbuild artifacts`: each artifact with the stage that makes its path, as a table, Markdown or JSON. */
import { describe, expect, it } from 'vitest';
import { artifactRows, renderArtifacts } from '../../src/artifacts/list.js';
import type { Stage } from '../../src/model/stage.js';
import { stageName } from '../../src/util/brand.js';

const stage = (name: string, outs: string[]): Stage => ({
  name: stageName(name),
  group: name,
  cmd: ['x'],
  wdir: '',
  deps: [],
  params: [],
  outs: outs.map((path) => ({ path, kind: 'out' as const, cache: true, persist: false })),
  frozen: false,
  alwaysChanged: false,
  env: {},
  resources: { cpus: 1, gpus: 0, memoryMb: 0 },
  retries: 0,
});

describe('artifacts', () => {
  const rows = artifactRows(
    [
      { name: 'clf', path: 'models/clf/model.json', type: 'model', desc: 'Classifier', labels: ['nlp', 'cnn'], meta: { framework: 'tfjs' } },
      { name: 'vocab', path: 'data/vocab.txt', labels: [] },
    ],
    [stage('prepare', ['data/prepared']), stage('train', ['models'])],
  );

  it('finds the stage whose out is or holds the path; none for data no stage makes', () => {
    expect(rows.map((r) => [r.name, r.stage])).toEqual([['clf', 'train'], ['vocab', undefined]]);
  });

  it('renders a table, Markdown and JSON with every field', () => {
    expect(renderArtifacts(rows, 'table')).toBe(
      [
        'Name   Path                   Type   Stage  Labels    Desc        Meta',
        'clf    models/clf/model.json  model  train  nlp, cnn  Classifier  {"framework":"tfjs"}',
        'vocab  data/vocab.txt         -      -      -         -           -',
        '',
      ].join('\n'),
    );
    expect(renderArtifacts(rows, 'md').split('\n')[2]).toBe('| clf | models/clf/model.json | model | train | nlp, cnn | Classifier | {"framework":"tfjs"} |');
    expect(JSON.parse(renderArtifacts(rows, 'json'))).toEqual({
      version: 1,
      artifacts: [
        { name: 'clf', path: 'models/clf/model.json', type: 'model', desc: 'Classifier', labels: ['nlp', 'cnn'], meta: { framework: 'tfjs' }, stage: 'train' },
        { name: 'vocab', path: 'data/vocab.txt', type: null, desc: null, labels: [], meta: null, stage: null },
      ],
    });
    expect(renderArtifacts([], 'table')).toBe('');
  });
});
