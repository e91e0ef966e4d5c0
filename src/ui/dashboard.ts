/**
 * What the ui's JSON API serves, as plain async functions over one project: each reads through
 * the modules the CLI uses (status: run/assess; exp show: collectExpRows; metrics diff: metricSources
 * and loadEntryAt over RevisionFiles; plots diff: expandFolders and buildPage) and returns a JSON-ready value or an expected failure. Long-lived state is
 * only memoisation of immutable things (a commit's metrics, an experiment's row) and the live-run
 * watcher. Nothing here writes to the project or runs a command; HTTP is server.ts's job.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import { formatDiagnostics, type Diagnostic } from '../report/diagnostic.js';
import { GitReader } from '../metrics/git-reader.js';
import { type Result, ok } from '../util/result.js';
import { ExpRepo } from '../exp/repo.js';
import { buildExpTable } from '../exp/table.js';
import { collectExpRows, expJson, type ShownRow } from '../exp/rows.js';
import { metricSources, type MetricsSource } from '../metrics/sources.js';
import { buildPage, expandFolders, selectPlots } from '../plots/page.js';
import { RevisionFiles, WORKSPACE, openRevisions } from '../metrics/revisions.js';
import { logFileName } from '../run/stage-run.js';
import { collectingTerminal } from './collect-terminal.js';
import { RunLog } from './run-log.js';
import { LiveRun, type LiveSnapshot } from './live-run.js';
import { pipelineView, type PipelineView } from './pipeline-state.js';
import { MetricsMemo, metricsHistory, type HistorySource, type MetricsHistory } from './metrics-history.js';
import { GitTagStore } from '../registry/git-tags.js';
import { registryState, type ArtifactState } from '../registry/state.js';

/** An expected failure: the HTTP status it maps to and the message for the user. */
export interface Failure {
  readonly status: 400 | 403 | 404 | 409 | 500;
  readonly message: string;
}

export type Answer<T> = { ok: true; value: T } | { ok: false; error: Failure };
const yes = <T>(value: T): Answer<T> => ({ ok: true, value });
const no = (status: Failure['status'], message: string): Answer<never> => ({ ok: false, error: { status, message } });
const diagnostics = (ds: readonly Diagnostic[]): Answer<never> => no(409, formatDiagnostics(ds));

/** A registry artifact as the Models view shows it (JSON: dates ISO, maps as objects). */
export interface ModelView {
  readonly name: string;
  readonly deprecated: boolean;
  /** Newest first. */
  readonly versions: { version: string; sha: string; date: string | null; message: string; deregistered: boolean; registered: boolean; stages: string[] }[];
  /** STAGE -> the version holding it now. */
  readonly stages: Record<string, string>;
  /** Every registry event, oldest first. */
  readonly events: { tag: string; date: string; kind: string; version: string | null; stage: string | null }[];
  /** version -> `FILE:KEY` -> value at the version's commit. */
  metrics: Record<string, Record<string, number>>;
}

const isoSeconds = (t: number): string => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

function modelView(a: ArtifactState): ModelView {
  const registration = new Map(a.events.filter((e) => e.action === 'register').map((e) => [e.version, e]));
  return {
    name: a.name,
    deprecated: a.deprecated,
    versions: a.versions.map((v) => ({
      version: v.version,
      sha: v.commit,
      date: v.registeredAt === undefined ? null : isoSeconds(v.registeredAt),
      message: registration.get(v.version)?.message.split('\n')[0] ?? '',
      deregistered: !v.active,
      registered: v.registered,
      stages: v.stages,
    })),
    stages: Object.fromEntries(a.stages),
    events: a.events.map((e) => ({ tag: e.tag, date: isoSeconds(e.time), kind: e.action, version: e.version ?? null, stage: e.stage ?? null })),
    metrics: {},
  };
}

export interface Progress {
  readonly done: number;
  readonly total: number;
  /** Seconds left: running stages' expected remainder plus the stale stages not started (serial). */
  readonly eta_s: number | null;
  /** Stages left whose time the run history does not know. */
  readonly unknown: number;
}

