/**
 * The Experiments view: `exp show` as a table with sorting (click a header, or `s` on a focused
 * one), filtering (text, or `column op value` such as `acc>0.9`), a choice of columns, and a
 * side-by-side comparison of two or more selected experiments where rows that differ are marked
 * with ≠ and emphasis (not colour alone). Every choice is in the URL.
 */
import { useMemo } from 'preact/hooks';
import { formatSeconds, formatValue, metricOf, type Experiment, type ExperimentsDoc, type Scalar } from '../api';
import { setParams } from '../route';

interface Col {
  id: string;
  title: string;
  kind: 'fixed' | 'param' | 'metric';
  value: (e: Experiment) => Scalar | undefined;
}

const FIXED: Col[] = [
  { id: 'Experiment', title: 'Experiment', kind: 'fixed', value: (e) => e.name },
  { id: 'Created', title: 'Created', kind: 'fixed', value: (e) => e.created?.replace('T', ' ').slice(0, 16) ?? null },
  { id: 'Status', title: 'Status', kind: 'fixed', value: (e) => e.status },
  { id: 'Duration', title: 'Duration', kind: 'fixed', value: (e) => e.duration_s },
];

/** Short metric titles (`acc`) when a key appears in one file only, else `file:key`, as exp show does. */
function metricTitle(all: string[], col: string): string {
  const key = col.slice(col.indexOf(':') + 1);
  return all.filter((c) => c.slice(c.indexOf(':') + 1) === key).length > 1 ? col : key;
}

export function columnsOf(doc: ExperimentsDoc): Col[] {
  return [
    ...FIXED,
    ...doc.params.map((p): Col => ({ id: `param:${p}`, title: p, kind: 'param', value: (e) => e.params[p] })),
    ...doc.metrics.map((m): Col => ({ id: `metric:${m}`, title: metricTitle(doc.metrics, m), kind: 'metric', value: (e) => metricOf(e, m) })),
  ];
}

/** Params that differ between rows, and every metric: what exp show shows by default. */
function defaultColumns(doc: ExperimentsDoc, cols: Col[]): string[] {
  return cols
    .filter((c) => c.kind !== 'param' || new Set(doc.experiments.map((e) => JSON.stringify(c.value(e) ?? null))).size > 1)
    .map((c) => c.id);
}

function compare(a: Scalar | undefined, b: Scalar | undefined): number {
  const na = a === undefined || a === null;
  const nb = b === undefined || b === null;
  if (na || nb) return na === nb ? 0 : na ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en', { numeric: true });
}

const OPS: Record<string, (x: number, y: number) => boolean> = {
  '>=': (x, y) => x >= y,
  '<=': (x, y) => x <= y,
  '!=': (x, y) => x !== y,
  '>': (x, y) => x > y,
  '<': (x, y) => x < y,
  '=': (x, y) => x === y,
};

/** `acc>0.9` compares a column (by title or id); any other text matches a name or a cell. */
export function matches(e: Experiment, cols: Col[], q: string): boolean {
  const query = q.trim();
  if (query === '') return true;
  const m = /^(.+?)\s*(>=|<=|!=|>|<|=)\s*(.+)$/.exec(query);
  if (m) {
    const col = cols.find((c) => c.title === m[1] || c.id === m[1] || c.id.endsWith(`:${m[1]}`));
    if (col) {
      const v = col.value(e);
      const want = Number(m[3]);
      if (typeof v === 'number' && Number.isFinite(want)) return OPS[m[2]!]!(v, want);
      const text = v === undefined || v === null ? '' : String(v);
      return m[2] === '=' ? text === m[3] : m[2] === '!=' ? text !== m[3] : false;
    }
  }
  const needle = query.toLowerCase();
  return cols.some((c) => String(c.value(e) ?? '').toLowerCase().includes(needle));
}

