/**
 * Opening a workspace for a command: the validated pipeline (config + graph), then, for commands
 * that compare with the last run, the state (lockfile with any crashed run's journal replayed,
 * stat cache, file hasher), and the cache a run uses. Shared by repro, status, dag and params so
 * they agree on what they see.
 */
import fs from 'node:fs';
import type { LoadedPipeline } from '../config/load.js';
import { buildPipeline, type Pipeline } from '../graph/pipeline.js';
import { PipelineCache } from '../config/pipeline-cache.js';
import { makePlan, type Plan } from '../graph/plan.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { cacheDirOf, type Project } from '../project.js';
import { LocalStore, parseLinkTypes } from '../cache/local-store.js';
import { type Result, ok } from '../util/result.js';
import { Lockfile } from '../state/lockfile.js';
import { Journal } from '../state/journal.js';
import { StatCache } from '../hashing/stat-cache.js';
import { FileHasher } from '../hashing/file-hasher.js';
import { HashPool } from '../hashing/hash-pool.js';
import { loadHasher, type Hasher } from '../hashing/xxhash.js';
import type { StageName } from '../util/brand.js';
import { primeFiles, racyWindowMs, type Primed } from './fresh-snapshot.js';

export interface Workspace {
  readonly loaded: LoadedPipeline;
  readonly pipeline: Pipeline;
  /** The files the pipeline was resolved from, with their content hashes (without -S only). */
  readonly inputs?: readonly (readonly [string, string])[];
}

/**
 * `exists` answers whether an unproduced dep is on disk; commands that hash pass their FileHasher's
 * memoised stat so each path is statted once per run.
 */
export async function openWorkspace(
  project: Project,
  overrides: readonly string[],
  writeBack: boolean,
  exists?: (absPath: string) => boolean,
): Promise<Result<Workspace, Diagnostic[]>> {
  // -S changes the params, so it always resolves afresh (and may write the files back).
  const cache = overrides.length === 0 ? new PipelineCache(project.mlcacheDir, project.root, await loadHasher()) : undefined;
  const cached = cache?.get(project.pipelineFile, project.displayCwd);
  const build = (value: LoadedPipeline) => buildPipeline(value.stages, { root: project.root, ...(exists ? { exists } : {}) });
  if (cached) {
    const pipeline = build(cached);
    // Missing inputs get reported at their line, which only a fresh resolve knows.
    if (pipeline.ok && pipeline.value.missing.length === 0) return ok({ loaded: cached, pipeline: pipeline.value, ...(cache?.inputs ? { inputs: cache.inputs } : {}) });
    // Fall through: resolve afresh so the errors carry their source locations.
  }
  // Loaded lazily: the YAML parser is only needed when the pipeline or its params changed.
  const { loadPipeline } = await import('../config/load.js');
  const resolvedFrom = Date.now();
  const loaded = await loadPipeline({ root: project.root, pipelineFile: project.pipelineFile, overrides, writeBack, displayCwd: project.displayCwd });
  if (!loaded.ok) return loaded;
  const pipeline = build(loaded.value);
  if (!pipeline.ok) return pipeline;
  cache?.put(project.pipelineFile, project.displayCwd, loaded.value, resolvedFrom, racyWindowMs());
  return ok({ loaded: loaded.value, pipeline: pipeline.value, ...(cache?.inputs ? { inputs: cache.inputs } : {}) });
}

/** The workspace and the plan for `targets` (with their upstream), as `status` and `dag` show them. */
export async function openPlanned(
  project: Project,
  targets: readonly string[],
  exists?: (absPath: string) => boolean,
): Promise<Result<{ ws: Workspace; plan: Plan }, Diagnostic[]>> {
  const ws = await openWorkspace(project, [], false, exists);
  if (!ws.ok) return ws;
  const plan = makePlan(ws.value.pipeline, { targets, singleItem: false, downstream: false });
  if (!plan.ok) return plan;
  return ok({ ws: ws.value, plan: plan.value });
}

