/**
 * Running experiments: each in its own git worktree (in the OS temp dir, outside the user's
 * project) checked out from a snapshot commit, through the same repro as `mlbuild repro`, then
 * recorded as refs/exps/<name> and the worktree removed. The user's files are never written.
 *
 * - Cache: the worktree's project uses the main project's `.mlcache/` objects and run-cache
 *   (Project.cacheDir), so a stage built before, by the user or another experiment, is restored
 *   instead of rerun. Its own `.mlcache/` keeps the per-run state (journal, stat cache, logs, run
 *   history), which is also how an experiment's cost is counted: only its own stage runs are there.
 * - Inputs outside git: a dep that no stage makes and git does not hold (a dataset the user put
 *   there) is copied into the worktree from the workspace, by reflink where the file system can
 *   (free), else by copy. Copying rather than symlinking means a stage can never write through to
 *   the user's file, and the experiment sees the data as it was when it started.
 * - Concurrency: experiments run N at a time in this process; the injected `repro` gives them all
 *   one ResourcePool, so CPU and GPU slots are shared exactly, with no lock files to go stale.
 *   (Separate mlbuild processes do not coordinate GPU slots.)
 */
import fs from 'node:fs';
import path from 'node:path';
import { LOCKFILE_NAME, cacheDirOf, type Project } from '../project.js';
import type { Terminal } from '../report/terminal.js';
import type { Reporter, RunSummary } from '../report/events.js';
import type { ReproResult } from '../run/repro.js';
import { PlainReporter } from '../report/reporters/plain.js';
import { openWorkspace } from '../run/workspace.js';
import { EXIT_INTERRUPTED } from '../exit-codes.js';
import { addWorktree } from '../util/git-worktree.js';
import { formatDiagnostics } from '../report/diagnostic.js';
import type { ExpRepo } from './repo.js';
import { encodeMessage, expRef, type ExpMeta } from './ref.js';
import { unproducedMetricsIn } from './produced-metrics.js';

/** One experiment to run. */
export interface ExpSpec {
  readonly name: string;
  /** The commit to check out: base plus the user's uncommitted changes. */
  readonly snapshot: string;
  readonly base: string;
  readonly overrides: readonly string[];
  readonly targets: readonly string[];
  readonly created: string;
  /** A queued experiment is claimed (its queue ref deleted, compare-and-swap) before it runs. */
  readonly queued?: { readonly ref: string; readonly sha: string };
}

export interface RunnerContext {
  /** The user's project. */
  readonly project: Project;
  readonly repo: ExpRepo;
  readonly term: Terminal;
  /** Runs repro in the experiment's worktree project (the command wires it to `repro`, with the shared pool). */
  readonly repro: (wt: Project, spec: ExpSpec, reporter: Reporter) => Promise<ReproResult>;
  /** Replace an experiment of the same name. */
  readonly force: boolean;
  /** Set on SIGINT/SIGTERM: start no further experiment. */
  readonly stopped: () => boolean;
}

export interface ExpOutcome {
  readonly name: string;
  readonly status: 'succeeded' | 'failed' | 'interrupted' | 'skipped';
  readonly durationS?: number;
  readonly message?: string;
}

/** Prefixes every line, so concurrent experiments' output stays readable. */
function prefixed(term: Terminal, prefix: string): Terminal {
  const add = (t: string): string => t.replace(/^(?=.)/gm, prefix);
  return { out: (t) => term.out(add(t)), err: (t) => term.err(add(t)), isTTY: false, columns: term.columns };
}

/**
 * Copies into the worktree each dep (with the experiment's overrides applied) that no stage makes,
 * that the checkout lacks and the workspace has. Returns their project-relative paths.
 */
async function bringUntrackedInputs(main: Project, wt: Project, overrides: readonly string[]): Promise<string[]> {
  const ws = await openWorkspace(wt, overrides, false, () => true);
  if (!ws.ok) return []; // repro reports the same diagnostics with their locations.
  const { pipeline } = ws.value;
  const copied: string[] = [];
  for (const stage of pipeline.stages.values()) {
    for (const dep of stage.deps) {
      if (path.isAbsolute(dep.path) || copied.includes(dep.path) || pipeline.producersOf(dep.path).length > 0) continue;
      const src = path.join(main.root, dep.path);
      const dst = path.join(wt.root, dep.path);
      if (fs.existsSync(dst) || !fs.existsSync(src)) continue;
      fs.mkdirSync(path.dirname(dst), { recursive: true });
      fs.cpSync(src, dst, { recursive: true, mode: fs.constants.COPYFILE_FICLONE });
      copied.push(dep.path);
    }
  }
  return copied;
}

