/**
 * The repro use case: plan the targets, check resources, then let the scheduler drive one StageRun
 * per stage. The lockfile is updated in memory and journaled after every stage that succeeds,
 * rewritten atomically at a bounded rate and at the end, so 1000 stages cost no quadratic
 * rewrites and a crash loses at most the stages in flight. SIGINT/SIGTERM abort the run: children
 * are killed by process group, and what completed stays recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import type { Workspace, RunState } from './workspace.js';
import { makePlan, resolveTargets } from '../graph/plan.js';
import type { Diagnostic } from '../report/diagnostic.js';
import type { Reporter, RunSummary, StageSummary } from '../report/events.js';
import type { CacheStore, RemoteSource } from '../cache/store.js';
import type { Executor } from '../execute/executor.js';
import { ResourcePool, neverFits, type PoolCapacity } from '../schedule/resources.js';
import { Scheduler, type Outcome } from '../schedule/scheduler.js';
import { StageRun, type StageRunServices } from './stage-run.js';
import { DataSources } from '../data/sources.js';
import { DvcLockAdopter } from '../state/dvc-lock.js';
import { whereToGet } from '../data/missing.js';
import { assess } from './assess.js';
import type { StageName } from '../util/brand.js';
import { atomicWriteFile } from '../util/atomic-write.js';
import { updateGitignore } from '../state/gitignore.js';
import { RunHistory } from '../state/run-history.js';
import { changedPart, recordFreshSnapshot, removeFreshSnapshot } from './snapshot-record.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from '../exit-codes.js';

/** Outcomes after which a stage is up to date (the fresh snapshot is written only when all are). */
const CLEAN: ReadonlySet<string> = new Set(['fresh', 'succeeded', 'restored', 'frozen']);

/** What one queued cluster job takes from the pool: a submission slot, no local CPUs or GPUs. */
const ONE_JOB = { cpus: 1, gpus: 0, memoryMb: 0 } as const;

export interface ReproOptions {
  readonly targets: readonly string[];
  readonly force: boolean;
  readonly singleItem: boolean;
  readonly downstream: boolean;
  readonly dry: boolean;
  readonly keepGoing: boolean;
  readonly capacity: PoolCapacity;
  readonly gpusKnown: boolean;
  readonly useRunCache: boolean;
}

export interface ReproServices {
  readonly reporter: Reporter;
  readonly executor: Executor;
  readonly cache: CacheStore;
  /** `repro --pull`: fetch from this remote before running a stale stage. */
  readonly remote?: RemoteSource;
  /** Aborted on SIGINT/SIGTERM by the command. */
  readonly signal: AbortSignal;
  /** A pool shared with other runs in this process (`exp run -j N`); default: a pool of `capacity`. */
  readonly pool?: ResourcePool;
}


/**
 * Writes the resolved params once, content-addressed, for MLBUILD_PARAMS. Not flushed to disk
 * (that cost ~20 ms before the first stage): a file that a power loss left empty or torn is
 * caught here by its content the next time, and rewritten.
 */
async function writeParamsJson(project: Project, ws: Workspace, state: RunState): Promise<string> {
  const json = JSON.stringify(ws.loaded.params, null, 2) + '\n';
  const file = path.join(project.mlcacheDir, 'params', `${state.hasher.hashString(json)}.json`);
  let onDisk: string | undefined;
  try {
    onDisk = fs.readFileSync(file, 'utf8');
  } catch {
    // Not written yet.
  }
  if (onDisk !== json) await atomicWriteFile(file, json, { fsync: false });
  return file;
}

/** The journal still holds every finished stage; the next run folds it into the lockfile. */
const lockNotWritten = (e: Error): string => `could not write mlbuild.lock: ${e.message}; the finished stages are kept in the journal and the next run records them`;

/** The caches a run leaves for the next one; failures only cost speed next time. */
async function saveCaches(state: RunState, history: RunHistory, adopter: DvcLockAdopter | undefined): Promise<void> {
  try {
    const statSaved = state.statCache.save().catch(() => false); // handled even if a line below throws
    adopter?.saveIndex();
    history.save();
    await statSaved;
  } catch {
    // Caches of what can be measured again.
  }
}

