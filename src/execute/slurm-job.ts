/**
 * One stage as one Slurm job, in pure functions: the batch script, the sbatch flags (resources,
 * time limit, partition/account/QoS/extra from the project config with the stage's `slurm:` over
 * them), and the job's state machine as Slurm reports it through squeue:
 *
 *   submitted -> pending -> running -> ended (COMPLETED | FAILED | TIMEOUT | OUT_OF_MEMORY | ...)
 *
 * A job may skip states between two polls (a short job goes from submitted to ended). It does not
 * run anything (slurm-cli.ts) or decide when to poll (slurm-executor.ts).
 */
import { constants } from 'node:os';
import type { SlurmConfig } from '../config/project-config.js';
import type { JobResult, JobSpec } from './executor.js';
import type { SqueueRow } from './slurm-cli.js';

/** Single-quotes a string for /bin/sh. */
export const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The batch script: each command by its own /bin/sh, as the local executor runs them, stopping at
 * the first failure with its exit code and naming the command in the log. The environment comes
 * from sbatch (--export=ALL of the environment mlbuild gives it) and the directory from --chdir.
 */
export function jobScript(job: Pick<JobSpec, 'stage' | 'cmds'>): string {
  const lines = [
    '#!/bin/sh',
    `# mlbuild: stage '${job.stage.replace(/\n/g, ' ')}' (generated for this submission; the job's output is its --output log)`,
    'run() { /bin/sh -c "$1" || { rc=$?; echo "mlbuild: command failed with exit code $rc: $1" >&2; exit $rc; }; }',
    ...job.cmds.map((c) => `run ${shQuote(c)}`),
    '',
  ];
  return lines.join('\n');
}

/** sbatch reads `%j`-style patterns in --output: a literal `%` is written `%%`. */
const escapeFilenamePattern = (p: string): string => p.replace(/%/g, '%%');

/** Slurm keeps time limits in whole minutes: round up, so a limit never cuts a stage short. */
export const slurmMinutes = (seconds: number): number => Math.max(1, Math.ceil(seconds / 60));

export function sbatchArgs(job: Pick<JobSpec, 'stage' | 'cwd' | 'logPath' | 'timeoutMs' | 'resources' | 'slurm'>, config: SlurmConfig, scriptPath: string): string[] {
  const r = job.resources;
  const args = [
    `--job-name=mlbuild:${job.stage}`,
    `--chdir=${job.cwd}`,
    `--output=${escapeFilenamePattern(job.logPath)}`,
    '--open-mode=truncate',
    `--cpus-per-task=${Math.max(1, r.cpus)}`,
  ];
  if (r.memoryMb > 0) args.push(`--mem=${r.memoryMb}M`);
  if (r.gpus > 0) args.push(`--gres=gpu:${r.gpus}`);
  const seconds = job.timeoutMs !== undefined ? job.timeoutMs / 1000 : config.timeSeconds;
  if (seconds !== undefined) args.push(`--time=${slurmMinutes(seconds)}`);
  const s = job.slurm;
  for (const key of ['partition', 'account', 'qos'] as const) {
    const v = s?.[key] ?? config[key];
    if (v !== undefined) args.push(`--${key}=${v}`);
  }
  // Later flags win in sbatch: the stage's own extra flags override the project's.
  args.push(...config.extra, ...(s?.extra ?? []), scriptPath);
  return args;
}

export type JobPhase = 'submitted' | 'pending' | 'running' | 'ended';

/** States in which a job still holds (or waits for) resources; COMPLETING included, so a cancelled job is gone from squeue when it ends. */
const ACTIVE = new Set([
  'PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT', 'RESIZING',
  'REQUEUED', 'REQUEUE_FED', 'REQUEUE_HOLD', 'RESV_DEL_HOLD', 'SPECIAL_EXIT',
]);

export function phaseOf(state: string): JobPhase {
  if (state === 'PENDING' || state === 'REQUEUED' || state === 'REQUEUE_HOLD' || state === 'REQUEUE_FED' || state === 'RESV_DEL_HOLD') return 'pending';
  if (ACTIVE.has(state)) return 'running';
  return 'ended';
}

/** Asserted transitions: a job never goes back to pending once running (a requeue is Slurm's business and shows as pending again). */
const NEXT: Record<JobPhase, readonly JobPhase[]> = {
  submitted: ['submitted', 'pending', 'running', 'ended'],
  pending: ['pending', 'running', 'ended'],
  running: ['running', 'pending', 'ended'],
  ended: ['ended'],
};

export function advance(from: JobPhase, row: SqueueRow): JobPhase {
  const to = phaseOf(row.state);
  if (!NEXT[from].includes(to)) throw new Error(`Internal error: Slurm job ${row.id} cannot go from ${from} to ${to} (${row.state})`);
  return to;
}

const signalName = (n: number): string | null => {
  if (n === 0) return null;
  const found = Object.entries(constants.signals).find(([, v]) => v === n);
  return found ? found[0] : `signal ${n}`;
};

/**
 * How an ended job went, in the executor's terms. `detail` carries Slurm's own state and reason
 * ("Slurm job 42 TIMEOUT (TimeLimit)") so a job Slurm killed says why.
 */
export function endedResult(row: SqueueRow, cancelledByUs: boolean, durationMs: number): JobResult {
  const exitCode = (row.waitStatus >> 8) & 0xff;
  const sig = signalName(row.waitStatus & 0x7f);
  const reason = row.reason && row.reason !== 'None' ? ` (${row.reason})` : '';
  const base = { durationMs, timedOut: false, cancelled: false };
  switch (row.state) {
    case 'COMPLETED':
      return { ...base, exitCode, signal: sig };
    case 'FAILED':
      return { ...base, exitCode, signal: sig, detail: `Slurm job ${row.id} FAILED${reason}: ${sig ? `killed by ${sig}` : `exit code ${exitCode}`}` };
    case 'TIMEOUT':
      return { ...base, exitCode: null, signal: sig, timedOut: true, detail: `Slurm job ${row.id} TIMEOUT${reason}: killed at its time limit` };
    case 'CANCELLED':
      if (cancelledByUs) return { ...base, exitCode: null, signal: sig, cancelled: true, detail: `Slurm job ${row.id} CANCELLED` };
      return { ...base, exitCode: null, signal: sig, detail: `Slurm job ${row.id} CANCELLED${reason}: cancelled outside mlbuild (scancel or an administrator)` };
    default:
      // OUT_OF_MEMORY, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, ...: Slurm's words are the best explanation.
      return { ...base, exitCode: null, signal: sig, detail: `Slurm job ${row.id} ${row.state}${reason}` };
  }
}
