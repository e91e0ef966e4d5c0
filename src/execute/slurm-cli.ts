/**
 * SlurmCli: the three Slurm commands the Slurm executor needs (sbatch, squeue, scancel), behind an
 * interface so the polling and job-state logic can be tested with a fake. The real one runs the
 * commands as child processes; the parsers of their output are pure and exported for unit tests.
 * It does not decide when to poll or what a state means (slurm-job.ts, slurm-executor.ts do).
 */
import { execFile } from 'node:child_process';
import { type Result, ok, err } from '../util/result.js';

/** One line of `squeue`: Slurm's view of a job. */
export interface SqueueRow {
  readonly id: string;
  /** Long state name: PENDING, RUNNING, COMPLETING, COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, ... */
  readonly state: string;
  /** Slurm's reason (why pending, or why it ended): Priority, Resources, NonZeroExitCode, TimeLimit, None. */
  readonly reason: string;
  /** The batch script's raw wait status (exit code << 8 | signal), as squeue's exit_code prints it. */
  readonly waitStatus: number;
}

export interface SlurmCli {
  /** Submits a batch script; the environment is exported to the job (sbatch's default --export=ALL). */
  submit(args: readonly string[], env: Readonly<Record<string, string>>): Promise<Result<string, string>>;
  /** One `squeue` call for all the given jobs, finished ones included (while Slurm keeps them, MinJobAge). */
  query(ids: readonly string[]): Promise<Result<SqueueRow[], string>>;
  /** One `scancel` call for all the given jobs. */
  cancel(ids: readonly string[]): Promise<Result<void, string>>;
}

/** `|`-separated fields, each followed by `|`, so a reason with spaces stays one field. */
export const SQUEUE_FORMAT = 'JobID:|,State:|,Reason:|,exit_code:|';

/** Parses `squeue -h -O SQUEUE_FORMAT`; lines it cannot read are returned as errors, not guessed at. */
export function parseSqueue(text: string): Result<SqueueRow[], string> {
  const rows: SqueueRow[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const f = line.split('|').map((s) => s.trim());
    const [id, state, reason, status] = f;
    if (f.length < 4 || !id || !state || !/^\d+(_\d+)?$/.test(id) || !/^\d+$/.test(status ?? '')) return err(`unexpected squeue line: ${line}`);
    rows.push({ id, state, reason: reason ?? '', waitStatus: Number(status) });
  }
  return ok(rows);
}

/** `sbatch --parsable` prints `jobid` or `jobid;cluster`. */
export function parseSbatch(stdout: string): string | undefined {
  const first = stdout.trim().split('\n').pop()?.split(';')[0]?.trim();
  return first && /^\d+$/.test(first) ? first : undefined;
}

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function run(file: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 2 ** 20, ...(env ? { env } : {}) }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (error && typeof error.code !== 'number' ? error.message : '') });
    });
  });
}

const firstLine = (r: Ran): string => (r.stderr.trim() || r.stdout.trim()).split('\n')[0] ?? `exit code ${r.code}`;

/** The real Slurm commands, found on the PATH. */
export class CommandSlurmCli implements SlurmCli {
  async submit(args: readonly string[], env: Readonly<Record<string, string>>): Promise<Result<string, string>> {
    const r = await run('sbatch', ['--parsable', ...args], env);
    if (r.code !== 0) return err(`sbatch failed: ${firstLine(r)}`);
    const id = parseSbatch(r.stdout);
    return id ? ok(id) : err(`sbatch printed no job id: ${r.stdout.trim()}`);
  }

  async query(ids: readonly string[]): Promise<Result<SqueueRow[], string>> {
    const r = await run('squeue', ['--noheader', '--states=all', `--jobs=${ids.join(',')}`, `--Format=${SQUEUE_FORMAT}`]);
    // squeue refuses a list in which no job is known any more (all purged after MinJobAge).
    if (r.code !== 0 && /Invalid job id specified/i.test(r.stderr)) return ok([]);
    if (r.code !== 0) return err(`squeue failed: ${firstLine(r)}`);
    return parseSqueue(r.stdout);
  }

  async cancel(ids: readonly string[]): Promise<Result<void, string>> {
    if (ids.length === 0) return ok(undefined);
    const r = await run('scancel', [...ids]);
    return r.code === 0 ? ok(undefined) : err(`scancel failed: ${firstLine(r)}`);
  }
}
