/**
 * The Slurm executor: each stage that must run becomes one `sbatch` job; one poll loop asks Slurm
 * about every job in flight with ONE `squeue` call per interval (never one per job), streams each
 * job's --output log to the reporter as it grows, and settles a job when Slurm says it ended. On
 * abort (SIGINT/SIGTERM, or a failure without -k) it `scancel`s the affected jobs in one call and
 * keeps polling until Slurm reports them ended, so no job of an interrupted run is left in squeue.
 *
 * Jobs are submitted when the scheduler starts a stage (its upstream succeeded and was hashed on
 * this machine), not chained with --dependency=afterok: mlbuild must hash and cache each out
 * before it knows whether a dependent must run at all, which an afterok chain would skip.
 * It does not plan, hash or record anything; the cluster's file system must show the project.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { SlurmConfig } from '../config/project-config.js';
import { removeLog, type Executor, type JobResult, type JobSpec } from './executor.js';
import { CommandSlurmCli, type SlurmCli, type SqueueRow } from './slurm-cli.js';
import { LogTail } from './log-tail.js';
import { advance, endedResult, jobScript, sbatchArgs, type JobPhase } from './slurm-job.js';
import { atomicWriteFile } from '../util/atomic-write.js';

export interface SlurmExecutorOptions {
  readonly cli: SlurmCli;
  readonly config: SlurmConfig;
  /** Where job scripts are written (`.mlcache/slurm`), kept for inspection. */
  readonly scriptDir: string;
  readonly pollIntervalMs: number;
  /** Waits between polls (injected so tests need no real time). */
  readonly wait?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

/** A job that squeue stops listing this many polls in a row (purged, or lost by the controller) ends the stage. */
const MISSING_POLLS = 3;
/** How long squeue may keep failing (controller restart, network) before the jobs are given up. */
const QUERY_GIVE_UP_MS = 120_000;

interface Tracked {
  readonly id: string;
  readonly job: JobSpec;
  readonly tail: LogTail;
  readonly submittedAt: number;
  readonly settle: (r: JobResult) => void;
  phase: JobPhase;
  runningAt?: number;
  cancelRequested: boolean;
  missing: number;
}

const notRun = (detail: string, cancelled = false): JobResult => ({ exitCode: null, signal: null, timedOut: false, cancelled, durationMs: 0, detail });

export class SlurmExecutor implements Executor {
  readonly kind = 'cluster' as const;
  private readonly jobs = new Map<string, Tracked>();
  private readonly toCancel = new Set<string>();
  private polling = false;
  private queryFailingSince: number | undefined;
  /** squeue calls made (for tests and the overhead numbers). */
  polls = 0;

