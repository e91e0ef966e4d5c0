// Which metrics an experiment produced: a stage that is not current after the run (own reasons, or
// an upstream that is not current) left the base's copy of its metrics in the commit.
import { describe, expect, it } from 'vitest';
import type { Stage } from '../../../src/model/stage.js';
import type { Reason } from '../../../src/run/reason.js';
import { isUnproduced, unproducedMetrics } from '../../../src/exp/produced-metrics.js';
import type { ExpMeta } from '../../../src/exp/ref.js';
import { stageName, type StageName } from '../../../src/util/brand.js';
import { fakeStage } from '../fakes.js';

const withMetric = (s: Stage, path: string): Stage => ({ ...s, outs: [...s.outs, { path, kind: 'metric', cache: false, persist: false }] });
// prep -> train (metrics/train.json) -> report (metrics/test.json); other (metrics/other.json) stands alone.
const stages = new Map<StageName, Stage>([
  [stageName('prep'), fakeStage('prep', { outs: ['data'] })],
  [stageName('train'), withMetric(fakeStage('train', { deps: ['data'], outs: ['model'] }), 'metrics/train.json')],
  [stageName('report'), withMetric(fakeStage('report', { deps: ['model'] }), 'metrics/test.json')],
  [stageName('other'), withMetric(fakeStage('other'), 'metrics/other.json')],
]);
const order = ['prep', 'train', 'report', 'other'].map(stageName);
const upstream = new Map<StageName, StageName[]>([[stageName('train'), [stageName('prep')]], [stageName('report'), [stageName('train')]]]);
const judge = (reasons: Record<string, Reason[]>): string[] =>
  unproducedMetrics({ order, stages, upstream, reasons: new Map(Object.entries(reasons).map(([k, v]) => [stageName(k), v])) });

describe('unproducedMetrics', () => {
  it('is empty when every stage is current', () => {
    expect(judge({})).toEqual([]);
  });

  it('names the metrics of a stage that failed (its old lock entry no longer matches) and of everything below it', () => {
    expect(judge({ train: [{ kind: 'params-changed', keys: ['train.lr'] }] })).toEqual(['metrics/train.json', 'metrics/test.json']);
  });

  it('tolerates missing outs (an untargeted stage whose outs were never checked out) but not a missing metric', () => {
    expect(judge({ prep: [{ kind: 'outs-missing', paths: ['data'] }] })).toEqual([]);
    expect(judge({ report: [{ kind: 'outs-missing', paths: ['metrics/test.json'] }] })).toEqual(['metrics/test.json']);
    expect(judge({ other: [{ kind: 'outs-changed', paths: ['metrics/other.json'] }] })).toEqual(['metrics/other.json']);
  });
});

describe('unproducedMetrics in the DVCLive layout', () => {
  // train: outs [dvclive] with a stage metric dvclive/metrics.json (a view) and a top-level entry dvclive/plots.
  const live: Stage = { ...fakeStage('train', { outs: ['dvclive'] }), views: [{ path: 'dvclive/metrics.json', kind: 'metric', cache: false, persist: false }] };
  const one = new Map<StageName, Stage>([[stageName('train'), live]]);
  const run = (reasons: Reason[]): string[] =>
    unproducedMetrics({ order: [stageName('train')], stages: one, upstream: new Map(), reasons: new Map([[stageName('train'), reasons]]), topLevelMetrics: ['dvclive/scores', 'elsewhere.json'] });
  it('names the metrics inside a stale stage’s directory out, and only those', () => {
    expect(run([{ kind: 'cmd-changed' }])).toEqual(['dvclive/metrics.json', 'dvclive/scores']);
    expect(run([])).toEqual([]);
    // Not checked out: still read through the lock entry, which describes it.
    expect(run([{ kind: 'outs-missing', paths: ['dvclive'] }])).toEqual([]);
  });
});

describe('isUnproduced', () => {
  const meta = (status: ExpMeta['status'], unproduced?: string[]): ExpMeta => ({
    version: 1, name: 'e', base: 'b', overrides: [], targets: [], status, created: 't', ...(unproduced ? { unproduced_metrics: unproduced } : {}),
  });
  it('follows what the run recorded, for failed and succeeded experiments alike', () => {
    expect(isUnproduced(meta('failed', ['metrics/test.json']), 'metrics/test.json')).toBe(true);
    expect(isUnproduced(meta('failed', ['metrics/test.json']), 'metrics/folds.json')).toBe(false);
    expect(isUnproduced(meta('succeeded', []), 'metrics/test.json')).toBe(false);
    // A recorded folder covers the files below it.
    expect(isUnproduced(meta('failed', ['dvclive/scores']), 'dvclive/scores/train.json')).toBe(true);
    expect(isUnproduced(meta('failed', ['dvclive/scores']), 'dvclive/scores.json')).toBe(false);
  });
  it('without a record, hides every metric of a failed experiment and none of a succeeded one or a plain commit', () => {
    expect(isUnproduced(meta('failed'), 'metrics/test.json')).toBe(true);
    expect(isUnproduced(meta('succeeded'), 'metrics/test.json')).toBe(false);
    expect(isUnproduced(undefined, 'metrics/test.json')).toBe(false);
  });
});