export interface RunState {
  readonly lockfile: Lockfile;
  readonly journal: Journal;
  readonly statCache: StatCache;
  readonly files: FileHasher;
  readonly hasher: Hasher;
  /** Stages a previous run started and never finished (killed mid-run). */
  readonly interrupted: ReadonlySet<StageName>;
  /** When this process began looking at the workspace (ms since epoch; the fresh snapshot's racy threshold). */
  readonly observedFrom: number;
  /** The fresh snapshot's check this state was primed from, if any. */
  readonly primed?: Primed;
}

/**
 * Loads the lockfile and replays the journal of a run that crashed before it could rewrite the
 * lockfile. With `persist`, the replayed lockfile is saved and the journal cleared (repro does
 * this; read-only commands such as status only look).
 */
export async function openState(project: Project, persist: boolean, primed?: Primed): Promise<Result<RunState, Diagnostic[]>> {
  const observedFrom = primed?.observedFrom ?? Date.now();
  const lock = await Lockfile.load(project.lockPath, project.displayCwd);
  if (!lock.ok) return lock;
  const lockfile = lock.value;
  if (persist) fs.mkdirSync(project.mlcacheDir, { recursive: true });
  const journal = await Journal.open(project.mlcacheDir);
  const pending = journal.pendingEntries();
  for (const [name, entry] of pending) lockfile.set(name, entry);
  const interrupted = new Set(journal.interrupted());
  if (persist && (pending.size > 0 || interrupted.size > 0)) {
    await lockfile.save();
    await journal.clear();
  }
  const [statCache, hasher] = await Promise.all([StatCache.load(project.mlcacheDir, { racyWindowMs: racyWindowMs() }), loadHasher()]);
  const bigFileHasher = hashWorkers() > 1 ? new HashPool(hashWorkers()).hashFile : undefined;
  const files = new FileHasher({ root: project.root, hasher, statCache, ...(bigFileHasher ? { bigFileHasher } : {}) });
  // Paths the up-to-date check already proved unchanged are not stat'ed or hashed again.
  if (primed) primeFiles(primed, files, statCache);
  return ok({ lockfile, journal, statCache, files, hasher, interrupted, observedFrom, ...(primed ? { primed } : {}) });
}

/**
 * Worker threads for hashing big files: `MLBUILD_HASH_WORKERS=N` (N >= 2) turns the pool on; by
 * default big files are hashed on the main thread (two at once, reads double-buffered on libuv's
 * pool). Measured again with in-place hashing on the 2-vCPU machine (big scenario, 6 alternating
 * full builds, load about 10): 2 workers 2.45 s median wall and 0.86 s CPU against 2.03 s and
 * 0.85 s on the main thread: with two cores the reads already use the second one. Until a
 * many-core measurement says otherwise, the pool is opt-in.
 */
function hashWorkers(): number {
  const env = Number(process.env.MLBUILD_HASH_WORKERS);
  return Number.isInteger(env) && env >= 0 ? env : 1;
}

/**
 * The cache a run of `pipeline` in `project` saves to and restores from (repro, exp, verify share
 * this wiring): the project's cache folder (an experiment's is the user's), the link types of
 * `MLBUILD_CACHE_TYPE`, and `persist` outs saved by copy, since their stage edits them in place.
 */
export function openRunStore(project: Project, state: RunState, pipeline: Pipeline, env: NodeJS.ProcessEnv = process.env): LocalStore {
  const persistOuts = new Set([...pipeline.stages.values()].flatMap((s) => s.outs.filter((o) => o.persist).map((o) => o.path)));
  const linkTypes = parseLinkTypes(env.MLBUILD_CACHE_TYPE);
  return new LocalStore({
    root: project.root,
    mlcacheDir: cacheDirOf(project),
    files: state.files,
    hasher: state.hasher,
    ...(linkTypes ? { linkTypes } : {}),
    copyOnSave: (p) => persistOuts.has(p),
  });
}
