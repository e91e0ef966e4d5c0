/**
 * Models: the registry read from GTO git tags (versions, the stage each holds, every event), each
 * version with the metrics at its commit; and the drift reports (metrics naming drift) over the
 * commits of the current branch.
 */
import { formatValue, type ModelsDoc } from '../api';
import { setParams } from '../route';
import { Chart, lineSpec } from '../chart';

export function ModelsPage({ doc, error, params }: { doc: ModelsDoc | undefined; error: string | undefined; params: URLSearchParams }) {
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!doc) return <p aria-busy="true">Reading the registry…</p>;
  const name = params.get('model') ?? doc.models[0]?.name;
  const model = doc.models.find((m) => m.name === name);
  const metricKeys = model ? [...new Set(Object.values(model.metrics).flatMap((v) => Object.keys(v)))].sort() : [];
  const drift = doc.drift;
  return (
    <div class="models">
      {doc.models.length === 0 ? (
        <p>No registered models: the registry is the annotated git tags of `mlbuild model register` / `assign` (GTO format: NAME@vX.Y.Z, NAME#STAGE#N).</p>
      ) : (
        <nav aria-label="models" class="tabs">
          {doc.models.map((m) => (
            <button key={m.name} type="button" aria-pressed={m.name === name} onClick={() => setParams({ model: m.name })}>
              {m.name}
              {m.deprecated ? ' (deprecated)' : ''}
            </button>
          ))}
        </nav>
      )}
      {model && (
        <section aria-label={`model ${model.name}`} data-testid="model">
          <h2>{model.name}</h2>
          <p>
            Stages:{' '}
            {Object.keys(model.stages).length === 0
              ? 'none assigned'
              : Object.entries(model.stages)
                  .map(([s, v]) => `${s} → ${v}`)
                  .join(' · ')}
          </p>
          <div class="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Version</th>
                  <th scope="col">Stages</th>
                  <th scope="col">Commit</th>
                  <th scope="col">Registered</th>
                  {metricKeys.map((k) => (
                    <th scope="col" key={k}>
                      {k}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {model.versions.map((v) => (
                  <tr key={v.version} data-version={v.version}>
                    <th scope="row">
                      {v.version}
                      {v.deregistered ? ' (deregistered)' : ''}
                    </th>
                    <td>{v.stages.join(', ') || '–'}</td>
                    <td>
                      <code>{v.sha.slice(0, 7)}</code>
                    </td>
                    <td>{v.date ? v.date.replace('T', ' ').slice(0, 16) : 'not registered'}</td>
                    {metricKeys.map((k) => (
                      <td key={k}>{formatValue(model.metrics[v.version]?.[k])}</td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <details>
            <summary>History ({model.events.length} tags)</summary>
            <ol>
              {model.events.map((e) => (
                <li key={e.tag}>
                  <code>{e.tag}</code> {e.date.replace('T', ' ').slice(0, 16)} {e.kind}
                  {e.version ? ` ${e.version}` : ''}
                  {e.stage ? ` → ${e.stage}` : ''}
                </li>
              ))}
            </ol>
          </details>
        </section>
      )}
      <section aria-label="drift">
        <h2>Drift</h2>
        {drift ? (
          <Chart
            spec={lineSpec(
              drift.points.map((p) => ({ x: p.rev, value: p.value, series: p.metric, tooltip: `${p.date.slice(0, 10)} ${p.subject}` })),
              `commit (${drift.branch}, oldest left)`,
              [...drift.commits].reverse().map((c) => c.sha.slice(0, 7)),
            )}
            label="drift over commits"
          />
        ) : (
          <p>No drift reports: no declared metric names drift (the reports of `mlbuild monitor`).</p>
        )}
      </section>
    </div>
  );
}
