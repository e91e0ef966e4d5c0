/**
 * One declared plot + its records at each revision -> the datapoints drawn and a self-contained
 * Vega-Lite spec (data inlined), one series per revision. Pure: no I/O, no HTML (html.ts).
 *
 * Datapoints are normalised so that one spec fits any field names, as DVC's renderer does:
 *   x/y templates: {series, rev, file, field, step, x, y}  (step: the record's index in its file,
 *                  and the x when none is declared; lines are drawn in record order, so an ROC
 *                  curve keeps its threshold order instead of being re-sorted by x)
 *   confusion:     {series, rev, file, x, y, count[, value]}  one cell per (actual, predicted),
 *                  zero counts included, faceted per series
 * A series is named by its revision, plus the file when a plot reads several files, plus the
 * field when a file gives several y fields.
 */
import type { PlotRecord } from './data.js';
import type { PlotDef, PlotSource, TemplateName } from './definition.js';

/** The records of one source of a plot at one revision. */
export interface RevisionData {
  readonly rev: string;
  readonly source: PlotSource;
  readonly records: readonly PlotRecord[];
}

export type Datapoint = Readonly<Record<string, unknown>>;
export type VegaLiteSpec = Readonly<Record<string, unknown>>;

export interface BuiltPlot {
  readonly id: string;
  readonly template: TemplateName;
  readonly title: string;
  /** Series names in drawing order. */
  readonly series: readonly string[];
  readonly datapoints: readonly Datapoint[];
  readonly spec: VegaLiteSpec;
}

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 520;
const HEIGHT = 340;
const CELL = 48;

/** The y fields of a source: as declared, else the last field of the first record that is not x. */
export function yFieldsOf(source: PlotSource, records: readonly PlotRecord[]): string[] {
  if (source.y.length > 0) return [...source.y];
  const keys = Object.keys(records[0] ?? {}).filter((k) => k !== source.x);
  return keys.length > 0 ? [keys[keys.length - 1]!] : [];
}

function seriesNamer(def: PlotDef, data: readonly RevisionData[]): (rev: string, file: string, field: string) => string {
  const manyFiles = def.sources.length > 1;
  const manyFields = data.some((d) => yFieldsOf(d.source, d.records).length > 1);
  return (rev, file, field) => [rev, ...(manyFiles ? [file] : []), ...(manyFields ? [field] : [])].join(' · ');
}

const fieldNames = (xs: Iterable<string>): string => [...new Set(xs)].join(', ');

/** Vega-Lite's type for the values of a field: numbers plot on a continuous axis, anything else by category. */
// NaN and ±Infinity (Python's json writes them) stay numbers: the page drops those points, the axis stays continuous.
const typeOf = (values: readonly unknown[]): 'quantitative' | 'ordinal' =>
  values.some((v) => typeof v === 'number' && Number.isFinite(v)) && values.every((v) => typeof v === 'number') ? 'quantitative' : 'ordinal';

function xyPoints(def: PlotDef, data: readonly RevisionData[]): { points: Datapoint[]; series: string[] } {
  const name = seriesNamer(def, data);
  const points: Datapoint[] = [];
  const series: string[] = [];
  for (const d of data) {
    for (const field of yFieldsOf(d.source, d.records)) {
      const s = name(d.rev, d.source.file, field);
      if (!series.includes(s)) series.push(s);
      d.records.forEach((r, step) => {
        points.push({ series: s, rev: d.rev, file: d.source.file, field, step, x: d.source.x === undefined ? step : r[d.source.x], y: r[field] });
      });
    }
  }
  return { points, series };
}

const compareLabels = (a: unknown, b: unknown): number =>
  typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b), 'en', { numeric: true });

/** Counts per (x, y) cell for each series, every cell of the square label grid included. */
function confusionPoints(def: PlotDef, data: readonly RevisionData[], normalized: boolean): { points: Datapoint[]; series: string[]; problems: string[] } {
  const problems: string[] = [];
  const name = seriesNamer(def, data);
  const labels = new Map<string, unknown>();
  const cells: { series: string; rev: string; file: string; counts: Map<string, number> }[] = [];
  const key = (x: unknown, y: unknown) => JSON.stringify([x, y]);
  for (const d of data) {
    const y = yFieldsOf(d.source, d.records)[0];
    if (d.source.x === undefined || y === undefined) {
      problems.push(`${d.source.file}: the confusion template needs x (actual) and y (predicted) fields`);
      continue;
    }
    const counts = new Map<string, number>();
    for (const r of d.records) {
      const a = r[d.source.x] ?? null;
      const p = r[y] ?? null;
      labels.set(JSON.stringify(a), a);
      labels.set(JSON.stringify(p), p);
      counts.set(key(a, p), (counts.get(key(a, p)) ?? 0) + 1);
    }
    cells.push({ series: name(d.rev, d.source.file, y), rev: d.rev, file: d.source.file, counts });
  }
  const sorted = [...labels.values()].sort(compareLabels);
  const points: Datapoint[] = [];
  for (const c of cells) {
    for (const a of sorted) {
      const row = sorted.reduce<number>((n, p) => n + (c.counts.get(key(a, p)) ?? 0), 0);
      for (const p of sorted) {
        const count = c.counts.get(key(a, p)) ?? 0;
        points.push({ series: c.series, rev: c.rev, file: c.file, x: a, y: p, count, ...(normalized ? { value: row === 0 ? 0 : count / row } : {}) });
      }
    }
  }
  return { points, series: cells.map((c) => c.series), problems };
}

