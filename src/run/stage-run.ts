/**
 * StageRun: the explicit state machine of one stage in one `repro`:
 *
 *   pending -> checking -> fresh | frozen | restoring -> restored
 *                       -> queued -> running -> succeeded | failed
 *   pending | queued -> skipped (upstream failed, or the run stopped)
 *
 * Each transition is asserted and emits exactly one event. Checking hashes inputs and outs without
 * holding a slot; only `running` holds a lease. Invalidate first (journal marker, outs removed),
 * record last (outs hashed and cached, then the lock entry). It is the stage boundary: anything
 * thrown while one stage is checked, run or recorded (a spawn error, ENOSPC, a cache error) becomes
 * that stage's typed StageFailure, never a rejected run. It does not choose what runs when.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isStored, type Stage } from '../model/stage.js';
import type { FileRecord } from '../hashing/file-hasher.js';
import { computeFingerprint } from '../hashing/fingerprint.js';
import type { Hasher } from '../hashing/xxhash.js';
import type { LockEntry } from '../state/lockfile.js';
import type { Journal } from '../state/journal.js';
import type { CacheStore, Fetched, RemoteSource } from '../cache/store.js';
import type { RestoreSource } from '../report/events.js';
import type { Executor } from '../execute/executor.js';
import { removeLog, succeeded } from '../execute/executor.js';
import type { Reporter } from '../report/events.js';
import type { FpHash } from '../util/brand.js';
import type { RunHistory } from '../state/run-history.js';
import type { Lease } from '../schedule/resources.js';
import type { CheckOutcome } from '../schedule/scheduler.js';
import type { Project } from '../project.js';
import { type Reason, isOutsOnly, restorableOuts } from './reason.js';
import { cmdText, inspectStage, type InspectContext, type Inspection } from './freshness.js';
import { formatBytes } from '../report/terminal.js';
import { describeFailure, failureFromError, type StageFailure } from './failure.js';
import { ensureDir } from '../util/dir-cache.js';

export type StageState =
  | 'pending'
  | 'checking'
  | 'fresh'
  | 'frozen'
  | 'restoring'
  | 'restored'
  | 'queued'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'skipped';

const TRANSITIONS: Record<StageState, readonly StageState[]> = {
  pending: ['checking', 'frozen', 'skipped'],
  checking: ['fresh', 'restoring', 'queued', 'failed'],
  restoring: ['restored', 'queued', 'failed'],
  queued: ['running', 'skipped'],
  running: ['succeeded', 'failed'],
  fresh: [],
  frozen: [],
  restored: [],
  succeeded: [],
  failed: [],
  skipped: [],
};

export interface StageRunServices extends InspectContext {
  readonly project: Project;
  readonly journal: Journal;
  readonly hasher: Hasher;
  readonly cache: CacheStore;
  /** `repro --pull`: the remote to fetch from before running a stale stage. */
  readonly remote?: RemoteSource;
  readonly executor: Executor;
  readonly reporter: Reporter;
  readonly paramsJsonPath: string;
  readonly baseEnv: Readonly<Record<string, string>>;
  /** True when the pool knows the machine's GPUs, so GPU-less stages get CUDA_VISIBLE_DEVICES=''. */
  readonly gpusKnown: boolean;
  readonly useRunCache: boolean;
  readonly history: RunHistory;
  /** Called after a lock entry changed, so the lockfile can be flushed at a bounded rate. */
  readonly onRecorded: () => void;
  /** Where a missing input comes from, for the failure message (data/missing.ts). */
  readonly whereToGet?: (path: string) => Promise<string>;
  /** Whether a stage makes `path` (then a missing dep is that stage's failure, not missing data). */
  readonly producedBy?: (path: string) => boolean;
}