/** CPU and GPU seconds of the stage runs recorded in this experiment's own run history. */
function readCost(mlcacheDir: string): NonNullable<ExpMeta['cost']> {
  let cpu = 0;
  let gpu = 0;
  let runs = 0;
  let text = '';
  try {
    text = fs.readFileSync(path.join(mlcacheDir, 'runs.jsonl'), 'utf8');
  } catch {
    // No stage ran (all fresh or restored): the experiment cost nothing.
  }
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const r = JSON.parse(line) as { cpu_s: number | null; gpu_s: number };
    cpu += r.cpu_s ?? 0;
    gpu += r.gpu_s;
    runs++;
  }
  const round = (n: number): number => Math.round(n * 1000) / 1000;
  return { cpu_s: round(cpu), gpu_s: round(gpu), stage_runs: runs };
}

function countOutcomes(summary: RunSummary | undefined): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of summary?.stages ?? []) counts[s.outcome] = (counts[s.outcome] ?? 0) + 1;
  return counts;
}

/** The experiment's project inside the worktree: same layout, its own state, the user's cache. */
function worktreeProject(ctx: RunnerContext, wtDir: string): Project {
  const pipelineFile = path.join(wtDir, path.relative(ctx.repo.top, ctx.project.pipelineFile));
  const root = path.dirname(pipelineFile);
  return { root, pipelineFile, lockPath: path.join(root, LOCKFILE_NAME), mlcacheDir: path.join(root, '.mlcache'), cacheDir: cacheDirOf(ctx.project), displayCwd: root };
}

export async function runExperiment(spec: ExpSpec, ctx: RunnerContext): Promise<ExpOutcome> {
  const { repo, term } = ctx;
  if (spec.queued && !(await repo.deleteRef(spec.queued.ref, spec.queued.sha))) {
    return { name: spec.name, status: 'skipped', message: 'another runner took it from the queue' };
  }
  const added = await addWorktree(repo.top, spec.snapshot, `exp-${spec.name}`);
  if (!added.ok) return { name: spec.name, status: 'failed', message: formatDiagnostics(added.error) };
  const wtDir = added.value.dir;
  try {
    const wt = worktreeProject(ctx, wtDir);
    const copied = await bringUntrackedInputs(ctx.project, wt, spec.overrides);
    const out = prefixed(term, `[${spec.name}] `);
    out.out(`running${spec.overrides.length > 0 ? ` with ${spec.overrides.join(' ')}` : ''}${copied.length > 0 ? ` (copied in, not in git: ${copied.join(', ')})` : ''}\n`);
    const started = performance.now();
    const { code, summary } = await ctx.repro(wt, spec, new PlainReporter(out, { explain: false }));
    const durationS = Math.round(performance.now() - started) / 1000;
    if (code === EXIT_INTERRUPTED) {
      // Nothing is lost: an interrupted queued experiment goes back in the queue.
      if (spec.queued) await repo.setRef(spec.queued.ref, spec.queued.sha, true);
      return { name: spec.name, status: 'interrupted', durationS };
    }
    const status = code === 0 ? 'succeeded' : 'failed';
    const unproduced = await unproducedMetricsIn(wt);
    const meta: ExpMeta = {
      version: 1,
      name: spec.name,
      base: spec.base,
      overrides: spec.overrides,
      targets: spec.targets,
      status,
      created: spec.created,
      duration_s: durationS,
      cost: readCost(wt.mlcacheDir),
      stages: countOutcomes(summary),
      ...(unproduced ? { unproduced_metrics: unproduced } : {}),
    };
    const prefix = path.relative(wtDir, wt.root).split(path.sep).join('/');
    const exclude = copied.map((p) => (prefix === '' ? p : `${prefix}/${p}`));
    const sha = await repo.commitWorktree(wtDir, spec.base, encodeMessage(meta), exclude);
    if (!(await repo.setRef(expRef(spec.name), sha, !ctx.force))) {
      return { name: spec.name, status: 'failed', durationS, message: `${expRef(spec.name)} appeared while it ran; the result is commit ${sha}` };
    }
    return { name: spec.name, status, durationS };
  } finally {
    await added.value.remove();
  }
}

/** Runs `specs` `jobs` at a time, in order; an interrupted run starts no further experiment. */
export async function runExperiments(specs: readonly ExpSpec[], ctx: RunnerContext, jobs: number): Promise<ExpOutcome[]> {
  const outcomes: ExpOutcome[] = new Array<ExpOutcome>(specs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < specs.length) {
      const i = next++;
      const spec = specs[i]!;
      outcomes[i] = ctx.stopped() ? { name: spec.name, status: 'interrupted' } : await runExperiment(spec, ctx);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(jobs, specs.length)) }, worker));
  return outcomes;
}
