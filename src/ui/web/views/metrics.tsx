/**
 * Metrics over time: any metric across the commits of a branch (oldest left) or across the
 * experiments, as a Vega-Lite chart; and the plots the pipeline declares, for any set of
 * revisions at once (each plot overlays its revisions, as `plots diff` draws them).
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { getJson, metricOf, type ExperimentsDoc, type MetricsHistory, type PlotsDoc, type Revisions } from '../api';
import { setParams } from '../route';
import { Chart, lineSpec } from '../chart';

function MetricPicker({ all, chosen }: { all: string[]; chosen: string[] }) {
  return (
    <fieldset class="picker">
      <legend>Metrics</legend>
      {all.map((m) => (
        <label key={m}>
          <input
            type="checkbox"
            name="metric"
            value={m}
            checked={chosen.includes(m)}
            onChange={() => setParams({ metric: (chosen.includes(m) ? chosen.filter((x) => x !== m) : [...chosen, m]).join(',') })}
          />{' '}
          {m}
        </label>
      ))}
    </fieldset>
  );
}

function OverCommits({ branch, chosen }: { branch: string; chosen: string[] }) {
  const [doc, setDoc] = useState<MetricsHistory | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    setDoc(undefined);
    setError(undefined);
    getJson<MetricsHistory>(`/api/metrics/history?branch=${encodeURIComponent(branch)}&limit=500`)
      .then(setDoc)
      .catch((e: Error) => setError(e.message));
  }, [branch]);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!doc) return <p aria-busy="true">Reading metrics at each commit of {branch}…</p>;
  const metrics = chosen.filter((m) => doc.metrics.includes(m));
  const use = metrics.length > 0 ? metrics : doc.metrics.slice(0, 1);
  const order = [...doc.commits].reverse().map((c) => c.sha.slice(0, 7));
  const points = doc.points.filter((p) => use.includes(p.metric)).map((p) => ({ x: p.rev, value: p.value, series: p.metric, tooltip: `${p.date.slice(0, 10)} ${p.subject}` }));
  return (
    <>
      <MetricPicker all={doc.metrics} chosen={use} />
      {doc.metrics.length === 0 ? (
        <p>No numeric metrics in the last {doc.commits.length} commits of {branch}.</p>
      ) : (
        <>
          <p class="summary" data-testid="metric-summary">
            {use.join(', ')} across {new Set(points.map((p) => p.x)).size} of {doc.commits.length} commits of {branch}
          </p>
          <Chart spec={lineSpec(points, `commit (${branch}, oldest left)`, order)} label={`${use.join(', ')} over commits`} />
        </>
      )}
      {doc.warnings.length > 0 && <p class="banner warn">{doc.warnings.join(' · ')}</p>}
    </>
  );
}

function OverExperiments({ chosen }: { chosen: string[] }) {
  const [doc, setDoc] = useState<ExperimentsDoc | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    getJson<ExperimentsDoc>('/api/experiments')
      .then(setDoc)
      .catch((e: Error) => setError(e.message));
  }, []);
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!doc) return <p aria-busy="true">Reading experiments…</p>;
  const use = chosen.filter((m) => doc.metrics.includes(m));
  const metrics = use.length > 0 ? use : doc.metrics.slice(0, 1);
  const exps = doc.experiments.filter((e) => !e.baseline).sort((a, b) => (a.created ?? '').localeCompare(b.created ?? ''));
  const points = exps.flatMap((e) =>
    metrics.flatMap((m) => {
      const v = metricOf(e, m);
      return typeof v === 'number' ? [{ x: e.name, value: v, series: m, tooltip: e.overrides.join(' ') }] : [];
    }),
  );
  return (
    <>
      <MetricPicker all={doc.metrics} chosen={metrics} />
      <p class="summary" data-testid="metric-summary">
        {metrics.join(', ')} across {exps.length} experiments (oldest left)
      </p>
      <Chart spec={lineSpec(points, 'experiment', exps.map((e) => e.name))} label={`${metrics.join(', ')} over experiments`} />
    </>
  );
}

function Plots({ revs, revisions }: { revs: string[]; revisions: Revisions | undefined }) {
  const [doc, setDoc] = useState<PlotsDoc | undefined>();
  const [error, setError] = useState<string | undefined>();
  const key = revs.join(',');
  useEffect(() => {
    setDoc(undefined);
    setError(undefined);
    getJson<PlotsDoc>(`/api/plots?revs=${encodeURIComponent(key)}`)
      .then(setDoc)
      .catch((e: Error) => setError(e.message));
  }, [key]);
  const choices = useMemo(() => ['workspace', 'HEAD', ...(revisions?.branches ?? []), ...(revisions?.tags ?? []), ...revs].filter((v, i, a) => a.indexOf(v) === i), [revisions, revs]);
  return (
    <section aria-label="declared plots">
      <h2>Declared plots</h2>
      <fieldset class="picker">
        <legend>Revisions (overlaid)</legend>
        {choices.map((r) => (
          <label key={r}>
            <input
              type="checkbox"
              name="plot-rev"
              value={r}
              checked={revs.includes(r)}
              onChange={() => setParams({ plots: (revs.includes(r) ? revs.filter((x) => x !== r) : [...revs, r]).join(',') })}
            />{' '}
            {r}
          </label>
        ))}
        <label>
          other revision{' '}
          <input
            type="text"
            name="plot-rev-other"
            placeholder="sha, tag, refs/exps/NAME; Enter"
            onKeyDown={(e) => {
              const v = (e.target as HTMLInputElement).value.trim();
              if (e.key === 'Enter' && v !== '' && !revs.includes(v)) setParams({ plots: [...revs, v].join(',') });
            }}
          />
        </label>
      </fieldset>
      {error && <p class="error">{error}</p>}
      {!doc && !error && <p aria-busy="true">Reading plots…</p>}
      {doc && doc.plots.length === 0 && doc.images.length === 0 && <p>The pipeline declares no plots.</p>}
      {doc && doc.problems.length > 0 && (
        <ul class="banner warn">
          {doc.problems.map((p, i) => (
            <li key={i}>
              {p.plot}
              {p.rev ? ` at ${p.rev}` : ''}: {p.reason}
            </li>
          ))}
        </ul>
      )}
      {doc?.plots.map((p) => (
        <div key={p.id} class="plot" data-plot={p.id}>
          <h3>{p.title || p.id}</h3>
          <Chart spec={p.spec} label={p.title || p.id} />
        </div>
      ))}
      {doc?.images.map((im) => (
        <div key={im.id} class="plot images" data-plot={im.id}>
          <h3>{im.title || im.id}</h3>
          {im.revisions.map((r) => (
            <figure key={r.rev}>
              <img src={r.src} alt={`${im.id} at ${r.rev}`} />
              <figcaption>{r.rev}</figcaption>
            </figure>
          ))}
        </div>
      ))}
    </section>
  );
}

export function MetricsPage({ params, revisions }: { params: URLSearchParams; revisions: Revisions | undefined }) {
  const source = params.get('source') === 'experiments' ? 'experiments' : 'commits';
  const branch = params.get('branch') ?? revisions?.current ?? 'HEAD';
  const chosen = (params.get('metric') ?? '').split(',').filter((x) => x !== '');
  const revs = (params.get('plots') ?? 'HEAD,workspace').split(',').filter((x) => x !== '');
  return (
    <div class="metrics">
      <div class="toolbar">
        <label>
          Across{' '}
          <select value={source} onChange={(e) => setParams({ source: (e.target as HTMLSelectElement).value })}>
            <option value="commits">commits of a branch</option>
            <option value="experiments">experiments</option>
          </select>
        </label>
        {source === 'commits' && (
          <label>
            Branch{' '}
            <select value={branch} onChange={(e) => setParams({ branch: (e.target as HTMLSelectElement).value })}>
              {[branch, ...(revisions?.branches ?? []), ...(revisions?.tags ?? [])]
                .filter((v, i, a) => a.indexOf(v) === i)
                .map((b) => (
                  <option key={b} value={b}>
                    {b}
                  </option>
                ))}
            </select>
          </label>
        )}
      </div>
      {source === 'commits' ? <OverCommits branch={branch} chosen={chosen} /> : <OverExperiments chosen={chosen} />}
      <Plots revs={revs} revisions={revisions} />
    </div>
  );
}
