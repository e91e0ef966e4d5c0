import { describe, expect, it } from 'vitest';
import { buildExpTable, type ExpRow } from '../../../src/exp/table.js';
import type { Flat } from '../../../src/metrics/diff.js';

const flat = (o: Record<string, number | string>): Flat => new Map(Object.entries(o));

function row(name: string, params: Record<string, number | string>, metrics: Record<string, Record<string, number>>, extra: Partial<ExpRow> = {}): ExpRow {
  return {
    name,
    baseline: false,
    base: 'abcdef0123456789',
    created: '2026-11-26T06:27:25.594Z',
    status: 'succeeded',
    durationS: 1.5,
    cpuS: 0.25,
    params: flat(params),
    metrics: new Map(Object.entries(metrics).map(([f, v]) => [f, flat(v)])),
    ...extra,
  };
}

const opts = { all: false, sortBy: undefined, sortOrder: 'asc' as const, precision: 5 };

describe('buildExpTable', () => {
  const rows = [
    row('workspace', { lr: 0.1, seed: 1 }, { 'm.json': { acc: 0.8 } }, { baseline: true, created: undefined, status: undefined, durationS: undefined, cpuS: undefined }),
    row('e1', { lr: 0.5, seed: 1 }, { 'm.json': { acc: 0.9 } }),
    row('e2', { lr: 0.01, seed: 1 }, { 'm.json': { acc: 0.7 } }),
    row('e3', { lr: 0.2, seed: 1 }, {}, { status: 'failed' }),
  ];

  it('shows the fixed columns, only params that differ, then every metric', () => {
    const t = buildExpTable(rows, opts);
    if (!t.ok) throw new Error(t.error);
    expect(t.value.header).toEqual(['Experiment', 'Base', 'Created', 'Status', 'Duration', 'CPU', 'lr', 'acc']);
    expect(t.value.cells).toEqual([
      ['workspace', 'abcdef0', '-', '-', '-', '-', '0.1', '0.8'],
      ['e1', 'abcdef0', '2026-11-26 06:27', 'succeeded', '1.5s', '250ms', '0.5', '0.9'],
      ['e2', 'abcdef0', '2026-11-26 06:27', 'succeeded', '1.5s', '250ms', '0.01', '0.7'],
      ['e3', 'abcdef0', '2026-11-26 06:27', 'failed', '1.5s', '250ms', '0.2', '-'],
    ]);
  });

  it('--all keeps params that are the same everywhere', () => {
    const t = buildExpTable(rows, { ...opts, all: true });
    expect(t.ok && t.value.header.slice(6)).toEqual(['lr', 'seed', 'acc']);
  });

  it('sorts the experiments (baseline rows stay on top, missing values last) by a metric or a param', () => {
    const names = (sortBy: string, sortOrder: 'asc' | 'desc') => {
      const t = buildExpTable(rows, { ...opts, sortBy, sortOrder });
      if (!t.ok) throw new Error(t.error);
      return t.value.cells.map((c) => c[0]);
    };
    expect(names('acc', 'desc')).toEqual(['workspace', 'e1', 'e2', 'e3']);
    expect(names('acc', 'asc')).toEqual(['workspace', 'e2', 'e1', 'e3']);
    expect(names('lr', 'asc')).toEqual(['workspace', 'e2', 'e3', 'e1']);
    // A param that is the same everywhere is not shown but can still sort.
    expect(names('seed', 'asc')).toEqual(['workspace', 'e1', 'e2', 'e3']);
    expect(buildExpTable(rows, { ...opts, sortBy: 'nope' })).toEqual({ ok: false, error: "--sort-by 'nope' is neither a param nor a metric of these experiments" });
  });

  it('names a metric key found in two files by file:key', () => {
    const t = buildExpTable([row('e', {}, { 'a.json': { loss: 1 }, 'b.json': { loss: 2, f1: 0.5 } })], opts);
    expect(t.ok && t.value.header.slice(6)).toEqual(['a.json:loss', 'b.json:loss', 'f1']);
    const sorted = buildExpTable([row('e', {}, { 'a.json': { loss: 1 }, 'b.json': { loss: 2 } })], { ...opts, sortBy: 'b.json:loss' });
    expect(sorted.ok).toBe(true);
  });
});

describe('buildExpTable with NaN metrics (Python json output)', () => {
  it('shows NaN, and sorts it last in either order like a missing value', () => {
    const rows = [
      row('a', { lr: 1 }, { 'dvclive/metrics.json': { val_loss: NaN } }),
      row('b', { lr: 2 }, { 'dvclive/metrics.json': { val_loss: 0.3 } }),
      row('c', { lr: 3 }, { 'dvclive/metrics.json': { val_loss: 0.1 } }),
    ];
    for (const sortOrder of ['asc', 'desc'] as const) {
      const t = buildExpTable(rows, { ...opts, sortBy: 'val_loss', sortOrder });
      if (!t.ok) throw new Error(t.error);
      expect(t.value.cells.map((c) => [c[0], c.at(-1)])).toEqual(
        sortOrder === 'asc' ? [['c', '0.1'], ['b', '0.3'], ['a', 'NaN']] : [['b', '0.3'], ['c', '0.1'], ['a', 'NaN']],
      );
    }
  });
});
