/** The JSON API's shapes (src/ui/dashboard.ts) and a fetch that turns an error answer into a message. */

export interface StageView {
  name: string;
  group: string;
  desc: string | null;
  cmd: string[];
  deps: string[];
  outs: { path: string; kind: string }[];
  params: string[];
  state: 'up-to-date' | 'stale' | 'running' | 'failed' | 'frozen';
  stale: boolean;
  restorable: boolean;
  /** Up to date through dvc.lock (a stage DVC built). */
  adopted: boolean;
  reasons: string[];
  reason_codes: string[];
  upstream: string[];
  expected_s: number | null;
  expected_cost: { cpu_s: number | null; gpu_s: number } | null;
  last_run: { started: string; wall_s: number; ok: boolean; exit_code: number | null } | null;
}

export interface PipelineView {
  version: 1;
  pipeline_file: string;
  up_to_date: boolean;
  stages: StageView[];
  stale_expected: { seconds: number; cpu_s: number; gpu_s: number; stages: number; unknown: number; cpu_unknown: number };
}

export interface LiveState {
  active: boolean;
  pid: number | null;
  started: string | null;
  running: { stage: string; since: string; expected_s: number | null }[];
  finished: { stage: string; ok: boolean; wall_s: number; exit_code: number | null }[];
  interrupted: string[];
  progress: { done: number; total: number; eta_s: number | null; unknown: number } | null;
}

export type Scalar = string | number | boolean | null;

export interface Experiment {
  name: string;
  baseline: boolean;
  rev: string | null;
  base: string | null;
  created: string | null;
  status: string | null;
  duration_s: number | null;
  cost: { cpu_s?: number } | null;
  overrides: string[];
  params: Record<string, Scalar>;
  metrics: Record<string, Record<string, Scalar>>;
}

export interface ExperimentsDoc {
  experiments: Experiment[];
  params: string[];
  metrics: string[];
  warnings: string[];
}

export interface MetricPoint {
  rev: string;
  sha: string;
  date: string;
  subject: string;
  file: string;
  metric: string;
  value: number;
}

export interface MetricsHistory {
  branch: string;
  commits: { sha: string; date: string; subject: string }[];
  metrics: string[];
  points: MetricPoint[];
  warnings: string[];
}

export interface PlotsDoc {
  revisions: string[];
  plots: { id: string; title: string; spec: Record<string, unknown>; datapoints: unknown[] }[];
  /** Image plots (.png/.jpg/.svg/.gif): each revision's image as a data: URI, side by side. */
  images: { id: string; title: string; revisions: { rev: string; file: string; mime: string; size: number; src: string }[] }[];
  problems: { plot: string; file?: string; rev?: string; reason: string }[];
}

export interface ModelVersion {
  version: string;
  sha: string;
  date: string | null;
  registered: boolean;
  message: string;
  deregistered: boolean;
  stages: string[];
}

export interface Model {
  name: string;
  deprecated: boolean;
  versions: ModelVersion[];
  stages: Record<string, string>;
  events: { tag: string; date: string; kind: string; version: string | null; stage: string | null }[];
  metrics: Record<string, Record<string, number>>;
}

export interface ModelsDoc {
  models: Model[];
  drift: MetricsHistory | null;
}

export interface Revisions {
  current: string | null;
  branches: string[];
  tags: string[];
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `${res.status} ${res.statusText}`);
  return body;
}

/** The value of a metric column `file:key` in an experiment. */
export function metricOf(e: Experiment, col: string): Scalar | undefined {
  for (const [file, vals] of Object.entries(e.metrics)) {
    if (col.startsWith(file + ':')) return vals[col.slice(file.length + 1)];
  }
  return undefined;
}

export const formatSeconds = (s: number | null | undefined): string => {
  if (s === null || s === undefined) return '?';
  if (s < 1) return `${Math.round(s * 1000)}ms`;
  if (s < 60) return `${s.toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(Math.round(s - m * 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
};

/**
 * The pipeline summary's line for stale stages: the expected time and cost of the timed ones, and
 * how many were never timed. With none timed there is no estimate, not a cost of "0ms".
 */
export function staleSummary(e: PipelineView['stale_expected'], total: number): string {
  const head = `! ${e.stages} of ${total} stages are stale`;
  const untimed = `${e.unknown} stage${e.unknown === 1 ? '' : 's'} never timed`;
  if (e.unknown >= e.stages) return `${head} · no estimate yet: ${untimed}`;
  const gpu = e.gpu_s > 0 ? `, ${formatSeconds(e.gpu_s)} GPU` : '';
  // A run whose CPU was not measured costs '?', not 0 (as the stage panel says).
  const measured = e.stages - e.unknown - e.cpu_unknown;
  const unmeasured = `${e.cpu_unknown} stage${e.cpu_unknown === 1 ? '' : 's'} not measured`;
  const cpu = measured <= 0 ? 'CPU not measured' : `${formatSeconds(e.cpu_s)} CPU${e.cpu_unknown ? ` + ${unmeasured}` : ''}`;
  return `${head} · expected time to bring them up to date: ${formatSeconds(e.seconds)}${e.unknown ? ` + ${untimed}` : ''} · cost ${cpu}${gpu}`;
}

export const formatValue = (v: Scalar | undefined): string => {
  if (v === undefined || v === null) return '–';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(5)));
  return String(v);
};

const utf8 = new TextEncoder();

/** Log text streamed over SSE: `text` is the file's bytes from offset `start`. */
export interface StreamedLog {
  start: number;
  text: string;
}

/** Joins a streamed chunk ending at byte `end`; a gap (or a new run) starts a new piece. */
export function appendLog(prev: StreamedLog | undefined, text: string, end: number): StreamedLog {
  const start = end - utf8.encode(text).length;
  if (prev && prev.start + utf8.encode(prev.text).length === start) return { start: prev.start, text: prev.text + text };
  return { start, text };
}

/** What was fetched (`size` bytes) joined with what was streamed after it; undefined if they do not meet. */
export function joinLog(fetched: { text: string; size: number }, streamed: StreamedLog | undefined): string | undefined {
  if (!streamed) return fetched.text;
  const bytes = utf8.encode(streamed.text);
  const streamedEnd = streamed.start + bytes.length;
  if (streamedEnd <= fetched.size) return fetched.text;
  if (streamed.start > fetched.size) return undefined;
  return fetched.text + new TextDecoder().decode(bytes.subarray(fetched.size - streamed.start));
}
