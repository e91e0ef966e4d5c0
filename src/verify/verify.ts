/**
 * The verify use case: rebuild HEAD from scratch and compare every out with HEAD's mlbuild.lock.
 *
 *   1. a detached worktree of HEAD in a temp folder (worktree.ts); uncommitted edits are counted,
 *      not included: CI verifies commits, as `dvc repro` in a fresh clone would;
 *   2. HEAD's lockfile is read, then the worktree starts with no lockfile and an empty cache of its
 *      own, and repro runs with the run-cache off: every stage really runs, nothing is restored
 *      (frozen stages, which never run, get their committed entry and outs from the user's cache);
 *   3. data that is a dep but not in git is placed by its locked hash (inputs.ts);
 *   4. each planned stage is judged in topological order (compare.ts); a directory out that differs
 *      names its first differing file from the two manifests (HEAD's from the user's cache, the
 *      rebuild's from the worktree).
 * The user's workspace, lockfile and cache are only read (with `saveCache`, the cache gains the
 * objects of outs that reproduced, nothing else). The worktree is removed afterwards
 * unless `keep`, also when the rebuild fails or is interrupted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { findProject, type Project } from '../project.js';
import type { Diagnostic, DiagnosticCode } from '../report/diagnostic.js';
import type { Reporter, StageSummary } from '../report/events.js';
import type { Executor } from '../execute/executor.js';
import type { PoolCapacity } from '../schedule/resources.js';
import { Lockfile } from '../state/lockfile.js';
import { StatCache } from '../hashing/stat-cache.js';
import { FileHasher, type ManifestEntry } from '../hashing/file-hasher.js';
import { loadHasher } from '../hashing/xxhash.js';
import { LocalStore } from '../cache/local-store.js';
import { openRunStore, openState, openWorkspace } from '../run/workspace.js';
import { makePlan } from '../graph/plan.js';
import { repro } from '../run/repro.js';
import type { StageName } from '../util/brand.js';
import { type Result, ok, err } from '../util/result.js';
import { addWorktree } from '../util/git-worktree.js';
import { readHead } from './worktree.js';
import { placeSourceInputs, type PlacedInput, type SourceDep } from './inputs.js';
import { firstManifestDifference, judgeStage, type OutDifference, type Verdict } from './compare.js';

export interface VerifyOptions {
  readonly targets: readonly string[];
  readonly keep: boolean;
  /**
   * Store the outs of stages that reproduced in the user's cache. They hash exactly as HEAD's lock
   * records, so this only adds objects the lock already names (CI: a later `mlbuild checkout`
   * restores them without a rebuild). Off by default: verify otherwise only reads the cache.
   */
  readonly saveCache: boolean;
  readonly capacity: PoolCapacity;
  readonly gpusKnown: boolean;
}

export interface VerifyServices {
  /** Shows the rebuild's progress (a repro reporter). */
  readonly reporter: Reporter;
  readonly executor: Executor;
  readonly signal: AbortSignal;
  /** Told what is being verified and where, before the rebuild starts. */
  readonly onStart?: (info: { head: string; worktree: string; uncommitted: readonly string[] }) => void;
}

export interface StageVerdict {
  readonly stage: StageName;
  readonly verdict: Verdict;
}

export interface VerifyReport {
  readonly head: string;
  /** Tracked files with uncommitted changes, which the verification does not include. */
  readonly uncommitted: readonly string[];
  /** Whether HEAD has an mlbuild.lock at all. */
  readonly lockCommitted: boolean;
  /** The worktree, when kept. */
  readonly worktree?: string;
  readonly inputs: readonly PlacedInput[];
  readonly stages: readonly StageVerdict[];
  readonly interrupted: boolean;
  /** Stages whose reproduced outs were stored in the user's cache (`saveCache`). */
  readonly savedToCache: readonly StageName[];
  /** Every judged stage reproduced (or is frozen), and the rebuild was not interrupted. */
  readonly ok: boolean;
}

const problem = (code: DiagnosticCode, message: string, hint: string): Diagnostic => ({ severity: 'error', code, message, hint });

/**
 * Expected failures before any stage is judged: config errors and verify outside git history
 * (exit 2), input data missing or corrupt (`verify-input`, `corrupt-object`: exit 1). The codes
 * decide the exit code (cli/context.ts exitCodeFor).
 */
