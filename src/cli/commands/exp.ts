/**
 * `mlbuild exp run|show|diff|apply|branch|remove`: experiments as git refs (see exp/ref.ts for the
 * layout, exp/runner.ts for how one runs). This module wires them to the terminal; its refusals are
 * diagnostics (context.ts picks the exit code): 2 for bad usage (a bad -S, an unknown experiment, a
 * name that exists), 1 for an apply that would overwrite uncommitted work; 1 for an experiment that
 * failed.
 */
import path from 'node:path';
import fs from 'node:fs';
import { runCommand, STOP_SIGNALS, type CommandResult, type GlobalOptions, type CommandContext } from '../context.js';
import { type Result, ok, err } from '../../util/result.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from '../../exit-codes.js';
import { openWorkspace } from '../../run/workspace.js';
import { localCapacity, ResourcePool } from '../../schedule/resources.js';
import { GitReader } from '../../metrics/git-reader.js';
import { diffFlat } from '../../metrics/diff.js';
import { renderMarkdown, renderMetricsDiff, renderParamsDiff, renderTable, type DiffSection, type Format } from '../../metrics/render.js';
import { atomicWriteFile } from '../../util/atomic-write.js';
import { formatDuration } from '../../report/terminal.js';
import { expandSweep } from '../../exp/sweep.js';
import { checkExpName, decodeMessage, encodeMessage, expRef, generateExpName, namesFor, queueRef, type ExpMeta } from '../../exp/ref.js';
import { isUnproduced } from '../../exp/produced-metrics.js';
import { ExpRepo } from '../../exp/repo.js';
import { runExperiments, type ExpSpec } from '../../exp/runner.js';
import { buildExpTable } from '../../exp/table.js';
import { diffSections, loadMetricsAt, loadParamsFlat, metricSources } from '../../metrics/sources.js';
import { toJson } from '../../metrics/lenient-json.js';
import { RevisionFiles } from '../../metrics/revisions.js';
import { reproLocked, resolveGpus } from '../../run/session.js';
import type { ReproResult } from '../../run/repro.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import { removeLeftovers } from '../../state/leftovers.js';
import { LocalExecutor } from '../../execute/local-executor.js';
import type { Project } from '../../project.js';
import type { Reporter } from '../../report/events.js';
import { checkoutWorkspace } from '../../run/checkout.js';
import { collectExpRows, expJson, type ExpReaders, type ShownRow } from '../../exp/rows.js';

const usage = (message: string, hint?: string): Diagnostic => ({ severity: 'error', code: 'usage', message, ...(hint ? { hint } : {}) });

/** Opens the repository, or says why experiments are not possible here. */
async function openRepo({ project }: CommandContext): Promise<Result<ExpRepo, Diagnostic[]>> {
  return ExpRepo.open(project.root);
}

export interface ExpRunArgs {
  readonly targets: string[];
  readonly overrides: string[];
  readonly name: string | undefined;
  readonly queue: boolean;
  readonly runAll: boolean;
  readonly jobs: number | undefined;
  readonly force: boolean;
  readonly gpus: string | undefined;
  readonly gpuSlots: number;
}

function checkRunArgs(a: ExpRunArgs): Diagnostic[] {
  const problems: Diagnostic[] = [];
  if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1)) problems.push(usage(`-j/--jobs must be a whole number >= 1 (got ${a.jobs})`, 'e.g. -j 2'));
  if (!Number.isInteger(a.gpuSlots) || a.gpuSlots < 1) problems.push(usage(`--gpu-slots must be a whole number >= 1 (got ${a.gpuSlots})`));
  if (a.runAll && (a.queue || a.name !== undefined || a.overrides.length > 0 || a.targets.length > 0)) {
    problems.push(usage('--run-all runs what is queued; it takes no -S, --name, --queue or targets', 'queue with `mlbuild exp run --queue -S ...`, then `mlbuild exp run --run-all -j 2`'));
  }
  const bad = a.name === undefined ? undefined : checkExpName(a.name);
  if (bad) problems.push(usage(bad));
  return problems;
}

/** The experiments of `exp run` (one per sweep combination), or diagnostics. Writes nothing but git objects. */
async function plannedExperiments(ctx: CommandContext, repo: ExpRepo, a: ExpRunArgs): Promise<Result<ExpSpec[], Diagnostic[]>> {
  const combos = expandSweep(a.overrides);
  if (!combos.ok) return combos;
  // Every combination must resolve (params keys, options, the pipeline) before anything runs.
  for (const combo of combos.value) {
    const ws = await openWorkspace(ctx.project, combo, false, () => true);
    if (!ws.ok) return ws;
  }
  const snap = await repo.snapshot('mlbuild exp: workspace snapshot');
  if (!snap.ok) return snap;
  const { tree, sha, base } = snap.value;
  const names = namesFor(a.name, combos.value.length, (i) => generateExpName(tree, combos.value[i]!));
  const created = new Date().toISOString();
  return ok(combos.value.map((overrides, i) => ({ name: names[i]!, snapshot: sha, base, overrides, targets: a.targets, created })));
}