function xyEncoding(def: PlotDef, data: readonly RevisionData[], points: readonly Datapoint[], series: readonly string[]) {
  const xName = def.xLabel ?? fieldNames(data.map((d) => d.source.x ?? 'step'));
  const yName = def.yLabel ?? fieldNames(data.flatMap((d) => yFieldsOf(d.source, d.records)));
  return {
    x: { field: 'x', type: typeOf(points.map((p) => p.x)), title: xName },
    y: { field: 'y', type: 'quantitative', title: yName },
    color: { field: 'series', type: 'nominal', title: 'revision', sort: series },
    tooltip: [{ field: 'series', title: 'revision' }, { field: 'x', title: xName }, { field: 'y', title: yName }],
  };
}

function confusionSpec(def: PlotDef, data: readonly RevisionData[], series: readonly string[], normalized: boolean) {
  const value = normalized ? 'value' : 'count';
  const first = data[0]?.source;
  const xName = def.xLabel ?? first?.x ?? 'actual';
  const yName = def.yLabel ?? (first ? (yFieldsOf(first, data[0]!.records)[0] ?? 'predicted') : 'predicted');
  return {
    facet: { column: { field: 'series', type: 'nominal', title: null, sort: series } },
    spec: {
      width: { step: CELL },
      height: { step: CELL },
      transform: [{ joinaggregate: [{ op: 'max', field: value, as: 'max_value' }], groupby: ['series'] }],
      encoding: {
        x: { field: 'x', type: 'nominal', title: xName, sort: null, axis: { labelAngle: 0, orient: 'top' } },
        y: { field: 'y', type: 'nominal', title: yName, sort: null },
      },
      layer: [
        { mark: 'rect', encoding: { color: { field: value, type: 'quantitative', title: normalized ? 'share of actual' : 'count' }, tooltip: [{ field: 'x', title: xName }, { field: 'y', title: yName }, { field: 'count' }] } },
        {
          mark: { type: 'text', fontSize: 13 },
          encoding: {
            text: { field: value, type: 'quantitative', ...(normalized ? { format: '.2f' } : {}) },
            color: { condition: { test: 'datum.max_value > 0 && datum[\'' + value + '\'] > datum.max_value / 2', value: 'white' }, value: 'black' },
          },
        },
      ],
    },
    resolve: { scale: { color: 'independent' } },
  };
}

function xySpec(template: TemplateName, enc: ReturnType<typeof xyEncoding>) {
  switch (template) {
    case 'scatter':
      return { mark: { type: 'point', filled: true, size: 30 }, encoding: enc };
    case 'smooth':
      return {
        encoding: { x: enc.x, y: enc.y, color: enc.color },
        layer: [
          { mark: { type: 'point', opacity: 0.25, size: 15 }, encoding: { tooltip: enc.tooltip } },
          { mark: 'line', transform: [{ loess: 'y', on: 'x', groupby: ['series'], bandwidth: 0.3 }] },
        ],
      };
    case 'bar':
    case 'bar_horizontal':
      // DVC's bar_horizontal: categories down the side, one bar per series in each.
      return {
        mark: 'bar',
        encoding: {
          y: { ...enc.x, type: 'nominal', sort: null },
          x: enc.y,
          yOffset: { field: 'series', sort: enc.color.sort },
          color: enc.color,
          tooltip: enc.tooltip,
        },
      };
    default:
      return { mark: { type: 'line', ...(template === 'linear' ? { point: { size: 12 } } : {}) }, encoding: { ...enc, order: { field: 'step', type: 'quantitative' } } };
  }
}

/**
 * Builds one plot from its records at each revision (in the order to draw them). `problems` are
 * reasons a revision's data could not be drawn (e.g. a confusion plot without x), for the caller to
 * report by name like a missing file.
 */
export function buildPlot(def: PlotDef, data: readonly RevisionData[]): { plot: BuiltPlot; problems: string[] } {
  const title = def.title ?? def.id;
  const confusion = def.template === 'confusion' || def.template === 'confusion_normalized';
  const base = { $schema: VEGA_LITE_SCHEMA, title };
  if (confusion) {
    const normalized = def.template === 'confusion_normalized';
    const { points, series, problems } = confusionPoints(def, data, normalized);
    const spec = { ...base, data: { values: points }, ...confusionSpec(def, data, series, normalized) };
    return { plot: { id: def.id, template: def.template, title, series, datapoints: points, spec }, problems };
  }
  const { points, series } = xyPoints(def, data);
  const spec = { ...base, width: WIDTH, height: HEIGHT, data: { values: points }, ...xySpec(def.template, xyEncoding(def, data, points, series)) };
  return { plot: { id: def.id, template: def.template, title, series, datapoints: points, spec }, problems: [] };
}
