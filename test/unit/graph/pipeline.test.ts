import { describe, expect, it } from 'vitest';
import { buildPipeline } from '../../../src/graph/pipeline.js';
import { makePlan } from '../../../src/graph/plan.js';
import { stageName } from '../../../src/util/brand.js';
import { fakeStage } from '../fakes.js';

const exists = (known: string[]) => (abs: string) => known.some((k) => abs.endsWith('/' + k));
const build = (stages: ReturnType<typeof fakeStage>[], files: string[] = []) => buildPipeline(stages, { root: '/p', exists: exists(files) });
const n = stageName;

describe('buildPipeline', () => {
  it('links a dep to the stage whose out is the same path, contains it, or lies inside it', () => {
    const r = build([
      fakeStage('a', { outs: ['data/a.txt'] }),
      fakeStage('b', { outs: ['models'] }),
      fakeStage('c', { outs: ['reports/x/y.txt'] }),
      fakeStage('use', { deps: ['data/a.txt', 'models/cnn/w.bin', 'reports'] }),
    ]);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect([...r.value.upstream(n('use'))].sort()).toEqual(['a', 'b', 'c']);
    expect(r.value.downstream(n('a'))).toEqual(['use']);
    expect(r.value.producersOf('models/cnn')).toEqual(['b']);
  });

  it('does not confuse a path prefix with a parent folder', () => {
    const r = build([fakeStage('a', { outs: ['data'] }), fakeStage('b', { deps: ['data2/x'] })], ['data2/x']);
    expect(r.ok && r.value.upstream(n('b'))).toEqual([]);
  });

  it('reports duplicate and overlapping outs, each pair once', () => {
    const r = build([fakeStage('a', { outs: ['out'] }), fakeStage('b', { outs: ['out'] }), fakeStage('c', { outs: ['out/inner'] })]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((d) => d.message)).toEqual([
      "out 'out' of stage 'b' is also an out of stage 'a'",
      "out 'out/inner' of stage 'c' lies inside out 'out' of stage 'a'",
      "out 'out/inner' of stage 'c' lies inside out 'out' of stage 'b'",
    ]);
  });

  it('lists a dep nothing makes that does not exist as missing (a state, not an error), and not one that exists', () => {
    const r = build([fakeStage('a', { deps: ['raw.csv', 'gone.csv'], outs: ['x'] }), fakeStage('b', { deps: ['x', 'also-gone'] })], ['raw.csv']);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.missing.map((m) => [m.path, m.stage])).toEqual([['gone.csv', 'a'], ['also-gone', 'b']]);
  });

  it('names every stage of a cycle in dependency order, and self-loops', () => {
    const r = build([
      fakeStage('a', { deps: ['c.txt'], outs: ['a.txt'] }),
      fakeStage('b', { deps: ['a.txt'], outs: ['b.txt'] }),
      fakeStage('c', { deps: ['b.txt'], outs: ['c.txt'] }),
      fakeStage('self', { deps: ['s/x'], outs: ['s'] }),
      fakeStage('free', { outs: ['f'] }),
    ]);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((d) => d.message)).toEqual([
      "dependency cycle: 'a' depends on 'c' depends on 'b' depends on 'a'",
      "stage 'self' depends on its own out",
    ]);
  });

  it('handles a 10 000-stage chain without recursion limits', () => {
    const stages = Array.from({ length: 10_000 }, (_, i) => fakeStage(`s${i}`, { deps: i ? [`o${i - 1}`] : [], outs: [`o${i}`] }));
    const r = build(stages);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const plan = makePlan(r.value, { targets: ['s9999'], singleItem: false, downstream: false });
    expect(plan.ok && plan.value.stages.length).toBe(10_000);
  });
});

describe('makePlan', () => {
  const p = build([
    fakeStage('prep', { outs: ['d'] }),
    fakeStage('train@0', { deps: ['d'], outs: ['m0'], group: 'train' }),
    fakeStage('train@1', { deps: ['d'], outs: ['m1'], group: 'train' }),
    fakeStage('eval', { deps: ['m0', 'm1'], outs: ['e'] }),
    fakeStage('other', { outs: ['o'] }),
  ]);
  if (!p.ok) throw new Error('fixture');
  const plan = (targets: string[], o: { singleItem?: boolean; downstream?: boolean; expected?: Record<string, number> } = {}) => {
    const r = makePlan(p.value, { targets, singleItem: o.singleItem ?? false, downstream: o.downstream ?? false, expectedSeconds: (s) => o.expected?.[s] });
    if (!r.ok) throw new Error(r.error[0]!.message);
    return r.value;
  };

  it('orders topologically and in file order among equals', () => {
    expect(plan([]).stages).toEqual(['prep', 'other', 'train@0', 'train@1', 'eval']);
  });
  it('includes upstream of targets; a group names all its expansions', () => {
    expect(plan(['train']).stages).toEqual(['prep', 'train@0', 'train@1']);
    expect(plan(['eval'], { singleItem: true }).stages).toEqual(['eval']);
    expect(plan(['prep'], { downstream: true }).stages).toEqual(['prep', 'train@0', 'train@1', 'eval']);
    expect(plan(['dvc.yaml:other']).stages).toEqual(['other']);
  });
  it('prioritises by critical path using expected durations', () => {
    const pl = plan([], { expected: { 'train@0': 100, 'train@1': 1, other: 50 } });
    expect(pl.priority.get(n('train@0'))).toBeGreaterThan(pl.priority.get(n('other'))!);
    expect(pl.priority.get(n('other'))).toBeGreaterThan(pl.priority.get(n('train@1'))!);
    expect(pl.priority.get(n('prep'))).toBe(1 + 100 + 1);
  });
  it('rejects an unknown target with a suggestion', () => {
    const r = makePlan(p.value, { targets: ['trian'], singleItem: false, downstream: false });
    expect(!r.ok && r.error[0]!.hint).toBe("did you mean 'train'? (`mlbuild dag` lists the stages)");
  });
});