/** Queued experiments, oldest first. */
async function queuedExperiments(repo: ExpRepo): Promise<ExpSpec[]> {
  const specs: ExpSpec[] = [];
  for (const q of await repo.list(true)) {
    const meta = decodeMessage(await repo.message(q.sha));
    if (!meta) continue;
    specs.push({ name: q.name, snapshot: q.sha, base: meta.base, overrides: meta.overrides, targets: meta.targets, created: meta.created, queued: { ref: q.ref, sha: q.sha } });
  }
  return specs;
}

/** Names already taken by a finished or queued experiment (a queued one may be itself, with --run-all). */
async function takenNames(repo: ExpRepo, specs: readonly ExpSpec[], runAll: boolean): Promise<Diagnostic[]> {
  const problems: Diagnostic[] = [];
  for (const s of specs) {
    const where = (await repo.resolve(expRef(s.name))) ? expRef(s.name) : !runAll && (await repo.resolve(queueRef(s.name))) ? queueRef(s.name) : undefined;
    if (where) problems.push(usage(`experiment '${s.name}' already exists (${where})`, 'pick another --name, remove it with `mlbuild exp remove`, or pass --force to replace it'));
  }
  return problems;
}

async function queueExperiments(ctx: CommandContext, repo: ExpRepo, specs: readonly ExpSpec[], force: boolean): Promise<CommandResult> {
  for (const s of specs) {
    const meta: ExpMeta = { version: 1, name: s.name, base: s.base, overrides: s.overrides, targets: s.targets, status: 'queued', created: s.created };
    const tree = (await repo.raw(['rev-parse', `${s.snapshot}^{tree}`])).trim();
    const sha = await repo.commitTree(tree, s.base, encodeMessage(meta));
    // Another runner queued the same name since takenNames looked.
    if (!(await repo.setRef(queueRef(s.name), sha, !force))) return err([usage(`${queueRef(s.name)} already exists`, 'pick another --name, or pass --force to replace it')]);
    ctx.term.out(`queued ${s.name}${s.overrides.length > 0 ? `: ${s.overrides.join(' ')}` : ''}\n`);
  }
  ctx.term.out(`run them with \`mlbuild exp run --run-all -j N\`\n`);
  return ok(EXIT_OK);
}

export function expRunCommand(g: GlobalOptions, a: ExpRunArgs): Promise<number> {
  return runCommand(g, async (ctx): Promise<CommandResult> => {
    const { project, term } = ctx;
    const problems = checkRunArgs(a);
    const gpus = resolveGpus(a.gpus, process.env);
    if (!gpus.ok) problems.push(...gpus.error);
    if (problems.length > 0 || !gpus.ok) return err(problems);
    const opened = await openRepo(ctx);
    if (!opened.ok) return opened;
    const repo = opened.value;
    const planned = a.runAll ? ok(await queuedExperiments(repo)) : await plannedExperiments(ctx, repo, a);
    if (!planned.ok) return planned;
    const specs = planned.value;
    if (specs.length === 0) {
      term.out('the queue is empty\n');
      return ok(EXIT_OK);
    }
    const taken = a.force ? [] : await takenNames(repo, specs, a.runAll);
    if (taken.length > 0) return err(taken);
    if (a.queue) return queueExperiments(ctx, repo, specs, a.force);

    // Experiments share this project's cache: hold its lock so gc (or a repro) cannot pull objects
    // from under them.
    const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
    if (lock.tookOver) removeLeftovers(project.root, project.mlcacheDir);
    const pool = new ResourcePool(localCapacity(undefined, gpus.value.ids, a.gpuSlots));
    let stopped = false;
    const stop = (): void => void (stopped = true);
    for (const sig of STOP_SIGNALS) process.on(sig, stop);
    try {
      const repro = (wt: Project, spec: ExpSpec, reporter: Reporter): Promise<ReproResult> =>
        reproLocked(
          wt,
          {
            targets: [...spec.targets],
            force: false,
            singleItem: false,
            downstream: false,
            dry: false,
            keepGoing: false,
            explain: false,
            jobs: pool.capacity.cpus,
            gpus: undefined,
            gpuSlots: pool.capacity.gpuSlots,
            runCache: true,
            executor: 'local',
            json: false,
            overrides: [...spec.overrides],
          },
          gpus.value,
          // Experiments run here: they share this process's CPU and GPU pool.
          { executor: new LocalExecutor(), queued: false, jobs: pool.capacity.cpus },
          reporter,
          pool,
        );
      const outcomes = await runExperiments(specs, { project, repo, term, repro, force: a.force, stopped: () => stopped }, a.jobs ?? 1);
      const rows = outcomes.map((o) => [o.name, o.status, o.durationS === undefined ? '-' : formatDuration(o.durationS * 1000), o.status === 'succeeded' || o.status === 'failed' ? expRef(o.name) : (o.message ?? '-')]);
      term.out('\n' + renderTable(['Experiment', 'Status', 'Duration', 'Ref'], rows));
      if (outcomes.some((o) => o.status === 'interrupted')) return ok(EXIT_INTERRUPTED);
      return ok(outcomes.some((o) => o.status === 'failed') ? EXIT_FAILED : EXIT_OK);
    } finally {
      for (const sig of STOP_SIGNALS) process.off(sig, stop);
      lock.release();
    }
  });
}

