/**
 * The Pipeline view: the DAG laid out in layers (a stage sits one layer right of its deepest
 * upstream), each stage labelled with its state in words and a glyph (never colour alone); the
 * selected stage's reasons, timings and log; the live run's progress and ETA.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { formatSeconds, getJson, joinLog, staleSummary, type LiveState, type StreamedLog, type PipelineView, type StageView } from '../api';
import { setParams } from '../route';

export const STATE_LABEL: Record<StageView['state'], [string, string]> = {
  'up-to-date': ['✓', 'up to date'],
  stale: ['!', 'stale'],
  running: ['▶', 'running'],
  failed: ['✗', 'failed'],
  frozen: ['❄', 'frozen'],
};

const clip = (t: string, n: number): string => (t.length > n ? t.slice(0, n - 1) + '…' : t);

const W = 200;
const H = 52;
const GX = 70;
const GY = 22;

interface Layout {
  pos: Map<string, { x: number; y: number }>;
  width: number;
  height: number;
}

/** Layers by longest path from a source; within a layer, ordered by the mean row of the upstream (one sweep). */
export function layout(stages: StageView[]): Layout {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const layer = new Map<string, number>();
  const depth = (n: string, seen: Set<string>): number => {
    const known = layer.get(n);
    if (known !== undefined) return known;
    if (seen.has(n)) return 0;
    seen.add(n);
    const ups = byName.get(n)?.upstream.filter((u) => byName.has(u)) ?? [];
    const d = ups.length === 0 ? 0 : 1 + Math.max(...ups.map((u) => depth(u, seen)));
    layer.set(n, d);
    return d;
  };
  for (const s of stages) depth(s.name, new Set());
  const layers: string[][] = [];
  for (const s of stages) (layers[layer.get(s.name)!] ??= []).push(s.name);
  const row = new Map<string, number>();
  layers.forEach((names, li) => {
    if (li > 0) {
      const key = (n: string) => {
        const ups = byName.get(n)!.upstream.map((u) => row.get(u) ?? 0);
        return ups.length ? ups.reduce((a, b) => a + b, 0) / ups.length : 0;
      };
      names.sort((a, b) => key(a) - key(b) || a.localeCompare(b));
    }
    names.forEach((n, i) => row.set(n, i));
  });
  const pos = new Map<string, { x: number; y: number }>();
  for (const s of stages) pos.set(s.name, { x: 10 + layer.get(s.name)! * (W + GX), y: 10 + row.get(s.name)! * (H + GY) });
  const rows = Math.max(1, ...layers.map((l) => l.length));
  return { pos, width: 20 + layers.length * (W + GX) - GX, height: 20 + rows * (H + GY) - GY };
}