/**
 * What a repro returns: its exit code and, once it got as far as running (or assessing, for
 * --dry), the summary the reporter was given. Callers (exp, verify) read the summary here rather
 * than by intercepting the reporter.
 */
export interface ReproResult {
  readonly code: number;
  readonly summary?: RunSummary;
}

export async function repro(project: Project, ws: Workspace, state: RunState, opts: ReproOptions, svc: ReproServices): Promise<ReproResult> {
  const started = performance.now();
  const { pipeline } = ws;
  const history = RunHistory.load(project.mlcacheDir);
  const planned = makePlan(pipeline, {
    targets: opts.targets,
    singleItem: opts.singleItem,
    downstream: opts.downstream,
    expectedSeconds: (s) => history.expectedSeconds(s),
  });
  if (!planned.ok) {
    svc.reporter.diagnostics(planned.error);
    return { code: EXIT_USAGE };
  }
  const plan = planned.value;

  // Inputs nobody makes and the workspace lacks stop the run before anything starts: data a
  // pointer tracks says how to get it (exit 1), a dep nothing records is a pipeline error (exit 2).
  const sources = new DataSources(project.root, project.displayCwd);
  const recordedBy = (p: string): string | undefined => state.lockfile.names().find((n) => state.lockfile.get(n)!.deps.some((d) => d.path === p));
  const inPlan = new Set<string>(plan.stages.filter((n) => !pipeline.stages.get(n)!.frozen));
  const missing = pipeline.missing.filter((m) => inPlan.has(m.stage));
  // --dry runs nothing, so a missing input is news, not a failure.
  if (opts.dry) for (const m of missing) svc.reporter.on({ type: 'warning', message: `missing input ${m.path} (needed by ${m.stage}): ${(await whereToGet(sources, m.path, recordedBy(m.path))).get}` });
  if (!opts.dry) {
    if (missing.length > 0) {
      const diags: Diagnostic[] = [];
      for (const m of missing) {
        const where = await whereToGet(sources, m.path, recordedBy(m.path));
        const known = where.pointer !== undefined || where.recorded === true;
        diags.push({
          severity: 'error',
          code: known ? 'missing-data' : 'missing-dep',
          message: `dep '${m.path}' of stage '${m.stage}' is missing: ${known ? 'the data is not in the workspace' : 'it does not exist and no stage produces it'}`,
          ...(m.loc ? { location: m.loc } : {}),
          hint: where.get,
        });
      }
      svc.reporter.diagnostics([...sources.diags, ...diags]);
      return { code: sources.diags.length > 0 || diags.some((d) => d.code === 'missing-dep') ? EXIT_USAGE : EXIT_FAILED };
    }
  }

  // A cluster executor queues jobs in a scheduler that owns the CPUs and GPUs: each stage takes one
  // submission slot here (`-j` caps jobs in flight), and the cluster judges what fits (sbatch refuses).
  const queued = svc.executor.kind === 'cluster';
  const tooBig: Diagnostic[] = [];
  for (const name of plan.stages) {
    const stage = pipeline.stages.get(name)!;
    const why = stage.frozen || queued ? undefined : neverFits(stage.resources, opts.capacity);
    if (why) {
      tooBig.push({
        severity: 'error',
        code: 'resources',
        message: `stage '${name}' can never run here: ${why}`,
        ...(stage.loc ? { location: stage.loc } : {}),
        hint: 'lower its `resources`, or pass --gpus / run where the resources exist',
      });
    }
  }
  if (tooBig.length > 0) {
    svc.reporter.diagnostics(tooBig);
    return { code: EXIT_USAGE };
  }

  const targetSet = new Set<StageName>();
  if (opts.force) {
    // -f forces the named targets (all planned stages when none is named), as DVC does.
    const named = opts.targets.length === 0 ? { ok: true as const, value: plan.stages } : resolveTargets(pipeline, opts.targets);
    if (named.ok) for (const s of named.value) targetSet.add(s);
  }
  // --dry writes nothing, not even the params file stages would read.
  const paramsJsonPath = opts.dry ? '' : await writeParamsJson(project, ws, state);

  let lastFlush = performance.now();
  let flushing: Promise<unknown> = Promise.resolve();
  const adopter = DvcLockAdopter.open(project.root, project.mlcacheDir, state.files);
  const stageSvc: StageRunServices = {
    project,
    lockfile: state.lockfile,
    journal: state.journal,
    files: state.files,
    hasher: state.hasher,
    cache: svc.cache,
    ...(svc.remote ? { remote: svc.remote } : {}),
    executor: svc.executor,
    reporter: svc.reporter,
    params: ws.loaded.params,
    fileParams: ws.loaded.fileParams,
    paramsJsonPath,
    baseEnv: Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined)),
    gpusKnown: opts.gpusKnown,
    useRunCache: opts.useRunCache,
    interrupted: state.interrupted,
    ...(adopter ? { adopter } : {}),
    history,
    whereToGet: async (p) => (await whereToGet(sources, p)).get,
    producedBy: (p) => ws.pipeline.producersOf(p).length > 0,
    onRecorded: () => {
      // Bounded-rate flush: the journal already holds the entry; this keeps mlbuild.lock current for readers.
      const now = performance.now();
      if (now - lastFlush > 1000) {
        lastFlush = now;
        flushing = flushing.then(() => state.lockfile.save({ interim: true })).catch(() => undefined);
      }
    },
  };

  if (opts.dry) {
    const assessed = await assess(plan, pipeline, stageSvc, svc.cache, (s) => targetSet.has(s));
    const summaries: StageSummary[] = [];
    let total = 0;
    let unknown = 0;
    for (const a of assessed) {
      const seconds = history.expectedSeconds(a.stage);
      const expectedMs = seconds !== undefined ? seconds * 1000 : undefined;
      const willRun = a.reasons.length > 0 && !a.restorable;
      if (willRun) {
        if (expectedMs === undefined) unknown++;
        else total += expectedMs;
      }
      if (a.reasons.length > 0) {
        svc.reporter.on({ type: 'stage-would-run', stage: a.stage, reasons: a.reasons, restore: a.restorable, ...(willRun && expectedMs !== undefined ? { expectedMs } : {}) });
      }
      summaries.push({
        name: a.stage,
        outcome: a.frozen ? 'frozen' : a.reasons.length === 0 ? 'fresh' : a.restorable ? 'would-restore' : 'would-run',
        reasons: a.reasons,
        ...(willRun && expectedMs !== undefined ? { expectedMs } : {}),
      });
    }
    const summary: RunSummary = { ok: true, interrupted: false, elapsedMs: performance.now() - started, stages: summaries, dry: true, expectedMs: { total, unknown } };
    svc.reporter.finish(summary);
    return { code: EXIT_OK, summary };
  }

  // This run may change what the last one proved fresh; the end of the run records it again.
  removeFreshSnapshot(project);
  // After a leaf change, only the changed stages and their downstream are scheduled and inspected.
  const part = opts.force || opts.singleItem || opts.downstream || queued || opts.targets.length > 0 ? undefined : changedPart(pipeline, plan, state.primed, (s) => history.expectedSeconds(s));
  const runPlan = part?.plan ?? plan;
  const runs = new Map<StageName, StageRun>();
  for (const name of runPlan.stages) runs.set(name, new StageRun(pipeline.stages.get(name)!, stageSvc, targetSet.has(name)));
  const pool = svc.pool ?? new ResourcePool(opts.capacity);
  // Queued jobs cost the cluster's time while they wait: a failure without -k cancels the others,
  // where local stages already running are left to finish.
  const runController = new AbortController();
  const forward = (): void => runController.abort(svc.signal.reason);
  if (svc.signal.aborted) forward();
  else svc.signal.addEventListener('abort', forward, { once: true });
  const runSignal = queued ? runController.signal : svc.signal;
  svc.reporter.on({ type: 'start', total: plan.stages.length, jobs: opts.capacity.cpus, gpus: opts.capacity.gpuIds });
  for (const name of part?.proved ?? []) svc.reporter.on(pipeline.stages.get(name)!.frozen ? { type: 'stage-frozen', stage: name } : { type: 'stage-fresh', stage: name });
  const scheduler = new Scheduler(
    runPlan,
    pool,
    {
      check: (s) => runs.get(s)!.check().then((c) => (queued && c.kind === 'run' ? { kind: 'run', demand: ONE_JOB } : c)),
      run: async (s, lease, signal, release) => {
        const r = await runs.get(s)!.run(lease, signal, release);
        if (r === 'failed' && queued && !opts.keepGoing && !runController.signal.aborted) runController.abort(`stage '${s}' failed`);
        return r;
      },
      skipped: (s, blockedBy) => {
        const r = runs.get(s)!;
        if (r.current === 'pending' || r.current === 'queued') r.skip(blockedBy);
      },
    },
    { keepGoing: opts.keepGoing },
  );

  let outcomes: Map<StageName, Outcome>;
  let recordError: string | undefined;
  try {
    outcomes = await scheduler.run(runSignal);
  } finally {
    svc.signal.removeEventListener('abort', forward);
    // Record last, whatever happened: completed stages are in memory and in the journal.
    await flushing;
    if (opts.targets.length === 0 && !svc.signal.aborted) {
      // A whole-pipeline run also forgets stages that left the pipeline (e.g. a matrix that shrank).
      for (const name of state.lockfile.names()) if (!pipeline.stages.has(name)) state.lockfile.delete(name);
    }
    try {
      // The journal's deferred `ok` lines first: if the lockfile cannot be written, they are what
      // the next run recovers the finished stages from (and if they cannot, the lockfile may be).
      try {
        state.journal.flush();
      } catch {
        // The lockfile below records the same entries.
      }
      // While the lockfile is written and flushed (thread pool), the caches are serialized here.
      const lockSaved = state.lockfile.save().then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      const cachesSaved = saveCaches(state, history, adopter);
      const failed = await lockSaved;
      await cachesSaved;
      if (failed) recordError = lockNotWritten(failed);
      else await state.journal.clear();
    } catch (e) {
      recordError = lockNotWritten(e as Error);
    }
  }
  if (recordError) svc.reporter.on({ type: 'warning', message: recordError });
  const cachedOuts = plan.stages.flatMap((s) => pipeline.stages.get(s)!.outs.filter((o) => o.cache).map((o) => o.path));
  try {
    await updateGitignore(project.root, cachedOuts);
  } catch (e) {
    recordError ??= `could not update .gitignore: ${(e as Error).message}`;
    svc.reporter.on({ type: 'warning', message: recordError });
  }

  const summaries: StageSummary[] = plan.stages.map((name) => {
    const r = runs.get(name);
    if (r === undefined) return { name, outcome: pipeline.stages.get(name)!.frozen ? 'frozen' : 'fresh', reasons: [] }; // proved by the fresh snapshot
    return {
      name,
      outcome: outcomes.get(name) ?? 'not-run',
      reasons: r.reasons,
      ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}),
      ...(r.message ? { message: r.message } : {}),
      ...(r.failure ? { failure: r.failure } : {}),
      ...(r.source ? { restoredFrom: r.source } : {}),
    };
  });
  const failed = summaries.some((s) => s.outcome === 'failed') || recordError !== undefined;
  const interrupted = svc.signal.aborted;
  const clean = !failed && !interrupted && !queued && opts.targets.length === 0 && summaries.every((s) => CLEAN.has(s.outcome));
  try {
    await recordFreshSnapshot(project, ws, state, plan.stages, clean);
  } catch {
    // Only the next run's shortcut is lost.
  }
  const summary: RunSummary = { ok: !failed && !interrupted, interrupted, elapsedMs: performance.now() - started, stages: summaries };
  svc.reporter.finish(summary);
  return { code: interrupted ? EXIT_INTERRUPTED : failed ? EXIT_FAILED : EXIT_OK, summary };
}
