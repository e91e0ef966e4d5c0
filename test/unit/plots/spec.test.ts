import { describe, expect, it } from 'vitest';
import { buildPlot, yFieldsOf, type RevisionData } from '../../../src/plots/spec.js';
import type { PlotDef, PlotSource, TemplateName } from '../../../src/plots/definition.js';

const roc: PlotSource = { file: 'plots/roc.json', cache: false, x: 'fpr', y: ['tpr'] };
const def = (template: TemplateName, sources: PlotSource[] = [roc], extra: Partial<PlotDef> = {}): PlotDef => ({ id: sources[0]!.file, template, sources, ...extra });
const at = (rev: string, records: Record<string, unknown>[], source: PlotSource = roc): RevisionData => ({ rev, source, records });

const A = [
  { fpr: 0, tpr: 0 },
  { fpr: 0, tpr: 0.5 },
  { fpr: 1, tpr: 1 },
];
const B = [
  { fpr: 0, tpr: 0 },
  { fpr: 1, tpr: 1 },
];

type Spec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('buildPlot: x/y templates', () => {
  it('gives one series per revision, points in record order, and a line drawn in that order', () => {
    const { plot, problems } = buildPlot(def('linear', [roc], { title: 'ROC', xLabel: 'false positive rate' }), [at('HEAD~1', A), at('workspace', B)]);
    expect(problems).toEqual([]);
    expect(plot.series).toEqual(['HEAD~1', 'workspace']);
    expect(plot.datapoints.map((p) => [p.series, p.step, p.x, p.y])).toEqual([
      ['HEAD~1', 0, 0, 0],
      ['HEAD~1', 1, 0, 0.5],
      ['HEAD~1', 2, 1, 1],
      ['workspace', 0, 0, 0],
      ['workspace', 1, 1, 1],
    ]);
    const spec = plot.spec as Spec;
    expect(spec.title).toBe('ROC');
    expect(spec.data.values).toBe(plot.datapoints);
    expect(spec.mark.type).toBe('line');
    expect(spec.encoding.order.field).toBe('step');
    expect(spec.encoding.x).toEqual({ field: 'x', type: 'quantitative', title: 'false positive rate' });
    expect(spec.encoding.y).toMatchObject({ field: 'y', title: 'tpr' });
    expect(spec.encoding.color).toMatchObject({ field: 'series', sort: ['HEAD~1', 'workspace'] });
  });

  it('uses the record index as x when none is declared, and the last field as y', () => {
    const src: PlotSource = { file: 'loss.csv', cache: false, y: [] };
    const { plot } = buildPlot(def('simple', [src]), [at('workspace', [{ epoch: 1, loss: 0.9 }, { epoch: 2, loss: 0.5 }], src)]);
    expect(plot.datapoints.map((p) => [p.x, p.y, p.field])).toEqual([
      [0, 0.9, 'loss'],
      [1, 0.5, 'loss'],
    ]);
    expect((plot.spec as Spec).encoding.x.title).toBe('step');
    expect(yFieldsOf(src, [])).toEqual([]);
  });

  it('names series by revision and field when a file gives several y fields', () => {
    const src: PlotSource = { file: 'm.json', cache: false, x: 'epoch', y: ['train', 'val'] };
    const { plot } = buildPlot(def('linear', [src]), [at('HEAD', [{ epoch: 1, train: 1, val: 2 }], src), at('workspace', [{ epoch: 1, train: 3, val: 4 }], src)]);
    expect(plot.series).toEqual(['HEAD · train', 'HEAD · val', 'workspace · train', 'workspace · val']);
    expect(plot.datapoints.map((p) => p.y)).toEqual([1, 2, 3, 4]);
  });

  it('names series by revision and file when a plot reads several files', () => {
    const tr: PlotSource = { file: 'train.json', cache: false, x: 'r', y: ['p'] };
    const te: PlotSource = { file: 'test.json', cache: false, x: 'r', y: ['p'] };
    const { plot } = buildPlot({ id: 'PR', template: 'scatter', sources: [tr, te] }, [at('HEAD', [{ r: 0, p: 1 }], tr), at('HEAD', [{ r: 0, p: 0.5 }], te)]);
    expect(plot.series).toEqual(['HEAD · train.json', 'HEAD · test.json']);
    expect(plot.title).toBe('PR');
    expect((plot.spec as Spec).mark.type).toBe('point');
  });

  it('plots text x values by category', () => {
    const src: PlotSource = { file: 'f.json', cache: false, x: 'cls', y: ['n'] };
    const { plot } = buildPlot(def('bar_horizontal', [src]), [at('HEAD', [{ cls: 'cat', n: 3 }, { cls: 'dog', n: 5 }], src)]);
    const spec = plot.spec as Spec;
    expect(spec.mark).toBe('bar');
    expect(spec.encoding.y).toMatchObject({ field: 'x', type: 'nominal' });
    expect(spec.encoding.x).toMatchObject({ field: 'y', type: 'quantitative' });
    expect(spec.encoding.yOffset.field).toBe('series');
  });

  it('smooth draws the points and a loess line per series', () => {
    const spec = buildPlot(def('smooth'), [at('HEAD', A)]).plot.spec as Spec;
    expect(spec.layer[1].transform[0]).toEqual({ loess: 'y', on: 'x', groupby: ['series'], bandwidth: 0.3 });
  });
});