function Dag({ stages, selected }: { stages: StageView[]; selected: string | undefined }) {
  const lay = useMemo(() => layout(stages), [stages]);
  return (
    <div class="dag-scroll">
      <svg class="dag" width={lay.width} height={lay.height} role="group" aria-label="pipeline graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" class="arrowhead" />
          </marker>
        </defs>
        {stages.flatMap((s) =>
          s.upstream.map((u) => {
            const a = lay.pos.get(u);
            const b = lay.pos.get(s.name)!;
            if (!a) return null;
            const x1 = a.x + W;
            const y1 = a.y + H / 2;
            const x2 = b.x;
            const y2 = b.y + H / 2;
            return <path key={`${u}->${s.name}`} class="edge" d={`M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2 - 2},${y2}`} marker-end="url(#arrow)" />;
          }),
        )}
        {stages.map((s) => {
          const p = lay.pos.get(s.name)!;
          const [glyph, label] = STATE_LABEL[s.state];
          return (
            <g
              key={s.name}
              class={`node state-${s.state}${selected === s.name ? ' selected' : ''}`}
              transform={`translate(${p.x},${p.y})`}
              // SVG attributes are case-sensitive: `tabIndex` would not make the node focusable.
              tabindex={0}
              role="button"
              aria-pressed={selected === s.name}
              aria-label={`${s.name}: ${label}${s.reasons.length ? ` (${s.reasons.join('; ')})` : ''}`}
              data-stage={s.name}
              data-state={s.state}
              onClick={() => setParams({ stage: s.name })}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ' ') {
                  e.preventDefault();
                  setParams({ stage: s.name });
                }
              }}
            >
              <title>{`${s.name}: ${label}${s.reasons.length ? ` (${s.reasons.join('; ')})` : ''}`}</title>
              <rect width={W} height={H} rx="6" />
              <text x="10" y="20" class="node-name">
                {clip(s.name, 24)}
              </text>
              <text x="10" y="40" class="node-state">
                {clip(`${glyph} ${label}${(s.state === 'stale' || s.state === 'failed') && s.reasons[0] ? ` · ${s.reasons[0]}` : ''}`, 29)}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function LogPanel({ stage, live, logs }: { stage: string; live: boolean; logs: Map<string, StreamedLog> }) {
  const [fetched, setFetched] = useState<{ text: string; size: number } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [again, setAgain] = useState(0);
  const pre = useRef<HTMLPreElement>(null);
  useEffect(() => {
    getJson<{ text: string; size: number; truncated: boolean }>(`/api/logs/${encodeURIComponent(stage)}`)
      .then((r) => setFetched({ text: (r.truncated ? '…\n' : '') + r.text, size: r.size }))
      .catch((e: Error) => setError(e.message));
  }, [stage, live, again]);
  const streamed = logs.get(stage);
  const joined = fetched && (live ? joinLog(fetched, streamed) : fetched.text);
  useEffect(() => {
    // What streamed does not meet what was fetched (a new run of the stage): fetch again.
    if (fetched && joined === undefined) setAgain((n) => n + 1);
  }, [fetched, joined]);
  useEffect(() => {
    if (pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [joined]);
  if (error) return <p class="error">{error}</p>;
  return (
    <pre class="log" ref={pre} aria-label={`log of ${stage}`} data-live={live ? 'true' : 'false'}>
      {joined === undefined ? 'loading…' : joined === '' ? '(no log yet)' : joined}
    </pre>
  );
}

function Details({ s, live, logs }: { s: StageView; live: LiveState | undefined; logs: Map<string, StreamedLog> }) {
  const [glyph, label] = STATE_LABEL[s.state];
  const running = live?.running.find((r) => r.stage === s.name);
  return (
    <aside class="details" aria-label={`stage ${s.name}`}>
      <h2>
        {s.name} <span class={`badge state-${s.state}`}>{glyph} {label}</span>
      </h2>
      {s.desc && <p>{s.desc}</p>}
      {s.reasons.length > 0 && (
        <>
          <h3>Why {s.state === 'failed' ? 'it must run again' : s.state === 'running' ? 'it runs' : 'it is stale'}</h3>
          <ul class="reasons">
            {s.reasons.map((r) => (
              <li key={r}>{r}</li>
            ))}
          </ul>
          {s.restorable && <p>Restorable from the cache without running.</p>}
        </>
      )}
      <dl>
        <dt>Expected time</dt>
        <dd>{s.expected_s === null ? 'unknown (never ran successfully here)' : formatSeconds(s.expected_s)}</dd>
        <dt>Expected cost</dt>
        <dd>{s.expected_cost ? `${formatSeconds(s.expected_cost.cpu_s)} CPU${s.expected_cost.gpu_s > 0 ? `, ${formatSeconds(s.expected_cost.gpu_s)} GPU` : ''}` : 'unknown'}</dd>
        <dt>Last run</dt>
        <dd>
          {s.last_run
            ? `${s.last_run.ok ? 'succeeded' : `failed (exit ${s.last_run.exit_code ?? 'signal'})`} · ${formatSeconds(s.last_run.wall_s)} · ${s.last_run.started.replace('T', ' ').slice(0, 19)}`
            : 'none recorded'}
        </dd>
        {running && (
          <>
            <dt>Running for</dt>
            <dd>{formatSeconds((Date.now() - Date.parse(running.since)) / 1000)}</dd>
          </>
        )}
        <dt>Command</dt>
        <dd>
          <code>{s.cmd.join(' && ')}</code>
        </dd>
        <dt>Depends on</dt>
        <dd>{s.deps.length ? s.deps.join(', ') : '–'}</dd>
        <dt>Params</dt>
        <dd>{s.params.length ? s.params.join(', ') : '–'}</dd>
        <dt>Outputs</dt>
        <dd>{s.outs.length ? s.outs.map((o) => (o.kind === 'out' ? o.path : `${o.path} (${o.kind})`)).join(', ') : '–'}</dd>
      </dl>
      <h3>Log</h3>
      <LogPanel stage={s.name} live={running !== undefined} logs={logs} />
    </aside>
  );
}

function LiveBar({ live }: { live: LiveState }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => tick((x) => x + 1), 1000);
    return () => clearInterval(t);
  }, []);
  if (!live.active) {
    if (live.interrupted.length > 0) return <p class="banner warn">✗ A run was interrupted while running: {live.interrupted.join(', ')}</p>;
    return null;
  }
  const p = live.progress;
  return (
    <section class="banner live" aria-live="polite" data-testid="live">
      <strong>▶ repro running</strong> (pid {live.pid}){' '}
      {p && (
        <>
          · <progress max={p.total || 1} value={p.done} aria-label="stages done" /> {p.done}/{p.total} stages
          {' · ETA '}
          {p.eta_s === null ? '?' : p.eta_s === 0 && live.running.length > 0 ? 'any moment (past the expected time)' : formatSeconds(p.eta_s)}
          {p.unknown > 0 ? ` (+${p.unknown} of unknown duration)` : ''}
        </>
      )}
      {live.running.length > 0 && <> · now: {live.running.map((r) => r.stage).join(', ')}</>}
    </section>
  );
}

export function PipelinePage({ view, live, logs, selected, error }: { view: PipelineView | undefined; live: LiveState | undefined; logs: Map<string, StreamedLog>; selected: string | undefined; error: string | undefined }) {
  if (error) return <p class="error" role="alert">{error}</p>;
  if (!view) return <p aria-busy="true">Assessing the pipeline…</p>;
  const sel = view.stages.find((s) => s.name === selected);
  const e = view.stale_expected;
  return (
    <div class="pipeline">
      {live && <LiveBar live={live} />}
      <p class="summary" data-testid="pipeline-summary">
        {view.up_to_date
          ? `✓ All ${view.stages.length} stages of ${view.pipeline_file} are up to date.`
          : staleSummary(e, view.stages.length)}
      </p>
      <div class="pipeline-body">
        <Dag stages={view.stages} selected={selected} />
        {sel ? <Details s={sel} live={live} logs={logs} /> : <aside class="details hint">Select a stage (click, or Tab then Enter) for its reasons, timings and log.</aside>}
      </div>
    </div>
  );
}