export type VerifyFailure = Diagnostic[];

export async function verify(project: Project, opts: VerifyOptions, svc: VerifyServices): Promise<Result<VerifyReport, VerifyFailure>> {
  const head = await readHead(project.root);
  if (!head.ok) return err(head.error);
  const wt = await addWorktree(head.value.top, head.value.sha, 'verify');
  if (!wt.ok) return err(wt.error.map((d) => (d.code === 'git-failed' ? { ...d, hint: 'check `git worktree list`; `git worktree prune` removes stale entries' } : d)));
  try {
    svc.onStart?.({ head: head.value.sha, worktree: wt.value.dir, uncommitted: head.value.uncommitted });
    const root = path.join(wt.value.dir, head.value.prefix);
    const inner = findProject(root, path.relative(project.root, project.pipelineFile));
    if (!inner.ok) return err(inner.error);
    const result = await verifyIn(project, inner.value, opts, svc);
    if (!result.ok) return result;
    return ok({
      head: head.value.sha,
      uncommitted: head.value.uncommitted,
      ...result.value,
      ...(opts.keep ? { worktree: wt.value.dir } : {}),
    });
  } finally {
    if (!opts.keep) await wt.value.remove();
  }
}

type InnerReport = Omit<VerifyReport, 'head' | 'uncommitted' | 'worktree'>;