describe('buildPlot: confusion', () => {
  const conf: PlotSource = { file: 'plots/confusion.json', cache: false, x: 'actual', y: ['predicted'] };
  const head = [
    { actual: 0, predicted: 0 },
    { actual: 0, predicted: 0 },
    { actual: 1, predicted: 0 },
    { actual: 1, predicted: 1 },
  ];
  const ws = [{ actual: 1, predicted: 1 }, { actual: 2, predicted: 1 }];

  it('counts every (actual, predicted) cell per revision, zeros included, over the labels of all revisions', () => {
    const { plot, problems } = buildPlot(def('confusion', [conf]), [at('HEAD', head, conf), at('workspace', ws, conf)]);
    expect(problems).toEqual([]);
    const cells = (rev: string) => plot.datapoints.filter((p) => p.rev === rev).map((p) => [p.x, p.y, p.count]);
    expect(cells('HEAD')).toEqual([
      [0, 0, 2], [0, 1, 0], [0, 2, 0],
      [1, 0, 1], [1, 1, 1], [1, 2, 0],
      [2, 0, 0], [2, 1, 0], [2, 2, 0],
    ]);
    expect(cells('workspace').filter((c) => c[2] !== 0)).toEqual([
      [1, 1, 1],
      [2, 1, 1],
    ]);
    const spec = plot.spec as Spec;
    expect(spec.facet.column).toMatchObject({ field: 'series', sort: ['HEAD', 'workspace'] });
    expect(spec.spec.layer.map((l: Spec) => (typeof l.mark === 'string' ? l.mark : l.mark.type))).toEqual(['rect', 'text']);
    expect(spec.spec.encoding.x.title).toBe('actual');
    expect(spec.spec.encoding.y.title).toBe('predicted');
  });

  it('normalises by the actual class with confusion_normalized', () => {
    const { plot } = buildPlot(def('confusion_normalized', [conf]), [at('HEAD', head, conf)]);
    expect(plot.datapoints.filter((p) => p.x === 1).map((p) => p.value)).toEqual([0.5, 0.5]);
  });

  it('reports a confusion plot without x as a problem instead of drawing nonsense', () => {
    const noX: PlotSource = { file: 'c.json', cache: false, y: ['predicted'] };
    const { plot, problems } = buildPlot(def('confusion', [noX]), [at('HEAD', head, noX)]);
    expect(problems).toEqual(['c.json: the confusion template needs x (actual) and y (predicted) fields']);
    expect(plot.datapoints).toEqual([]);
  });
});

describe('buildPlot: specs are valid Vega-Lite', () => {
  const conf: PlotSource = { file: 'c.json', cache: false, x: 'a', y: ['p'] };
  const templates: TemplateName[] = ['linear', 'simple', 'scatter', 'smooth', 'bar_horizontal', 'bar', 'confusion', 'confusion_normalized'];
  it.each(templates)('%s compiles to Vega without warnings', async (template) => {
    const { compile } = await import('vega-lite');
    const source = template.startsWith('confusion') ? conf : roc;
    const records = template.startsWith('confusion') ? [{ a: 0, p: 1 }, { a: 1, p: 1 }] : A;
    const { plot } = buildPlot(def(template, [source]), [at('HEAD', records, source), at('workspace', records, source)]);
    const warnings: unknown[] = [];
    const logger = { level: () => logger, error: (...m: unknown[]) => void warnings.push(m), warn: (...m: unknown[]) => void warnings.push(m), info: () => logger, debug: () => logger };
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const vega = compile(plot.spec as any, { logger: logger as any }).spec;
    expect(warnings).toEqual([]);
    expect(vega.marks?.length).toBeGreaterThan(0);
  });
});