/** Resolves after the microtasks queued now (the next stage's launch among them) have run. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Keeps stage names with `/` or odd characters safe as one file name. */
export const logFileName = (name: string): string => name.replace(/[^A-Za-z0-9@._=+-]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`) + '.log';

export class StageRun {
  private state: StageState = 'pending';
  reasons: Reason[] = [];
  durationMs: number | undefined;
  message: string | undefined;
  /** Why the stage failed, as a value (its `message` is this, described). */
  failure: StageFailure | undefined;
  /** What the run was doing, named in a failure that an exception caused. */
  private phase: 'check' | 'restore' | 'spawn' | 'run' | 'save' | 'record' = 'check';
  /** Where a restored stage's outs came from. */
  source: RestoreSource | undefined;
  private deps: FileRecord[] = [];
  private paramValues: Record<string, unknown> = {};
  private fp: FpHash | undefined;

  constructor(
    readonly stage: Stage,
    private readonly svc: StageRunServices,
    private readonly forced: boolean,
  ) {}

  get current(): StageState {
    return this.state;
  }

  private to(next: StageState): void {
    if (!TRANSITIONS[this.state].includes(next)) {
      throw new Error(`Internal error: stage '${this.stage.name}' cannot go from ${this.state} to ${next}`);
    }
    this.state = next;
  }

  private abs(p: string): string {
    return path.isAbsolute(p) ? p : path.join(this.svc.project.root, p);
  }

  /** Reads params and hashes deps and outs; returns the reasons to run (empty = fresh). */
  async inspect(): Promise<Inspection> {
    const found = await inspectStage(this.stage, this.svc, this.forced);
    this.deps = found.deps;
    this.paramValues = found.paramValues;
    return found;
  }

  async check(): Promise<CheckOutcome> {
    try {
      return await this.checkUnguarded();
    } catch (e) {
      // The stage boundary: an exception (ENOSPC while recording a restore, say) fails this stage.
      if (this.state !== 'checking' && this.state !== 'restoring') throw e;
      return this.fail(failureFromError(e, this.phase, this.svc.project.root));
    }
  }

  private async checkUnguarded(): Promise<CheckOutcome> {
    const { stage, svc } = this;
    if (stage.frozen) {
      this.to('frozen');
      svc.reporter.on({ type: 'stage-frozen', stage: stage.name });
      return { kind: 'done', outcome: 'frozen' };
    }
    this.to('checking');
    let inspection: Inspection;
    try {
      inspection = await this.inspect();
    } catch (e) {
      // An unhashable dep (a fifo, a symlink loop, no permission) fails this stage, not the run.
      return this.fail({ reason: 'unhashable-inputs', detail: e instanceof Error ? e.message : String(e) });
    }
    const { reasons, missingDeps, entry } = inspection;
    this.reasons = reasons;
    if (missingDeps.length > 0) {
      const where = svc.whereToGet;
      const why = where && !missingDeps.some((p) => svc.producedBy?.(p)) ? (await Promise.all(missingDeps.map(async (p) => `${p} (${await where(p)})`))).join('; ') : undefined;
      return this.fail({ reason: 'missing-deps', paths: missingDeps, ...(why !== undefined ? { detail: why } : {}) });
    }
    if (reasons.length === 0) {
      this.to('fresh');
      // Adopted from dvc.lock: record it, so the next run needs no md5 and mlbuild.lock says so.
      if (inspection.adopted && entry) {
        this.message = 'adopted from dvc.lock';
        svc.lockfile.set(stage.name, entry);
        await svc.journal.appendSuccess(stage.name, entry);
        svc.onRecorded();
      }
      svc.reporter.on({ type: 'stage-fresh', stage: stage.name, ...(inspection.adopted ? { adopted: true as const } : {}) });
      return { kind: 'done', outcome: 'fresh' };
    }
    // Only the workspace copy of outs is wrong: put the recorded outs back instead of running.
    const wanted = entry && isOutsOnly(reasons) ? restorableOuts(stage, entry, reasons) : undefined;
    if (wanted && (await svc.cache.has(wanted))) return this.restore(wanted, 'cache', entry);
    const runCache = svc.useRunCache && this.runCacheEligible() && !reasons.some((r) => r.kind === 'forced');
    if (runCache) {
      const outs = await svc.cache.lookupRun(this.fingerprint());
      if (outs && (await svc.cache.has(outs))) return this.restore(outs, 'run-cache', undefined);
    }
    // repro --pull: what the local cache lacks may be on the remote (the same two questions, asked there).
    const remote = svc.remote;
    if (remote && wanted) {
      const got = await remote.fetch(wanted, stage.name);
      if (got.ok) return this.restore(wanted, 'remote', entry, this.fetchedNote(remote.name, got));
      svc.reporter.on({ type: 'warning', message: `stage '${stage.name}': could not fetch its outs from remote '${remote.name}': ${got.message}` });
    }
    if (remote && runCache) {
      const hit = await remote.fetchRun(this.fingerprint(), stage.name);
      if (hit?.fetched.ok) return this.restore(hit.outs, 'remote-run-cache', undefined, this.fetchedNote(remote.name, hit.fetched));
      if (hit) svc.reporter.on({ type: 'warning', message: `stage '${stage.name}': run-cache entry on remote '${remote.name}' not usable: ${hit.fetched.ok ? '' : hit.fetched.message}` });
    }
    this.to('queued');
    return { kind: 'run', demand: stage.resources };
  }

  /** The run-cache key of the inputs this run checked (computed once, used to look up and record). */
  private fingerprint(): FpHash {
    this.fp ??= computeFingerprint(this.stage, this.deps, this.paramValues, this.svc.hasher).hash;
    return this.fp;
  }

  private runCacheEligible(): boolean {
    const s = this.stage;
    return !s.alwaysChanged && s.deps.length > 0 && !s.outs.some((o) => o.persist) && s.outs.length > 0;
  }

  private fetchedNote(remote: string, got: Fetched & { ok: true }): string {
    return got.files === 0 ? `objects already fetched from remote '${remote}'` : `fetched ${got.files} object${got.files === 1 ? '' : 's'} (${formatBytes(got.bytes)}) from remote '${remote}'`;
  }

  private async restore(outs: readonly FileRecord[], source: RestoreSource, entry: LockEntry | undefined, note?: string): Promise<CheckOutcome> {
    const { stage, svc } = this;
    this.to('restoring');
    this.phase = 'restore';
    this.source = source;
    if (note) this.message = note;
    try {
      await svc.cache.restore(outs);
    } catch (e) {
      svc.reporter.on({ type: 'warning', message: `could not restore '${stage.name}' from the ${source}: ${(e as Error).message}; running it instead` });
      this.to('queued');
      return { kind: 'run', demand: stage.resources };
    }
    for (const o of outs) svc.files.invalidate(o.path);
    this.phase = 'record';
    if (!entry) await this.record([...outs]);
    this.to('restored');
    svc.reporter.on({ type: 'stage-restored', stage: stage.name, source, reasons: this.reasons, ...(note ? { note } : {}) });
    return { kind: 'done', outcome: 'restored' };
  }

  private fail(failure: StageFailure): CheckOutcome {
    this.to('failed');
    this.failure = failure;
    const message = describeFailure(failure);
    this.message = message;
    this.svc.reporter.on({ type: 'stage-failed', stage: this.stage.name, message });
    return { kind: 'failed' };
  }

  skip(blockedBy: string | undefined): void {
    this.to('skipped');
    this.svc.reporter.on({ type: 'stage-skipped', stage: this.stage.name, ...(blockedBy ? { blockedBy: blockedBy as Stage['name'] } : {}) });
  }

  private env(lease: Lease): Record<string, string> {
    const { stage, svc } = this;
    const env: Record<string, string> = {
      ...svc.baseEnv,
      ...stage.env,
      MLBUILD_PARAMS: svc.paramsJsonPath,
      MLBUILD_STAGE: stage.name,
      MLBUILD_PROJECT_ROOT: svc.project.root,
      MLBUILD_CPUS: String(lease.cpus),
    };
    if (svc.executor.kind === 'cluster') {
      // The cluster allocates the CPUs and GPUs (Slurm's gres sets CUDA_VISIBLE_DEVICES); the
      // submitting shell's own GPU list must not leak into the job.
      delete env.CUDA_VISIBLE_DEVICES;
      env.MLBUILD_CPUS = String(stage.resources.cpus);
    } else if (lease.gpuIds.length > 0 || svc.gpusKnown) env.CUDA_VISIBLE_DEVICES = lease.gpuIds.join(',');
    return env;
  }

  private removeOuts(): void {
    for (const o of this.stage.outs) {
      const abs = this.abs(o.path);
      if (!o.persist) fs.rmSync(abs, { recursive: true, force: true });
      else this.svc.cache.unprotect(o.path);
      // Parents of declared outs are created so `cmd > out/x` works; nothing else is written. Made
      // once per run (1000 stages writing into out/ asked the kernel 1000 times).
      ensureDir(path.dirname(abs));
      this.svc.files.invalidate(o.path);
    }
  }

  /** `release` gives the lease back once the stage's processes have ended (before its outs are saved). */
  async run(lease: Lease, signal: AbortSignal, release: () => void = () => undefined): Promise<'succeeded' | 'failed'> {
    this.to('running');
    try {
      return await this.runUnguarded(lease, signal, release);
    } catch (e) {
      if (this.state !== 'running') throw e;
      // The stage boundary: the executor has returned (its children are reaped) when anything here throws.
      try {
        await this.svc.journal.markDone(this.stage.name);
      } catch {
        // The journal marker stays: the next run treats the stage as interrupted, which it was.
      }
      return this.runFailed(failureFromError(e, this.phase, this.svc.project.root), this.relLog());
    }
  }

  private relLog(): string {
    return path.relative(this.svc.project.displayCwd, path.join(this.svc.project.mlcacheDir, 'logs', logFileName(this.stage.name)));
  }

  private async runUnguarded(lease: Lease, signal: AbortSignal, release: () => void): Promise<'succeeded' | 'failed'> {
    const { stage, svc } = this;
    this.phase = 'run';
    const expected = svc.history.expectedSeconds(stage.name);
    svc.reporter.on({
      type: 'stage-started',
      stage: stage.name,
      reasons: this.reasons,
      gpuIds: lease.gpuIds,
      ...(expected !== undefined ? { expectedMs: expected * 1000 } : {}),
    });
    const startedAt = new Date().toISOString();
    const logPath = path.join(svc.project.mlcacheDir, 'logs', logFileName(stage.name));
    // The last run's log goes before the stage is marked running: the executor opens a new one only
    // on the first output, and a reader that sees the stage running (mlbuild ui) must never fetch
    // the old log as this run's.
    removeLog(logPath);
    svc.journal.markRunningSync(stage.name);
    this.removeOuts();
    const maxAttempts = 1 + stage.retries;
    let result;
    for (let attempt = 1; ; attempt++) {
      this.phase = 'spawn';
      result = await svc.executor.start(
        {
          stage: stage.name,
          cmds: stage.cmd,
          cwd: this.abs(stage.wdir),
          env: this.env(lease),
          logPath,
          ...(stage.timeout !== undefined ? { timeoutMs: stage.timeout * 1000 } : {}),
          resources: stage.resources,
          ...(stage.slurm ? { slurm: stage.slurm } : {}),
          onOutput: (stream, chunk) => svc.reporter.on({ type: 'stage-output', stage: stage.name, stream, chunk }),
          onSubmitted: (job) => svc.reporter.on({ type: 'stage-submitted', stage: stage.name, job }),
        },
        signal,
      );
      if (succeeded(result) || result.cancelled || attempt >= maxAttempts) break;
      svc.reporter.on({ type: 'warning', message: `stage '${stage.name}' failed (attempt ${attempt}/${maxAttempts}); retrying` });
      this.removeOuts();
    }
    // Its processes are gone (the executor reaped them): the slot can run the next stage while
    // this one hashes, saves and records its outs. The next stage is launched first: this one
    // waits a turn, so hashing its outs and handing their cache writes to the thread pool (whose
    // wake-ups cost the main thread most on 2 cores) no longer sit between an exit and the next
    // spawn.
    release();
    await nextTurn();
    this.phase = 'run';
    this.durationMs = result.durationMs;
    svc.history.record({
      stage: stage.name,
      started: startedAt,
      wall_s: result.durationMs / 1000,
      cpu_s: result.cpuSeconds ?? null,
      peak_rss_mb: result.peakRssMb ?? null,
      gpu_s: (result.durationMs / 1000) * lease.gpuIds.length,
      gpus: lease.gpuIds,
      exit_code: result.exitCode,
      signal: result.signal,
      ok: succeeded(result),
    });
    const relLog = path.relative(svc.project.displayCwd, logPath);
    if (!succeeded(result)) {
      await svc.journal.markDone(stage.name);
      // A string abort reason says why the run cancelled this stage (e.g. another stage failed).
      const failure: StageFailure = result.error
        ? result.error.phase === 'spawn'
          ? { reason: 'spawn', errno: result.error.code, detail: result.error.message }
          : failureFromError(Object.assign(new Error(result.error.message), { code: result.error.code, path: result.error.path }), 'run', svc.project.root)
        : result.cancelled
          ? typeof signal.reason === 'string' ? { reason: 'cancelled', why: signal.reason } : { reason: 'cancelled' }
          : result.detail !== undefined // a cluster scheduler's own words (state and reason)
            ? { reason: 'cluster', detail: result.detail }
            : result.timedOut
              ? { reason: 'timeout', afterMs: stage.timeout! * 1000 }
              : result.signal
                ? { reason: 'signal', signal: result.signal }
                : { reason: 'exit-code', code: result.exitCode ?? -1 };
      return this.runFailed(failure, relLog, stage.cmd.length > 1 && result.failedCmd ? ` in \`${result.failedCmd}\`` : '');
    }

    const outs: FileRecord[] = [];
    const missing: string[] = [];
    for (const o of stage.outs) {
      svc.files.invalidate(o.path);
      const rec = await svc.files.hash(o.path);
      if (rec) outs.push(rec);
      else missing.push(o.path);
    }
    if (missing.length > 0) {
      await svc.journal.markDone(stage.name);
      return this.runFailed({ reason: 'missing-outs', paths: missing }, relLog);
    }
    const stored = new Set(stage.outs.filter(isStored).map((o) => o.path));
    this.phase = 'save';
    await svc.cache.save(outs.filter((r) => stored.has(r.path)));
    if (svc.useRunCache && this.runCacheEligible() && stage.outs.every(isStored)) {
      await svc.cache.recordRun(this.fingerprint(), outs);
    }
    this.phase = 'record';
    // The `ok` line also ends the stage's `run` marker: no `done` line is needed after it.
    await this.record(outs);
    this.to('succeeded');
    svc.reporter.on({ type: 'stage-succeeded', stage: stage.name, durationMs: result.durationMs });
    return 'succeeded';
  }

  private runFailed(failure: StageFailure, logPath: string, where = ''): 'failed' {
    if (failure.reason === 'no-space') {
      // Like snakemake's incomplete outputs: a stage that filled the disk leaves only partial outs,
      // and removing them frees the space to record the stages that did finish.
      for (const o of this.stage.outs) {
        if (!o.persist) fs.rmSync(this.abs(o.path), { recursive: true, force: true, maxRetries: 0 });
        this.svc.files.invalidate(o.path);
      }
    }
    this.to('failed');
    this.failure = failure;
    const message = describeFailure(failure) + where;
    this.message = message;
    this.svc.reporter.on({
      type: 'stage-failed',
      stage: this.stage.name,
      message,
      logPath,
      ...(this.durationMs !== undefined ? { durationMs: this.durationMs } : {}),
    });
    return 'failed';
  }

  private async record(outs: FileRecord[]): Promise<void> {
    const entry: LockEntry = { cmd: cmdText(this.stage.cmd), deps: this.deps, params: this.paramValues, outs };
    this.svc.lockfile.set(this.stage.name, entry);
    await this.svc.journal.appendSuccess(this.stage.name, entry);
    this.svc.onRecorded();
  }
}