/** A name given to show/diff/apply: an experiment, else (for diff) any git revision. */
async function resolveExp(repo: ExpRepo, name: string, anyRev: boolean): Promise<string | undefined> {
  return (await repo.resolve(expRef(name))) ?? (anyRev ? await repo.resolve(name) : undefined);
}

/** What show and diff read with: the experiment refs, git at any revision, the metrics files. */
export async function openReaders(ctx: CommandContext): Promise<Result<ExpReaders, Diagnostic[]>> {
  const repo = await openRepo(ctx);
  if (!repo.ok) return repo;
  const git = await GitReader.open(ctx.project.root);
  if (!git.ok) return git;
  const metrics = await metricSources(ctx.project);
  if (!metrics.ok) return metrics;
  return ok({ repo: repo.value, git: git.value, metrics: metrics.value, files: new RevisionFiles(ctx.project, git.value, metrics.value.cachedOuts) });
}

const unknownExp = (name: string): CommandResult => err([{ severity: 'error', code: 'unknown-experiment', message: `unknown experiment '${name}'`, hint: '`mlbuild exp show` lists the experiments' }]);

export interface ExpShowArgs {
  readonly format: Format;
  readonly all: boolean;
  readonly sortBy: string | undefined;
  readonly sortOrder: 'asc' | 'desc';
  readonly precision: number;
}

export function expShowCommand(g: GlobalOptions, a: ExpShowArgs): Promise<number> {
  return runCommand(g, async (ctx): Promise<CommandResult> => {
    const { project, term } = ctx;
    const opened = await openReaders(ctx);
    if (!opened.ok) return opened;
    const rows = await collectExpRows(project, term, opened.value);
    const table = buildExpTable(rows, { all: a.all, sortBy: a.sortBy, sortOrder: a.sortOrder, precision: a.precision });
    if (!table.ok) return err([usage(table.error, '`mlbuild exp show --all` lists every param and metric column')]);
    if (a.format === 'json') {
      const experiments = (table.value.rows as ShownRow[]).map(expJson);
      term.out(toJson({ version: 1, experiments }) + '\n');
    } else {
      term.out((a.format === 'md' ? renderMarkdown : renderTable)(table.value.header, table.value.cells));
    }
    return ok(EXIT_OK);
  });
}

export interface ExpDiffArgs {
  readonly a: string;
  readonly b: string;
  readonly all: boolean;
  readonly precision: number;
  readonly format: Format;
}

export function expDiffCommand(g: GlobalOptions, a: ExpDiffArgs): Promise<number> {
  return runCommand(g, async (ctx): Promise<CommandResult> => {
    const { project, term } = ctx;
    const opened = await openReaders(ctx);
    if (!opened.ok) return opened;
    const { repo, git, metrics, files } = opened.value;
    const shaA = await resolveExp(repo, a.a, true);
    if (!shaA) return unknownExp(a.a);
    const shaB = await resolveExp(repo, a.b, true);
    if (!shaB) return unknownExp(a.b);
    const params = diffFlat(await loadParamsFlat(project, term, git, shaA, [], metrics.paramFiles), await loadParamsFlat(project, term, git, shaB, [], metrics.paramFiles), a.all);
    // An experiment's metrics that its run did not produce (the base's copies) count as absent.
    const metaA = decodeMessage(await repo.message(shaA));
    const metaB = decodeMessage(await repo.message(shaB));
    const sections: DiffSection[] = diffSections(
      await loadMetricsAt(term, files, shaA, metrics, (f) => isUnproduced(metaA, f)),
      await loadMetricsAt(term, files, shaB, metrics, (f) => isUnproduced(metaB, f)),
      a.all,
    );
    const names: [string, string] = [a.a, a.b];
    if (a.format === 'json') {
      const doc = { params: JSON.parse(renderParamsDiff(params, names, 'json')) as unknown, metrics: JSON.parse(renderMetricsDiff(sections, names, 'json', a.precision)) as unknown };
      term.out(toJson(doc) + '\n');
    } else {
      const p = renderParamsDiff(params, names, a.format, a.precision);
      const m = renderMetricsDiff(sections, names, a.format, a.precision);
      term.out([p, m].filter((s) => s !== '').join('\n'));
    }
    return ok(EXIT_OK);
  });
}