/** Where `mlbuild monitor` writes its drift report by default (`-o`). */
const MONITOR_REPORT = 'monitor/drift.json';

/** A log is served from its end: a stage that printed gigabytes still answers quickly. */
const LOG_TAIL_BYTES = 256 * 1024;

export class Dashboard {
  readonly runs: RunLog;
  readonly live: LiveRun;
  readonly #memo = new MetricsMemo();
  readonly #expMemo = new Map<string, ShownRow>();
  #readers: Promise<Result<{ git: GitReader; repo: ExpRepo }, Diagnostic[]>> | undefined;
  #pipeline: { at: number; view: PipelineView } | undefined;
  #computing: Promise<Answer<PipelineView>> | undefined;

  constructor(readonly project: Project) {
    this.runs = new RunLog(project.mlcacheDir);
    this.live = new LiveRun(project.mlcacheDir, this.runs);
  }

  /** `<pipeline file>` relative to the project root. */
  get pipelineName(): string {
    return path.basename(this.project.pipelineFile);
  }

  #git(): Promise<Result<{ git: GitReader; repo: ExpRepo }, Diagnostic[]>> {
    this.#readers ??= (async () => {
      const git = await GitReader.open(this.project.root);
      if (!git.ok) return git;
      const repo = await ExpRepo.open(this.project.root);
      if (!repo.ok) return repo;
      return ok({ git: git.value, repo: repo.value });
    })();
    return this.#readers;
  }

  /** The metrics and params files the workspace pipeline names (metricSources). */
  async #sources(): Promise<Answer<MetricsSource>> {
    const src = await metricSources(this.project);
    return src.ok ? yes(src.value) : diagnostics(src.error);
  }

  /** `status --json` plus the DAG, run history and live state. Concurrent callers share one assessment. */
  async pipeline(): Promise<Answer<PipelineView>> {
    this.#computing ??= pipelineView(this.project, this.runs, this.live).then(
      (r) => {
        this.#computing = undefined;
        if (!r.ok) return diagnostics(r.error);
        this.#pipeline = { at: Date.now(), view: r.value };
        return yes(r.value);
      },
      (e: unknown) => {
        this.#computing = undefined;
        throw e;
      },
    );
    return this.#computing;
  }

  /** The live run with its progress, judged against the latest pipeline assessment. */
  liveState(): LiveSnapshot & { progress: Progress | null } {
    const snap = this.live.snapshot;
    const view = this.#pipeline?.view;
    if (!snap.active || !view) return { ...snap, progress: null };
    const running = new Set(snap.running.map((r) => r.stage));
    const finished = new Set(snap.finished.map((f) => f.stage));
    const left = view.stages.filter((s) => s.stale && !running.has(s.name) && !finished.has(s.name));
    let eta = 0;
    let unknown = 0;
    const now = Date.now();
    for (const r of snap.running) {
      if (r.expected_s === null) unknown++;
      else eta += Math.max(0, r.expected_s - (now - Date.parse(r.since)) / 1000);
    }
    for (const s of left) {
      if (s.expected_s === null) unknown++;
      else eta += s.expected_s;
    }
    const done = snap.finished.length;
    return { ...snap, progress: { done, total: done + running.size + left.length, eta_s: Math.round(eta * 10) / 10, unknown } };
  }

  /** The end of a stage's log (`.mlcache/logs/`); only stages of the pipeline have one. */
  async log(stage: string): Promise<Answer<{ stage: string; text: string; truncated: boolean; size: number }>> {
    const view = this.#pipeline?.view ?? (await this.pipeline().then((r) => (r.ok ? r.value : undefined)));
    if (!view?.stages.some((s) => s.name === stage)) return no(404, `no stage '${stage}' in ${this.pipelineName}`);
    const file = path.join(this.project.mlcacheDir, 'logs', logFileName(stage));
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch {
      return yes({ stage, text: '', truncated: false, size: 0 });
    }
    try {
      const size = fs.fstatSync(fd).size;
      const start = Math.max(0, size - LOG_TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      // A log truncated between the stat and the read (a stage's next run) reads short: only what
      // was read is the log, never the zero bytes of the rest of the buffer.
      const read = fs.readSync(fd, buf, 0, buf.length, start);
      return yes({ stage, text: buf.subarray(0, read).toString('utf8'), truncated: start > 0, size: start + read });
    } finally {
      fs.closeSync(fd);
    }
  }

  #expInFlight: ReturnType<Dashboard['readExperiments']> | undefined;

  /** `exp show --json`; concurrent callers (a warm-up and a page) share one read. */
  experiments(): ReturnType<Dashboard['readExperiments']> {
    this.#expInFlight ??= this.readExperiments().finally(() => (this.#expInFlight = undefined));
    return this.#expInFlight;
  }

  /**
   * Reads, in the background, what the other views will ask for (experiments, the branch's metrics),
   * so that the slow first read of hundreds of git objects is done before anyone opens them.
   * Errors are left for the real request to report.
   */
  async warmUp(): Promise<void> {
    await this.experiments().catch(() => undefined);
    await this.metricsHistory(undefined, 500, undefined).catch(() => undefined);
  }

  /** `exp show --json` (every param, so the page can choose columns) plus the column lists. */
  async readExperiments(): Promise<Answer<{ version: 1; experiments: ReturnType<typeof expJson>[]; params: string[]; metrics: string[]; warnings: string[] }>> {
    const opened = await this.#git();
    if (!opened.ok) return diagnostics(opened.error);
    const readers = opened.value;
    const src = await this.#sources();
    if (!src.ok) return src;
    const term = collectingTerminal();
    const files = new RevisionFiles(this.project, readers.git, src.value.cachedOuts);
    const rows = await collectExpRows(this.project, term, { repo: readers.repo, git: readers.git, metrics: src.value, files }, this.#expMemo);
    const table = buildExpTable(rows, { all: true, sortBy: undefined, sortOrder: 'asc', precision: 5 });
    if (!table.ok) return no(500, table.error);
    const experiments = (table.value.rows as ShownRow[]).map(expJson);
    const params = [...new Set(rows.flatMap((r) => [...(r.params?.keys() ?? [])]))];
    const metrics = [...new Set(rows.flatMap((r) => [...r.metrics].flatMap(([f, flat]) => [...flat.keys()].map((k) => `${f}:${k}`))))];
    return yes({ version: 1, experiments, params, metrics, warnings: [...new Set(term.warnings)] });
  }

  /** Branches and tags to pick from, and the current branch. */
  async revisions(): Promise<Answer<{ current: string | null; branches: string[]; tags: string[] }>> {
    const opened = await this.#git();
    if (!opened.ok) return diagnostics(opened.error);
    const readers = opened.value;
    const raw = async (args: string[]) => (await readers.repo.raw(args)).split('\n').filter((l) => l !== '');
    const head = await readers.repo.run(['rev-parse', '--abbrev-ref', 'HEAD']);
    const current = head.ok ? head.value.trim() : '';
    return yes({
      current: current === '' || current === 'HEAD' ? null : current,
      branches: await raw(['for-each-ref', '--format=%(refname:short)', 'refs/heads']),
      tags: await raw(['for-each-ref', '--sort=-creatordate', '--format=%(refname:short)', 'refs/tags']),
    });
  }

  /** Every numeric metric across the first-parent commits of `branch`. */
  async metricsHistory(branch: string | undefined, limit: number, file: string | undefined): Promise<Answer<MetricsHistory>> {
    const opened = await this.#git();
    if (!opened.ok) return diagnostics(opened.error);
    const readers = opened.value;
    const rev = branch ?? 'HEAD';
    if (!(await readers.git.verify(rev)).ok) return no(404, `unknown branch or revision '${rev}'`);
    const src = await this.#sources();
    if (!src.ok) return src;
    let entries = src.value.entries;
    if (file !== undefined) {
      const inside = this.#projectPath(file);
      if (!inside.ok) return inside;
      const rel = inside.value;
      // A declared file or folder, or a file inside a declared folder (DVCLive's dvclive/metrics.json).
      if (!entries.some((e) => rel === e || rel.startsWith(`${e}/`))) return no(404, `'${file}' is not a metrics file of ${this.pipelineName}`);
      entries = [rel];
    }
    const chosen: HistorySource = { entries, cachedOuts: src.value.cachedOuts };
    const files = new RevisionFiles(this.project, readers.git, chosen.cachedOuts);
    return yes(await metricsHistory(collectingTerminal(), files, readers.repo, chosen, this.#memo, rev, limit));
  }

  /** A path given by a client, as project-relative POSIX; anything resolving outside the project is refused. */
  #projectPath(p: string): Answer<string> {
    const abs = path.resolve(this.project.root, p);
    const rel = path.relative(this.project.root, abs);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return no(403, `'${p}' is outside the project`);
    return yes(rel.split(path.sep).join('/'));
  }

  /** `plots diff --json` for the given revisions (default HEAD and the workspace). */
  async plots(revs: readonly string[]): Promise<Answer<{ version: 1; revisions: readonly string[]; plots: unknown[]; images: unknown[]; problems: unknown[] }>> {
    const revisions = revs.length === 0 ? ['HEAD', WORKSPACE] : [...new Set(revs)];
    const opened = await openRevisions(this.project, revisions);
    if (!opened.ok) return no(404, formatDiagnostics(opened.error));
    const selected = await selectPlots(this.project, this.project.root, []);
    if (!selected.ok) return diagnostics(selected.error);
    const files = new RevisionFiles(this.project, opened.value.git, selected.value.cachedOuts);
    const page = await buildPage(files, await expandFolders(files, selected.value.defs, revisions), revisions);
    return yes({ version: 1, revisions: page.revisions, plots: [...page.plots], images: [...page.images], problems: [...page.problems] });
  }

  /**
   * The model registry (GTO tags, read by src/registry as `mlbuild model list` reads it) with each
   * version's metrics at its commit, and the drift reports: every declared metric whose file or key
   * names drift, across the current branch.
   */
  async models(): Promise<Answer<{ version: 1; models: ModelView[]; drift: MetricsHistory | null }>> {
    const opened = await this.#git();
    if (!opened.ok) return diagnostics(opened.error);
    const readers = opened.value;
    const registry = [...registryState(await new GitTagStore(this.project.root).list()).values()].map(modelView);
    const src = await this.#sources();
    const declared: HistorySource = src.ok ? src.value : { entries: [], cachedOuts: [] };
    const files = new RevisionFiles(this.project, readers.git, declared.cachedOuts);
    const term = collectingTerminal();
    const models = [];
    for (const m of registry) {
      const metrics: Record<string, Record<string, number>> = {};
      for (const v of m.versions) {
        const vals: Record<string, number> = {};
        for (const entry of declared.entries) {
          for (const [file, flat] of await this.#memo.at(term, files, v.sha, entry, declared)) {
            for (const [k, x] of flat) if (typeof x === 'number' && !(`${file}:${k}` in vals)) vals[`${file}:${k}`] = x;
          }
        }
        metrics[v.version] = vals;
      }
      models.push({ ...m, metrics });
    }
    const driftEntries = declared.entries.filter((e) => /drift/i.test(e));
    // Not declared anywhere: `mlbuild monitor`'s default report, committed as the docs suggest.
    const entries = driftEntries.length > 0 ? driftEntries : [...declared.entries, MONITOR_REPORT];
    let drift: MetricsHistory | null = null;
    if ((await readers.git.verify('HEAD')).ok) {
      const all = await metricsHistory(collectingTerminal(), files, readers.repo, { entries, cachedOuts: declared.cachedOuts }, this.#memo, 'HEAD', 200);
      const points = all.points.filter((p) => /drift/i.test(p.metric));
      drift = points.length > 0 ? { ...all, points, metrics: [...new Set(points.map((p) => p.metric))].sort() } : null;
    }
    return yes({ version: 1, models, drift });
  }
}
