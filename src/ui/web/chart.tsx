/**
 * A Vega-Lite chart. vega, vega-lite and vega-embed are bundled into their own chunk, loaded the
 * first time a chart is drawn, so the first view never pays for them. Marks differ by shape and
 * dash as well as colour, so the charts read without colour. Sets data-rendered on its element
 * when drawn (tests and screenshots wait on it).
 */
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';

type Spec = Record<string, unknown>;

let embedding: Promise<typeof import('vega-embed')> | undefined;
const loadEmbed = () => (embedding ??= import('vega-embed'));

/**
 * The page's theme, from the App's state: a chart redraws when it changes. (Reading the document's
 * data-theme while rendering saw the old theme, which an effect replaces only after the render, so
 * a switched page kept light-theme axes on a dark background.)
 */
export const ThemeContext = createContext<'light' | 'dark'>('light');

export function Chart({ spec, label }: { spec: Spec; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<string | undefined>();
  const dark = useContext(ThemeContext) === 'dark';
  const key = JSON.stringify(spec) + dark;
  useEffect(() => {
    let view: { finalize(): void } | undefined;
    let cancelled = false;
    const el = ref.current;
    if (!el) return;
    delete el.dataset.rendered;
    loadEmbed()
      .then(async ({ default: embed }) => {
        if (cancelled) return;
        const r = await embed(el, spec as never, { actions: false, renderer: 'svg', theme: dark ? 'dark' : undefined });
        view = r.view;
        if (cancelled) view.finalize();
        else el.dataset.rendered = 'true';
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
    return () => {
      cancelled = true;
      view?.finalize();
    };
  }, [key]);
  return (
    <figure class="chart" aria-label={label}>
      <div ref={ref} />
      {error && <p class="error">Chart failed: {error}</p>}
    </figure>
  );
}

/** A line chart of long-form points {x, value, series}; x is ordinal (commits or experiments) in the given order. */
export function lineSpec(points: { x: string; value: number; series: string; tooltip?: string }[], xTitle: string, order: string[]): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 'container',
    height: 280,
    background: 'transparent',
    data: { values: points },
    mark: { type: 'line', point: { filled: true, size: 60 } },
    encoding: {
      x: { field: 'x', type: 'ordinal', sort: order, title: xTitle, axis: { labelAngle: -40, labelLimit: 90 } },
      y: { field: 'value', type: 'quantitative', title: 'value', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: 'metric' },
      shape: { field: 'series', type: 'nominal', title: 'metric' },
      strokeDash: { field: 'series', type: 'nominal', title: 'metric' },
      tooltip: [
        { field: 'series', title: 'metric' },
        { field: 'x', title: xTitle },
        { field: 'value', title: 'value' },
        { field: 'tooltip', title: 'detail' },
      ],
    },
  };
}
