/**
 * The Executor interface: runs one stage's commands somewhere (this machine or a cluster; `repro --dry`
 * runs nothing and needs no executor) and reports how it ended. It knows nothing of hashing, caches or the lockfile.
 */
import fs from 'node:fs';
import type { StageName } from '../util/brand.js';
import type { ResourceDemand, SlurmStageOptions } from '../model/stage.js';

export interface JobSpec {
  readonly stage: StageName;
  /** Shell commands, run in order by /bin/sh; the first failure stops the job. */
  readonly cmds: readonly string[];
  readonly cwd: string;
  /** Full environment for the commands (already merged with the parent's). */
  readonly env: Readonly<Record<string, string>>;
  /** File that receives the job's combined stdout/stderr. */
  readonly logPath: string;
  readonly timeoutMs?: number;
  /** What the stage declared; a cluster executor asks its scheduler for it (the local pool already leased it). */
  readonly resources: ResourceDemand;
  /** The stage's own `slurm:` options. */
  readonly slurm?: SlurmStageOptions;
  readonly onOutput: (stream: 'stdout' | 'stderr', chunk: string) => void;
  /** Called by a cluster executor once the scheduler accepted the job, with its name there ("Slurm job 42"). */
  readonly onSubmitted?: (job: string) => void;
}

export interface JobResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  readonly cancelled: boolean;
  readonly durationMs: number;
  /** The command that failed, when one did. */
  readonly failedCmd?: string;
  /** CPU seconds (user+sys) of the job's processes, where the executor can measure it. */
  readonly cpuSeconds?: number;
  /** Peak resident memory in MiB, where the executor can measure it. */
  readonly peakRssMb?: number;
  /** A cluster scheduler's own account of how the job ended, e.g. "Slurm job 42: TIMEOUT (TimeLimit)". */
  readonly detail?: string;
  /**
   * The job failed for a reason of its own making, not its command's: a command that could not be
   * started (E2BIG, a NUL byte, no /bin/sh), or a log that could not be written (ENOSPC).
   */
  readonly error?: { readonly phase: 'spawn' | 'log'; readonly code: string; readonly message: string; readonly path?: string };
}

export interface Executor {
  /**
   * A 'cluster' executor queues jobs in a scheduler that owns the resources: mlbuild then neither
   * leases local CPUs/GPUs for its stages nor sets CUDA_VISIBLE_DEVICES, and `-j` caps jobs in flight.
   */
  readonly kind: 'local' | 'cluster';
  start(job: JobSpec, signal: AbortSignal): Promise<JobResult>;
}

export const succeeded = (r: JobResult): boolean => r.exitCode === 0 && !r.timedOut && !r.cancelled && r.error === undefined;

/**
 * Removes a stage's log left by an earlier run or attempt, so a log never belongs to another one.
 * existsSync first: the usual answer is "none", and a thrown ENOENT costs ~8x the syscall.
 */
export function removeLog(logPath: string): void {
  if (fs.existsSync(logPath)) fs.rmSync(logPath, { force: true });
}