function Compare({ rows, cols, onlyDiff }: { rows: Experiment[]; cols: Col[]; onlyDiff: boolean }) {
  const body = cols
    .filter((c) => c.kind !== 'fixed' || c.id === 'Duration')
    .map((c) => {
      const vals = rows.map((r) => c.value(r));
      const differs = new Set(vals.map((v) => JSON.stringify(v ?? null))).size > 1;
      return { c, vals, differs };
    })
    .filter((r) => !onlyDiff || r.differs);
  return (
    <section class="compare" aria-label="comparison" data-testid="compare">
      <h2>
        Comparing {rows.length} experiments{' '}
        <label>
          <input type="checkbox" checked={onlyDiff} onChange={(e) => setParams({ diff: (e.target as HTMLInputElement).checked ? '1' : undefined })} /> only differences
        </label>
      </h2>
      <table>
        <thead>
          <tr>
            <th scope="col">{''}</th>
            {rows.map((r) => (
              <th scope="col" key={r.name}>
                {r.name}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {body.map(({ c, vals, differs }) => (
            <tr key={c.id} class={differs ? 'differs' : ''} data-differs={differs ? 'true' : 'false'}>
              <th scope="row">
                {differs ? <span aria-label="differs">≠ </span> : <span aria-label="same">= </span>}
                {c.title}
                {c.kind === 'metric' ? ' (metric)' : ''}
              </th>
              {vals.map((v, i) => (
                <td key={i}>{c.id === 'Duration' ? (typeof v === 'number' ? formatSeconds(v) : '–') : formatValue(v)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function ExperimentsPage({ doc, error, params }: { doc: ExperimentsDoc | undefined; error: string | undefined; params: URLSearchParams }) {
  const cols = useMemo(() => (doc ? columnsOf(doc) : []), [doc]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!doc) return <p aria-busy="true">Reading experiments…</p>;
  const chosen = params.get('cols')?.split(',') ?? defaultColumns(doc, cols);
  const shown = cols.filter((c) => c.id === 'Experiment' || chosen.includes(c.id));
  const sort = params.get('sort') ?? undefined;
  const order = params.get('order') === 'desc' ? 'desc' : 'asc';
  const q = params.get('q') ?? '';
  const selected = (params.get('compare') ?? '').split(',').filter((x) => x !== '');
  const sortCol = cols.find((c) => c.id === sort);
  const baseline = doc.experiments.filter((e) => e.baseline);
  let rest = doc.experiments.filter((e) => !e.baseline && matches(e, cols, q));
  if (sortCol) {
    const sign = order === 'desc' ? -1 : 1;
    rest = [...rest].sort((a, b) => {
      const va = sortCol.value(a);
      const vb = sortCol.value(b);
      // Missing values stay last in either order, as in exp show.
      return va === undefined || va === null || vb === undefined || vb === null ? compare(va, vb) : sign * compare(va, vb);
    });
  }
  const rows = [...baseline.filter((e) => matches(e, cols, q)), ...rest];
  const toggle = (name: string) => setParams({ compare: (selected.includes(name) ? selected.filter((s) => s !== name) : [...selected, name]).join(',') });
  const sortBy = (id: string) => setParams({ sort: id, order: sort === id && order === 'asc' ? 'desc' : 'asc' });
  const comparing = selected.map((n) => doc.experiments.find((e) => e.name === n)).filter((e): e is Experiment => e !== undefined);
  return (
    <div class="experiments">
      <div class="toolbar">
        <label>
          Filter{' '}
          <input
            id="filter"
            type="search"
            value={q}
            placeholder="text, or acc>0.9  ( / )"
            onInput={(e) => setParams({ q: (e.target as HTMLInputElement).value })}
          />
        </label>
        <details class="columns">
          <summary>Columns ({shown.length})</summary>
          <fieldset>
            <legend>Show columns</legend>
            {cols
              .filter((c) => c.id !== 'Experiment')
              .map((c) => (
                <label key={c.id}>
                  <input
                    type="checkbox"
                    name="col"
                    value={c.id}
                    checked={chosen.includes(c.id)}
                    onChange={() => setParams({ cols: (chosen.includes(c.id) ? chosen.filter((x) => x !== c.id) : [...chosen, c.id]).join(',') })}
                  />{' '}
                  {c.kind === 'param' ? 'param ' : c.kind === 'metric' ? 'metric ' : ''}
                  {c.title}
                </label>
              ))}
          </fieldset>
        </details>
        <span>
          {rows.length - baseline.length} of {doc.experiments.length - baseline.length} experiments · {selected.length} selected
          {selected.length > 0 && (
            <button type="button" onClick={() => setParams({ compare: undefined })}>
              clear selection
            </button>
          )}
        </span>
      </div>
      {doc.warnings.length > 0 && (
        <details class="banner warn">
          <summary>{doc.warnings.length} warnings while reading</summary>
          <ul>{doc.warnings.map((w) => <li key={w}>{w}</li>)}</ul>
        </details>
      )}
      <div class="table-scroll">
        <table class="exp-table" data-testid="exp-table">
          <thead>
            <tr>
              <th scope="col">
                <span class="sr-only">compare</span>
              </th>
              {shown.map((c) => (
                <th scope="col" key={c.id} aria-sort={sort === c.id ? (order === 'asc' ? 'ascending' : 'descending') : 'none'} class={c.kind}>
                  <button type="button" data-col={c.id} onClick={() => sortBy(c.id)}>
                    {c.title}
                    {sort === c.id ? (order === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => (
              <tr
                key={e.name}
                tabIndex={0}
                data-exp={e.name}
                class={`${e.baseline ? 'baseline' : ''}${selected.includes(e.name) ? ' selected' : ''}`}
                aria-selected={selected.includes(e.name)}
                onKeyDown={(ev) => {
                  if (ev.key === ' ' || ev.key === 'x') {
                    ev.preventDefault();
                    toggle(e.name);
                  } else if (ev.key === 'j' || ev.key === 'ArrowDown') {
                    ev.preventDefault();
                    ((ev.currentTarget as HTMLElement).nextElementSibling as HTMLElement | null)?.focus();
                  } else if (ev.key === 'k' || ev.key === 'ArrowUp') {
                    ev.preventDefault();
                    ((ev.currentTarget as HTMLElement).previousElementSibling as HTMLElement | null)?.focus();
                  }
                }}
              >
                <td>
                  <input type="checkbox" aria-label={`compare ${e.name}`} checked={selected.includes(e.name)} onChange={() => toggle(e.name)} tabIndex={-1} />
                </td>
                {shown.map((c) => {
                  const v = c.value(e);
                  return (
                    <td key={c.id} class={c.kind}>
                      {c.id === 'Experiment' ? (
                        <>
                          {e.name}
                          {e.baseline ? ' (baseline)' : ''}
                        </>
                      ) : c.id === 'Duration' ? (
                        typeof v === 'number' ? formatSeconds(v) : '–'
                      ) : (
                        formatValue(v)
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {comparing.length >= 2 ? (
        <Compare rows={comparing} cols={cols} onlyDiff={params.get('diff') === '1'} />
      ) : (
        <p class="hint">Select two or more experiments (checkbox, or Space on a focused row) to compare them side by side.</p>
      )}
    </div>
  );
}
