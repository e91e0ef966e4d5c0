/**
 * The wiring a run needs, shared by `repro`, `exp run` and `verify`: GPUs, the executor, the
 * state/workspace/cache and the default remote for `--pull`, then the run itself under a held lock.
 * Not the project lock or the terminal: the command holds the one and owns the other.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { whileInterruptible } from './interrupt.js';
import { openWorkspace, openState, openRunStore, type RunState } from './workspace.js';
import type { RemoteSource } from '../cache/store.js';
import { repro, type ReproResult } from './repro.js';
import { LocalExecutor } from '../execute/local-executor.js';
import type { Executor } from '../execute/executor.js';
import { readProjectConfig } from '../config/project-config.js';
import { LocalStore } from '../cache/local-store.js';
import type { Project } from '../project.js';
import { localCapacity, type ResourcePool } from '../schedule/resources.js';
import type { Reporter } from '../report/events.js';
import { EXIT_USAGE } from '../exit-codes.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';
import type { Primed } from './fresh-snapshot.js';

export interface ReproArgs {
  targets: string[];
  force: boolean;
  singleItem: boolean;
  downstream: boolean;
  dry: boolean;
  keepGoing: boolean;
  explain: boolean;
  jobs: number | undefined;
  gpus: string | undefined;
  gpuSlots: number;
  runCache: boolean;
  /** undefined: the project config's core.executor, else local. */
  executor: 'local' | 'slurm' | undefined;
  json: boolean;
  overrides: string[];
  /** Fetch from the default remote what a stale stage would otherwise rebuild. */
  pull?: boolean;
}

const usage = (message: string, hint: string): Diagnostic => ({ severity: 'error', code: 'usage', message, hint });

/** GPUs from --gpus, else CUDA_VISIBLE_DEVICES, else nvidia-smi; `known` says whether we know the machine's GPUs at all. */
export function resolveGpus(flag: string | undefined, env: NodeJS.ProcessEnv): Result<{ ids: string[]; known: boolean }, Diagnostic[]> {
  if (flag !== undefined) {
    const t = flag.trim();
    if (/^\d+$/.test(t)) return ok({ ids: Array.from({ length: Number(t) }, (_, i) => String(i)), known: true });
    const ids = t.split(',').map((s) => s.trim());
    if (ids.length > 0 && ids.every((s) => /^[\w-]+$/.test(s)) && new Set(ids).size === ids.length) return ok({ ids, known: true });
    return err([usage(`--gpus '${flag}' is neither a count nor a list of GPU ids`, 'use --gpus 2 or --gpus 0,1')]);
  }
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const ids = visible.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== '-1');
    return ok({ ids, known: true });
  }
  const smi = (env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, 'nvidia-smi')).find((p) => fs.existsSync(p));
  if (!smi) return ok({ ids: [], known: false });
  try {
    // Only when nvidia-smi exists: the spawn costs ~50 ms, which a GPU machine can afford.
    const out = execFileText(smi, ['--query-gpu=index', '--format=csv,noheader']);
    return ok({ ids: out.split('\n').map((s) => s.trim()).filter(Boolean), known: true });
  } catch {
    return ok({ ids: [], known: false });
  }
}

function execFileText(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** The default remote as a RemoteSource; the remote modules load only for `--pull`. */
async function openPuller(project: Project, state: RunState): Promise<Result<RemoteSource, Diagnostic[]>> {
  const { readProjectConfig } = await import('../config/project-config.js');
  const { chooseRemote, openRemote } = await import('../remote/remote.js');
  const { Transfer } = await import('../remote/transfer.js');
  const { RemotePuller, DvcPuller } = await import('../remote/puller.js');
  const { readDvcConfig, withDvcRemotes } = await import('../remote/dvc-config.js');
  const own = await readProjectConfig(project.root, project.displayCwd);
  if (!own.ok) return own;
  const dvc = readDvcConfig(project.root, project.displayCwd);
  if (!dvc.ok) return dvc;
  const chosen = chooseRemote(withDvcRemotes(own.value, dvc.value), undefined);
  if (!chosen.ok) return chosen;
  const remote = await openRemote(chosen.value, project.root);
  if (!remote.ok) return remote;
  const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: state.files });
  if (chosen.value.layout === 'dvc') {
    const { DvcObjects } = await import('../remote/dvc-objects.js');
    const { Md5Index } = await import('../data/md5-index.js');
    const objects = new DvcObjects(store, remote.value, state.hasher, Md5Index.load(project.mlcacheDir), chosen.value.jobs ?? remote.value.defaultJobs);
    return ok(new DvcPuller(remote.value.name, objects));
  }
  return ok(new RemotePuller(remote.value.name, new Transfer(store, remote.value, state.hasher, chosen.value.jobs ?? remote.value.defaultJobs)));
}

/** Without --jobs, how many Slurm jobs may be queued or running at once (the cluster, not this machine, runs them). */
export const DEFAULT_CLUSTER_JOBS = 100;