async function verifyIn(user: Project, wt: Project, opts: VerifyOptions, svc: VerifyServices): Promise<Result<InnerReport, VerifyFailure>> {
  // HEAD's lockfile, read before the rebuild replaces it (no parsed-lockfile cache: nothing is written).
  const locked = await Lockfile.load(wt.lockPath, user.displayCwd, { cacheDir: null });
  if (!locked.ok) return err(locked.error);
  const committed = locked.value;
  const lockCommitted = fs.existsSync(wt.lockPath);

  // The pipeline as HEAD defines it; deps are not required to exist yet (data is placed below).
  const shape = await openWorkspace(wt, [], false, () => true);
  if (!shape.ok) return err(shape.error);
  const { pipeline } = shape.value;
  const plan = makePlan(pipeline, { targets: opts.targets, singleItem: false, downstream: false });
  if (!plan.ok) return err(plan.error);

  const hasher = await loadHasher();
  const wtFiles = new FileHasher({ root: wt.root, hasher, statCache: StatCache.inMemory({ root: wt.root }) });
  const userFiles = new FileHasher({ root: user.root, hasher, statCache: StatCache.loadSync(user.mlcacheDir) });
  // The user's cache, placing into the worktree by copy (never a link into the user's objects).
  const userCache = new LocalStore({ root: wt.root, mlcacheDir: user.mlcacheDir, files: wtFiles, linkTypes: ['reflink', 'copy'] });

  const sources = new Map<string, SourceDep>();
  for (const name of plan.value.stages) {
    for (const d of pipeline.stages.get(name)!.deps) {
      if (path.isAbsolute(d.path) || pipeline.producersOf(d.path).length > 0) continue;
      const rec = committed.get(name)?.deps.find((r) => r.path === d.path);
      if (!sources.get(d.path)?.locked) sources.set(d.path, { path: d.path, locked: rec });
    }
  }
  const placed = await placeSourceInputs([...sources.values()], {
    worktreeRoot: wt.root,
    workspaceRoot: user.root,
    worktreeFiles: wtFiles,
    workspaceFiles: userFiles,
    cache: userCache,
  });
  if (!placed.ok) return err(placed.error);

  // From scratch: no lockfile, so every stage is new; frozen ones keep HEAD's entry and outs.
  const fresh = Lockfile.empty(wt.lockPath, user.displayCwd, { cacheDir: null });
  for (const name of plan.value.stages) {
    const stage = pipeline.stages.get(name)!;
    const entry = committed.get(name);
    if (!stage.frozen || !entry) continue;
    fresh.set(name, entry);
    if (!(await userCache.has(entry.outs))) continue;
    try {
      await userCache.restore(entry.outs);
    } catch (e) {
      // A corrupt object was quarantined and named: the frozen stage's outs are not there to verify against.
      return err([problem('corrupt-object', `frozen stage '${name}': ${(e as Error).message}`, 'rebuild or pull its outs (`mlbuild repro`, `mlbuild pull`), then run verify again')]);
    }
  }
  fs.rmSync(wt.lockPath, { force: true });
  fresh.saveSync();

  const state = await openState(wt, true);
  if (!state.ok) return err(state.error);
  const ws = await openWorkspace(wt, [], false, (abs) => state.value.files.stat(abs) !== undefined);
  if (!ws.ok) return err(ws.error);
  const wtCache = openRunStore(wt, state.value, ws.value.pipeline);
  const { summary } = await repro(
    wt,
    ws.value,
    state.value,
    { targets: opts.targets, force: false, singleItem: false, downstream: false, dry: false, keepGoing: true, capacity: opts.capacity, gpusKnown: opts.gpusKnown, useRunCache: false },
    { reporter: svc.reporter, executor: svc.executor, cache: wtCache, signal: svc.signal },
  );
  if (!summary) return err([]); // repro printed its diagnostics

  const rebuilt = await Lockfile.load(wt.lockPath, user.displayCwd, { cacheDir: null });
  if (!rebuilt.ok) return err(rebuilt.error);
  const outcomes = new Map<StageName, StageSummary>(summary.stages.map((s) => [s.name, s]));
  const notReproduced = new Set<StageName>();
  const stages: StageVerdict[] = [];
  for (const name of plan.value.stages) {
    const stage = pipeline.stages.get(name)!;
    const outcome = outcomes.get(name);
    let verdict: Verdict;
    if (stage.frozen) verdict = { kind: 'frozen' };
    else if (outcome?.outcome !== 'succeeded') verdict = { kind: 'failed', message: describeOutcome(outcome) };
    else verdict = judgeStage(stage, committed.get(name), rebuilt.value.get(name), (p) => pipeline.producersOf(p), notReproduced);
    if (verdict.kind === 'differs') verdict = { kind: 'differs', outs: verdict.outs.map((o) => locateDifference(o, userCache, state.value.files)) };
    if (verdict.kind !== 'reproduced' && verdict.kind !== 'frozen') notReproduced.add(name);
    stages.push({ stage: name, verdict });
  }
  const savedToCache: StageName[] = [];
  if (opts.saveCache) {
    // Through the worktree's hasher: it hashed these outs in the rebuild, so nothing is read twice.
    const into = new LocalStore({ root: wt.root, mlcacheDir: user.mlcacheDir, files: state.value.files });
    for (const s of stages) {
      if (s.verdict.kind !== 'reproduced') continue;
      await into.save(rebuilt.value.get(s.stage)!.outs);
      savedToCache.push(s.stage);
    }
  }
  const judgedOk = stages.every((s) => s.verdict.kind === 'reproduced' || s.verdict.kind === 'frozen');
  return ok({ lockCommitted, inputs: placed.value, stages, savedToCache, interrupted: summary.interrupted, ok: judgedOk && !summary.interrupted });
}

function describeOutcome(s: StageSummary | undefined): string {
  if (!s) return 'not run';
  if (s.outcome === 'failed') return `failed in the rebuild${s.message ? `: ${s.message}` : ''}`;
  if (s.outcome === 'skipped') return 'not run: an upstream stage failed';
  return `not run (${s.outcome})`;
}

/** Adds the first differing file: the out itself, or for a directory the first entry the manifests disagree on. */
function locateDifference(o: OutDifference, lockedCache: LocalStore, rebuiltFiles: FileHasher): OutDifference {
  if (!o.locked.endsWith('.dir') || !o.rebuilt.endsWith('.dir')) {
    return { ...o, first: { path: o.path, kind: 'changed', locked: o.locked, rebuilt: o.rebuilt } };
  }
  const before: ManifestEntry[] | undefined = lockedCache.readManifest(o.locked);
  if (!before) return { ...o, note: `the locked manifest ${o.locked} is not in the local cache, so the differing file cannot be named` };
  const after = rebuiltFiles.manifestSync(o.path);
  if (!after) return { ...o, note: 'the rebuilt directory could not be read' };
  const first = firstManifestDifference(o.path, before, after);
  return first ? { ...o, first } : o;
}
