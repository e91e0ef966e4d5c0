/**
 * Runs a stage's commands on this machine. Each command gets its own process group (detached), so
 * cancelling or timing out kills everything the stage started, not only its shell: SIGTERM to the
 * group, then SIGKILL after a grace period. Output is teed to the log file (opened on the first
 * output) and to the reporter. A command that cannot be started (E2BIG, a NUL byte) or a log that
 * cannot be written (a full disk) ends the job with `error` set, never with an exception: the
 * job's children are still waited for. It does not decide what to run or when (the scheduler does).
 *
 * Processes are started by a Launcher (launcher.ts: directly, or through the spawner helper
 * process), which reports the shell's pid; killing, timeouts and sampling happen here, by that pid.
 * Neither way uses execa: its option normalisation and stream plumbing measured ~50% more time per
 * spawn here (72 vs 47 ms on this sandbox), and we need none of its conveniences.
 */
import fs from 'node:fs';
import path from 'node:path';
import { removeLog, type Executor, type JobResult, type JobSpec } from './executor.js';
import { ProcessSampler } from './process-sampler.js';
import { sharedLauncher, type Launcher } from './launcher.js';
import { ensureDir, retryingDir } from '../util/dir-cache.js';

const KILL_GRACE_MS = 3000;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  // Usually the group is gone (ESRCH, after every stage): the thrown error needs no stack trace.
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function openLog(logPath: string): number {
  const dir = path.dirname(logPath);
  ensureDir(dir);
  return retryingDir(dir, () => fs.openSync(logPath, 'w'));
}

export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;

  constructor(private readonly launcher: Launcher = sharedLauncher()) {}

  async start(job: JobSpec, signal: AbortSignal): Promise<JobResult> {
    const started = performance.now();
    // The log is opened on the first output: most stages print nothing, and an open + close per
    // stage is measurable at 1000 stages. A stage that prints nothing leaves no log (an old one is
    // removed below, so a log never belongs to an earlier run).
    let fd: number | undefined;
    const log = (): number => (fd ??= openLog(job.logPath));
    let timedOut = false;
    let cancelled = false;
    let cpuSeconds: number | undefined;
    let peakRssMb: number | undefined;
    let error: JobResult['error'];
    // A log that cannot be opened or written (ENOSPC) stops being written; the job then fails saying why.
    const writeLog = (data: string | Buffer): void => {
      if (error) return;
      try {
        if (typeof data === 'string') fs.writeSync(log(), data);
        else fs.writeSync(log(), data);
      } catch (e) {
        const x = e as NodeJS.ErrnoException;
        error = { phase: 'log', code: x.code ?? 'EIO', message: x.message, path: job.logPath };
      }
    };
    const usage = (): { cpuSeconds?: number; peakRssMb?: number } => ({
      ...(cpuSeconds !== undefined ? { cpuSeconds } : {}),
      ...(peakRssMb !== undefined ? { peakRssMb } : {}),
    });
    try {
      for (const cmd of job.cmds) {
        if (signal.aborted) {
          cancelled = true;
          break;
        }
        const onData = (stream: 'stdout' | 'stderr', data: Buffer): void => {
          writeLog(data);
          job.onOutput(stream, data.toString('utf8'));
        };
        const child = this.launcher.launch(cmd, job.cwd, job.env, onData);
        const exited = child.exited;
        const pid = await child.pid;

        let killTimer: NodeJS.Timeout | undefined;
        const terminate = (): void => {
          killGroup(pid, 'SIGTERM');
          killTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
          killTimer.unref();
        };
        const onAbort = (): void => {
          cancelled = true;
          terminate();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        if (signal.aborted) onAbort(); // aborted while the spawner was starting it
        const remaining = job.timeoutMs !== undefined ? job.timeoutMs - (performance.now() - started) : undefined;
        const timeoutTimer =
          remaining !== undefined
            ? setTimeout(() => {
                timedOut = true;
                terminate();
              }, Math.max(0, remaining))
            : undefined;
        const sampler = new ProcessSampler(pid);
        const result = await exited;
        if (result.error) {
          // E2BIG (too long), ERR_INVALID_ARG_VALUE (a NUL byte), ENOENT (no /bin/sh, no cwd).
          writeLog(`mlbuild: could not start the command: ${result.error.message}\n`);
          error ??= { phase: 'spawn', code: (result.error as NodeJS.ErrnoException).code ?? 'EINVAL', message: result.error.message };
        }
        const used = sampler.stop();
        if (used.cpuSeconds !== undefined) cpuSeconds = (cpuSeconds ?? 0) + used.cpuSeconds;
        if (used.peakRssMb !== undefined) peakRssMb = Math.max(peakRssMb ?? 0, used.peakRssMb);
        signal.removeEventListener('abort', onAbort);
        if (timeoutTimer) clearTimeout(timeoutTimer);
        if (killTimer) clearTimeout(killTimer);
        // The shell may exit while children it backgrounded still hold the group: clean them up.
        killGroup(pid, 'SIGKILL');

        const exitCode = result.exitCode;
        const sig = result.signal;
        if (exitCode !== 0 || timedOut || cancelled || error) {
          writeLog(''); // a failed stage always has a log to point at, even an empty one
          return {
            exitCode,
            signal: sig,
            timedOut,
            cancelled,
            durationMs: performance.now() - started,
            failedCmd: cmd,
            ...usage(),
            ...(error ? { error } : {}),
          };
        }
      }
      return { exitCode: cancelled ? null : 0, signal: null, timedOut, cancelled, durationMs: performance.now() - started, ...usage(), ...(error ? { error } : {}) };
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
      else removeLog(job.logPath);
    }
  }
}