/** The executor the flag, else the project config, asks for; Slurm only where its commands are on the PATH. */
export async function chooseExecutor(project: Project, a: ReproArgs): Promise<Result<{ executor: Executor; queued: boolean; jobs: number | undefined }, Diagnostic[]>> {
  const config = await readProjectConfig(project.root, project.displayCwd);
  if (!config.ok) return config;
  const kind = a.executor ?? config.value.core.executor ?? 'local';
  const jobs = a.jobs ?? config.value.core.jobs;
  if (kind === 'local') return ok({ executor: new LocalExecutor(), queued: false, jobs });
  const from = a.executor ? '--executor slurm' : 'core.executor: slurm in .mlbuild/config.yaml';
  // --dry submits nothing, so it also works where Slurm is not installed.
  if (!a.dry && !onPath('sbatch', process.env)) return err([usage(`${from} needs Slurm's sbatch, which is not on the PATH`, 'run mlbuild on a Slurm login node, install the Slurm client commands, or pass --executor local')]);
  const { makeSlurmExecutor } = await import('../execute/slurm-executor.js');
  return ok({ executor: makeSlurmExecutor(config.value.slurm, path.join(project.mlcacheDir, 'slurm')), queued: true, jobs: jobs ?? DEFAULT_CLUSTER_JOBS });
}

const onPath = (cmd: string, env: NodeJS.ProcessEnv): boolean =>
  (env.PATH ?? '').split(path.delimiter).some((d) => d !== '' && fs.existsSync(path.join(d, cmd)));

/**
 * The run itself, once the caller holds the project lock. `exp run` calls it for each experiment's
 * worktree, passing one pool so concurrent experiments share the CPU and GPU slots.
 */
export async function reproLocked(
  project: Project,
  a: ReproArgs,
  gpus: { ids: string[]; known: boolean },
  run: { executor: Executor; queued: boolean; jobs: number | undefined },
  reporter: Reporter,
  pool?: ResourcePool,
  primed?: Primed,
): Promise<ReproResult> {
  const state = await openState(project, !a.dry, primed);
  if (!state.ok) {
    reporter.diagnostics(state.error);
    return { code: EXIT_USAGE };
  }
  const files = state.value.files;
  let opened = await openWorkspace(project, a.overrides, !a.dry, (abs) => files.stat(abs) !== undefined);
  if (!opened.ok) {
    reporter.diagnostics(opened.error);
    return { code: EXIT_USAGE };
  }
  // --pull first brings the tracked data a fresh clone lacks (.dvc pointers), then plans again.
  if (a.pull && !a.dry && opened.value.pipeline.missing.length > 0) {
    const { pullMissingData } = await import('../remote/transfer-session.js');
    const problems = await pullMissingData(project, opened.value.pipeline.missing.map((m) => m.path));
    for (const message of problems) reporter.on({ type: 'warning', message });
    for (const m of opened.value.pipeline.missing) files.invalidate(m.path);
    opened = await openWorkspace(project, a.overrides, false, (abs) => files.stat(abs) !== undefined);
    if (!opened.ok) {
      reporter.diagnostics(opened.error);
      return { code: EXIT_USAGE };
    }
  }
  const ws = opened.value;
  for (const w of ws.loaded.warnings) reporter.diagnostics([w]);
  const cache = openRunStore(project, state.value, ws.pipeline);

  let remote: RemoteSource | undefined;
  if (a.pull && !a.dry) {
    const opened = await openPuller(project, state.value);
    if (!opened.ok) {
      reporter.diagnostics(opened.error);
      return { code: EXIT_USAGE };
    }
    remote = opened.value;
  }

  const result = await whileInterruptible(reporter, (signal) =>
    repro(
      project,
      ws,
      state.value,
      {
        targets: a.targets,
        force: a.force,
        singleItem: a.singleItem,
        downstream: a.downstream,
        dry: a.dry,
        keepGoing: a.keepGoing,
        // On a cluster, -j caps jobs in flight and the cluster allocates CPUs, memory and GPUs.
        capacity: run.queued
          ? { cpus: run.jobs!, gpuIds: [], gpuSlots: 1, memoryMb: 0 }
          : localCapacity(run.jobs, gpus.ids, a.gpuSlots),
        gpusKnown: gpus.known && !run.queued,
        useRunCache: a.runCache,
      },
      { reporter, executor: run.executor, cache, signal, ...(pool ? { pool } : {}), ...(remote ? { remote } : {}) },
    ),
  );
  if (!a.dry && result.code !== EXIT_USAGE) {
    const config = await readProjectConfig(project.root, project.displayCwd);
    if (config.ok && config.value.core.writeDvcLock) {
      const { writeDvcLock } = await import('../state/dvc-lock-write.js');
      const { Md5Index } = await import('../data/md5-index.js');
      const stages = ws.pipeline.order.map((n) => ws.pipeline.stages.get(n)!);
      const skipped = await writeDvcLock(project.root, stages, state.value.lockfile, state.value.files, Md5Index.load(project.mlcacheDir));
      if (skipped.length > 0) reporter.on({ type: 'warning', message: `dvc.lock: left out ${skipped.join(', ')} (the workspace differs from mlbuild.lock)` });
    }
  }
  return result;
}