export function expApplyCommand(g: GlobalOptions, a: { name: string; force: boolean }): Promise<number> {
  return runCommand(g, async (ctx): Promise<CommandResult> => {
    const { term } = ctx;
    const opened = await openRepo(ctx);
    if (!opened.ok) return opened;
    const repo = opened.value;
    const sha = await resolveExp(repo, a.name, false);
    if (!sha) return unknownExp(a.name);
    const base = decodeMessage(await repo.message(sha))?.base ?? `${sha}^`;
    const files = await repo.changedFiles(base, sha);
    // Refuse to overwrite work the user has not committed, unless it already equals the experiment's.
    const conflicts: string[] = [];
    for (const f of await repo.uncommitted(files)) {
      const theirs = await repo.blob(sha, f);
      let mine: Buffer | undefined;
      try {
        mine = fs.readFileSync(path.join(repo.top, f));
      } catch {
        mine = undefined;
      }
      if (!(theirs && mine && theirs.equals(mine))) conflicts.push(f);
    }
    if (conflicts.length > 0 && !a.force) {
      return err([
        {
          severity: 'error',
          code: 'uncommitted-changes',
          message: `applying '${a.name}' would overwrite uncommitted changes to:\n${conflicts.map((f) => `  ${f}`).join('\n')}`,
          hint: 'commit or stash them first, or pass --force to overwrite them',
        },
      ]);
    }
    for (const f of files) {
      const abs = path.join(repo.top, f);
      const bytes = await repo.blob(sha, f);
      if (bytes) await atomicWriteFile(abs, bytes);
      else fs.rmSync(abs, { force: true });
    }
    term.out(`applied ${a.name}: ${files.length === 0 ? 'no file differs from its base' : files.join(', ')}\n`);
    // The lockfile now names the experiment's outs: put them in place from the cache, running nothing.
    return checkoutWorkspace(ctx.project, term, []);
  });
}

export function expBranchCommand(g: GlobalOptions, a: { name: string; branch: string }): Promise<number> {
  return runCommand(g, async (ctx): Promise<CommandResult> => {
    const opened = await openRepo(ctx);
    if (!opened.ok) return opened;
    const repo = opened.value;
    const sha = await resolveExp(repo, a.name, false);
    if (!sha) return unknownExp(a.name);
    const made = await repo.run(['branch', '--', a.branch, sha]);
    if (!made.ok) return err(made.error.map((d) => usage(`cannot create branch '${a.branch}': ${d.message}`, 'choose another branch name (`git branch` lists those taken)')));
    ctx.term.out(`branch ${a.branch} created from experiment ${a.name} (${sha.slice(0, 7)})\n`);
    return ok(EXIT_OK);
  });
}

export function expRemoveCommand(g: GlobalOptions, a: { names: string[]; all: boolean; queue: boolean }): Promise<number> {
  return runCommand(g, async (ctx): Promise<CommandResult> => {
    const { term } = ctx;
    if (a.names.length === 0 && !a.all && !a.queue) return err([usage('name the experiments to remove, or pass --all or --queue', 'e.g. mlbuild exp remove exp-1a2b3c4')]);
    const opened = await openRepo(ctx);
    if (!opened.ok) return opened;
    const repo = opened.value;
    const refs: string[] = [];
    if (a.all) refs.push(...(await repo.list(false)).map((e) => e.ref));
    if (a.queue) refs.push(...(await repo.list(true)).map((e) => e.ref));
    for (const name of a.names) {
      const ref = (await repo.resolve(expRef(name))) ? expRef(name) : (await repo.resolve(queueRef(name))) ? queueRef(name) : undefined;
      // Nothing is removed when one name is wrong.
      if (!ref) return unknownExp(name);
      refs.push(ref);
    }
    for (const ref of new Set(refs)) {
      await repo.deleteRef(ref);
      term.out(`removed ${ref}\n`);
    }
    if (refs.length === 0) term.out('nothing to remove\n');
    return ok(EXIT_OK);
  });
}
