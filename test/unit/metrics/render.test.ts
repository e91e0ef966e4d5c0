import { describe, expect, it } from 'vitest';
import { formatValue, renderMetricsDiff, renderParamsDiff, renderShow } from '../../../src/metrics/render.js';
import type { DiffSection } from '../../../src/metrics/render.js';

describe('formatValue', () => {
  it('rounds numbers to decimal digits, leaves others, dashes a missing side', () => {
    expect(formatValue(0.123456789, 5)).toBe('0.12346');
    expect(formatValue(0.1, 5)).toBe('0.1');
    expect(formatValue(12, 2)).toBe('12');
    expect(formatValue(1.5, 0)).toBe('2');
    expect(formatValue(0.123456789)).toBe('0.123456789');
    expect(formatValue('x', 2)).toBe('x');
    expect(formatValue(false, 2)).toBe('false');
    expect(formatValue(undefined, 2)).toBe('-');
  });
});

const sections: DiffSection[] = [
  {
    path: 'metrics/train.json',
    rows: [
      { key: 'acc', old: 0.8, new: 0.912345678, diff: 0.112345678 },
      { key: 'name', old: 'a', new: 'b', diff: undefined },
    ],
  },
  { path: 'metrics/test.yaml', rows: [{ key: 'auc', old: undefined, new: 0.7, diff: undefined }] },
  { path: 'metrics/empty.json', rows: [] },
];

describe('renderMetricsDiff', () => {
  it('renders an aligned table with the revisions as headers', () => {
    expect(renderMetricsDiff(sections, ['HEAD', 'workspace'], 'table', 3)).toBe(
      'Path                Metric  HEAD  workspace  Change\n' +
        'metrics/train.json  acc     0.8   0.912      0.112\n' +
        'metrics/train.json  name    a     b          -\n' +
        'metrics/test.yaml   auc     -     0.7        -\n',
    );
  });

  it('renders a pipe table', () => {
    expect(renderMetricsDiff(sections, ['main', 'HEAD~1'], 'md', 5)).toBe(
      '| Path | Metric | main | HEAD~1 | Change |\n' +
        '|---|---|---|---|---|\n' +
        '| metrics/train.json | acc | 0.8 | 0.91235 | 0.11235 |\n' +
        '| metrics/train.json | name | a | b | - |\n' +
        '| metrics/test.yaml | auc | - | 0.7 | - |\n',
    );
  });

  it('renders JSON with diff only for numbers, and nothing for an empty diff', () => {
    expect(JSON.parse(renderMetricsDiff(sections, ['HEAD', 'workspace'], 'json', 5))).toEqual({
      'metrics/train.json': { acc: { old: 0.8, new: 0.912345678, diff: 0.112345678 }, name: { old: 'a', new: 'b' } },
      'metrics/test.yaml': { auc: { old: null, new: 0.7 } },
    });
    expect(renderMetricsDiff([], ['HEAD', 'workspace'], 'table', 5)).toBe('');
  });
});

describe('renderShow', () => {
  const files = [{ path: 'm.json', values: new Map<string, number | string | boolean>([['a.b', 0.1234567], ['c', 'x']]) }];
  it('renders Path Metric Value', () => {
    expect(renderShow(files, 'table')).toBe('Path    Metric  Value\nm.json  a.b     0.12346\nm.json  c       x\n');
    expect(renderShow(files, 'md')).toBe('| Path | Metric | Value |\n|---|---|---|\n| m.json | a.b | 0.12346 |\n| m.json | c | x |\n');
    expect(JSON.parse(renderShow(files, 'json'))).toEqual({ 'm.json': { 'a.b': 0.1234567, c: 'x' } });
  });
});

describe('renderParamsDiff', () => {
  const rows = [
    { key: 'lr', old: 0.1, new: 0.2, diff: 0.1 },
    { key: 'model.width', old: undefined, new: 8, diff: undefined },
  ];
  it('has no Change column in the table, and diff in JSON', () => {
    expect(renderParamsDiff(rows, ['HEAD~1', 'HEAD'], 'table')).toBe('Param        HEAD~1  HEAD\nlr           0.1     0.2\nmodel.width  -       8\n');
    expect(JSON.parse(renderParamsDiff(rows, ['HEAD~1', 'HEAD'], 'json'))).toEqual({ lr: { old: 0.1, new: 0.2, diff: 0.1 }, 'model.width': { old: null, new: 8 } });
  });
});