  constructor(private readonly opts: SlurmExecutorOptions) {}

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.now();
  }

  async start(job: JobSpec, signal: AbortSignal): Promise<JobResult> {
    if (signal.aborted) return notRun('not submitted: the run was stopped', true);
    const script = path.join(this.opts.scriptDir, path.basename(job.logPath).replace(/\.log$/, '') + '.sh');
    await atomicWriteFile(script, jobScript(job));
    fs.mkdirSync(path.dirname(job.logPath), { recursive: true });
    // Slurm creates the log when the job starts: an old one must not be streamed while it waits.
    removeLog(job.logPath);
    const submitted = await this.opts.cli.submit(sbatchArgs(job, this.opts.config, script), job.env);
    if (!submitted.ok) return notRun(submitted.error);

    const id = submitted.value;
    job.onSubmitted?.(`Slurm job ${id}`);
    let settle!: (r: JobResult) => void;
    const done = new Promise<JobResult>((resolve) => (settle = resolve));
    this.jobs.set(id, { id, job, tail: new LogTail(job.logPath), submittedAt: this.now(), settle, phase: 'submitted', cancelRequested: false, missing: 0 });
    const onAbort = (): void => this.requestCancel(id);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) this.requestCancel(id);
    this.ensurePolling();
    try {
      return await done;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private requestCancel(id: string): void {
    const t = this.jobs.get(id);
    if (!t || t.cancelRequested) return;
    t.cancelRequested = true;
    this.toCancel.add(id);
    // Aborts arrive together (one signal, many jobs): gather them into one scancel call.
    queueMicrotask(() => void this.flushCancels());
  }

  private async flushCancels(): Promise<void> {
    const ids = [...this.toCancel].filter((id) => this.jobs.has(id));
    this.toCancel.clear();
    if (ids.length === 0) return;
    const r = await this.opts.cli.cancel(ids);
    // Try again at the next poll; the jobs stay tracked until Slurm says they ended.
    if (!r.ok) for (const id of ids) if (this.jobs.has(id)) this.toCancel.add(id);
  }

  private ensurePolling(): void {
    if (this.polling) return;
    this.polling = true;
    void this.pollLoop();
  }

  private async pollLoop(): Promise<void> {
    const wait = this.opts.wait ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    try {
      while (this.jobs.size > 0) {
        await wait(this.opts.pollIntervalMs);
        if (this.toCancel.size > 0) await this.flushCancels();
        await this.pollOnce();
      }
    } catch (e) {
      // A broken invariant must not leave stages waiting forever.
      for (const t of this.jobs.values()) this.finish(t, notRun(`Internal error while polling Slurm: ${e instanceof Error ? e.message : String(e)}`));
    } finally {
      this.polling = false;
    }
  }

  /** One squeue call for every job in flight; streams their logs and settles the ended ones. */
  private async pollOnce(): Promise<void> {
    const tracked = [...this.jobs.values()];
    if (tracked.length === 0) return;
    this.polls++;
    const r = await this.opts.cli.query(tracked.map((t) => t.id));
    for (const t of tracked) this.stream(t);
    const now = this.now();
    if (!r.ok) {
      this.queryFailingSince ??= now;
      if (now - this.queryFailingSince < QUERY_GIVE_UP_MS) return;
      await this.opts.cli.cancel(tracked.map((t) => t.id));
      for (const t of tracked) this.finish(t, notRun(`${r.error} (for ${Math.round((now - this.queryFailingSince) / 1000)}s); the job was cancelled`));
      return;
    }
    this.queryFailingSince = undefined;
    const rows = new Map<string, SqueueRow>(r.value.map((row) => [row.id, row]));
    for (const t of tracked) {
      const row = rows.get(t.id);
      if (!row) {
        if (++t.missing >= MISSING_POLLS) this.finish(t, notRun(`Slurm job ${t.id} left squeue without a final state (purged before mlbuild saw it end; raise MinJobAge)`, t.cancelRequested));
        continue;
      }
      t.missing = 0;
      t.phase = advance(t.phase, row);
      if (t.phase === 'running') t.runningAt ??= now;
      if (t.phase === 'ended') {
        this.stream(t);
        this.finish(t, endedResult(row, t.cancelRequested, now - (t.runningAt ?? t.submittedAt)));
      }
    }
  }

  private stream(t: Tracked): void {
    const text = t.tail.read();
    if (text !== '') t.job.onOutput('stdout', text);
  }

  private finish(t: Tracked, result: JobResult): void {
    if (!this.jobs.delete(t.id)) return;
    t.settle(result);
  }
}

/** Default seconds between two squeue calls: a few per minute per user is what cluster admins tolerate. */
export const DEFAULT_POLL_SECONDS = 2;
/** The floor for `slurm.poll_interval`, so a typo cannot hammer the controller. */
const MIN_POLL_SECONDS = 0.1;

/** The executor `repro --executor slurm` uses: the real Slurm commands and the project's `slurm:` config. */
export function makeSlurmExecutor(config: SlurmConfig, scriptDir: string): SlurmExecutor {
  const seconds = Math.max(MIN_POLL_SECONDS, config.pollIntervalSeconds ?? DEFAULT_POLL_SECONDS);
  return new SlurmExecutor({ cli: new CommandSlurmCli(), config, scriptDir, pollIntervalMs: seconds * 1000 });
}
