/**
 * The dashboard page: navigation between the four views, the theme (light/dark, following the
 * system until chosen), keyboard shortcuts, and one EventSource on /api/events that keeps the
 * pipeline and the live run current. Each view's data is fetched when the view is first shown.
 */
import { render } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { appendLog, getJson, type StreamedLog, type ExperimentsDoc, type LiveState, type ModelsDoc, type PipelineView, type Revisions } from './api';
import { VIEWS, hrefFor, setParams, useRoute, type View } from './route';
import { ThemeContext } from './chart';
import { PipelinePage } from './views/pipeline';
import { ExperimentsPage } from './views/experiments';
import { MetricsPage } from './views/metrics';
import { ModelsPage } from './views/models';

const TITLES: Record<View, string> = { pipeline: 'Pipeline', experiments: 'Experiments', metrics: 'Metrics over time', models: 'Models' };

function applyTheme(t: 'light' | 'dark'): void {
  document.documentElement.dataset.theme = t;
}

function initialTheme(): 'light' | 'dark' {
  const saved = localStorage.getItem('mlbuild-theme');
  if (saved === 'light' || saved === 'dark') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

/** Fetches once per `key` change; `reload` fetches again. */
function useData<T>(url: string | undefined): { data: T | undefined; error: string | undefined; set: (t: T) => void } {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (!url) return;
    getJson<T>(url)
      .then((d) => {
        setData(d);
        setError(undefined);
      })
      .catch((e: Error) => setError(e.message));
  }, [url]);
  return { data, error, set: setData };
}

const HELP: [string, string][] = [
  ['1 – 4', 'Pipeline, Experiments, Metrics, Models'],
  ['t', 'switch light / dark theme'],
  ['/', 'focus the experiments filter'],
  ['j / k or ↓ / ↑', 'next / previous experiment row'],
  ['Space or x', 'select a focused experiment for comparison'],
  ['Tab, Enter', 'move between and open stages of the graph'],
  ['Esc', 'clear the selection'],
  ['?', 'this help'],
];

function App() {
  const route = useRoute();
  const [theme, setTheme] = useState(initialTheme);
  const [help, setHelp] = useState(false);
  const [seen, setSeen] = useState<Set<View>>(() => new Set([route.view]));
  const pipeline = useData<PipelineView>('/api/pipeline');
  const [live, setLive] = useState<LiveState | undefined>();
  const [logs, setLogs] = useState<Map<string, StreamedLog>>(() => new Map());
  const [connected, setConnected] = useState(false);
  const experiments = useData<ExperimentsDoc>(seen.has('experiments') ? '/api/experiments' : undefined);
  const models = useData<ModelsDoc>(seen.has('models') ? '/api/models' : undefined);
  const revisions = useData<Revisions>(seen.has('metrics') ? '/api/revisions' : undefined);

  useEffect(() => applyTheme(theme), [theme]);
  const toggleTheme = useCallback(() => {
    const next = theme === 'dark' ? 'light' : 'dark';
    localStorage.setItem('mlbuild-theme', next);
    setTheme(next);
  }, [theme]);
  useEffect(() => setSeen((s) => (s.has(route.view) ? s : new Set([...s, route.view]))), [route.view]);
  useEffect(() => {
    document.title = `${TITLES[route.view]} · mlbuild`;
  }, [route.view]);

  useEffect(() => {
    const es = new EventSource('/api/events');
    es.addEventListener('hello', (e) => {
      setLive(JSON.parse((e as MessageEvent<string>).data) as LiveState);
      setConnected(true);
    });
    es.addEventListener('live', (e) => {
      const l = JSON.parse((e as MessageEvent<string>).data) as LiveState;
      setLive((prev) => {
        // A stage that starts (again) writes a new log: forget what was streamed of the old one.
        const before = new Set(prev?.running.map((r) => r.stage));
        const started = l.running.filter((r) => !before.has(r.stage)).map((r) => r.stage);
        if (started.length > 0)
          setLogs((m) => {
            const next = new Map(m);
            for (const s of started) next.delete(s);
            return next;
          });
        return l;
      });
    });
    es.addEventListener('pipeline', (e) => pipeline.set(JSON.parse((e as MessageEvent<string>).data) as PipelineView));
    es.addEventListener('log', (e) => {
      const { stage, text, end } = JSON.parse((e as MessageEvent<string>).data) as { stage: string; text: string; end: number };
      setLogs((m) => new Map(m).set(stage, appendLog(m.get(stage), text, end)));
    });
    es.onerror = () => setConnected(false);
    return () => es.close();
    // The stream is opened once for the page's lifetime.
  }, []);

  const onKey = useCallback(
    (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA') {
        if (e.key === 'Escape') t.blur();
        return;
      }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const n = Number(e.key);
      if (Number.isInteger(n) && n >= 1 && n <= VIEWS.length) location.hash = hrefFor(VIEWS[n - 1]!);
      else if (e.key === 't') toggleTheme();
      else if (e.key === '?') setHelp((h) => !h);
      else if (e.key === '/') {
        const f = document.getElementById('filter');
        if (f) {
          e.preventDefault();
          f.focus();
        }
      } else if (e.key === 'Escape') {
        setHelp(false);
        setParams({ stage: undefined, compare: undefined });
      }
    },
    [toggleTheme],
  );
  useEffect(() => {
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, [onKey]);

  return (
    <ThemeContext.Provider value={theme}>
      <header>
        <h1>mlbuild</h1>
        <nav aria-label="views">
          {VIEWS.map((v, i) => (
            <a key={v} href={hrefFor(v)} aria-current={route.view === v ? 'page' : undefined} data-view={v}>
              <span class="key" aria-hidden="true">
                {i + 1}
              </span>{' '}
              {TITLES[v]}
            </a>
          ))}
        </nav>
        <span class="status" data-connected={connected ? 'true' : 'false'}>
          {connected ? '● live' : '○ offline'}
        </span>
        <button
          type="button"
          class="theme"
          onClick={toggleTheme}
          aria-label={`switch to ${theme === 'dark' ? 'light' : 'dark'} theme`}
        >
          {theme === 'dark' ? '☀ light' : '☾ dark'}
        </button>
        <button type="button" onClick={() => setHelp((h) => !h)} aria-expanded={help}>
          ? keys
        </button>
      </header>
      {help && (
        <dialog open class="help" aria-label="keyboard shortcuts">
          <table>
            <tbody>
              {HELP.map(([k, d]) => (
                <tr key={k}>
                  <th scope="row">
                    <kbd>{k}</kbd>
                  </th>
                  <td>{d}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <button type="button" onClick={() => setHelp(false)}>
            close
          </button>
        </dialog>
      )}
      <main id="view" data-view={route.view}>
        <h1 class="view-title">{TITLES[route.view]}</h1>
        {route.view === 'pipeline' && (
          <PipelinePage view={pipeline.data} live={live} logs={logs} selected={route.params.get('stage') ?? undefined} error={pipeline.error} />
        )}
        {route.view === 'experiments' && <ExperimentsPage doc={experiments.data} error={experiments.error} params={route.params} />}
        {route.view === 'metrics' && <MetricsPage params={route.params} revisions={revisions.data} />}
        {route.view === 'models' && <ModelsPage doc={models.data} error={models.error} params={route.params} />}
      </main>
    </ThemeContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
