/**
 * StageRun at its boundary, with fakes where the failure cannot be produced for real (ninja tests
 * its Builder with a FakeCommandRunner): an executor that cannot spawn or throws, a cache whose save
 * throws, a cache whose restore finds a corrupt object, a hasher behind its small interface. The
 * file system, lockfile and journal are the real ones on a temp dir.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StageRun, type StageRunServices } from '../../../src/run/stage-run.js';
import { openState, type RunState } from '../../../src/run/workspace.js';
import type { Project } from '../../../src/project.js';
import type { Executor, JobResult, JobSpec } from '../../../src/execute/executor.js';
import type { CacheStore } from '../../../src/cache/store.js';
import type { FileRecord } from '../../../src/hashing/file-hasher.js';
import type { Reporter, ReproEvent } from '../../../src/report/events.js';
import type { Hasher } from '../../../src/hashing/xxhash.js';
import { RunHistory } from '../../../src/state/run-history.js';
import { CorruptObjectError } from '../../../src/cache/integrity.js';
import type { Lease } from '../../../src/schedule/resources.js';
import type { FpHash } from '../../../src/util/brand.js';
import { fakeStage } from '../fakes.js';

let root: string;
let project: Project;
let state: RunState;
beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-stagerun-'));
  fs.writeFileSync(path.join(root, 'in.txt'), 'in\n');
  project = { root, pipelineFile: path.join(root, 'pipeline.yaml'), lockPath: path.join(root, 'mlbuild.lock'), mlcacheDir: path.join(root, '.mlcache'), displayCwd: root };
  const opened = await openState(project, true);
  if (!opened.ok) throw new Error('openState failed');
  state = opened.value;
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const lease: Lease = { cpus: 1, gpuIds: [], memoryMb: 0 };
const ok = (over: Partial<JobResult> = {}): JobResult => ({ exitCode: 0, signal: null, timedOut: false, cancelled: false, durationMs: 1, ...over });

/** An executor that does what `script` says instead of spawning. */
class ScriptedExecutor implements Executor {
  readonly kind = 'local' as const;
  jobs: JobSpec[] = [];
  constructor(private readonly script: (job: JobSpec) => Promise<JobResult>) {}
  start(job: JobSpec): Promise<JobResult> {
    this.jobs.push(job);
    return this.script(job);
  }
}

/** A cache that holds nothing unless told, and fails where told. */
class FakeCache implements CacheStore {
  saved: FileRecord[][] = [];
  constructor(private readonly o: { save?: () => never; restore?: (r: readonly FileRecord[]) => never; has?: boolean } = {}) {}
  has(): Promise<boolean> {
    return Promise.resolve(this.o.has ?? false);
  }
  restore(records: readonly FileRecord[]): Promise<void> {
    return this.o.restore ? Promise.reject(this.o.restore(records) as unknown as Error) : Promise.resolve();
  }
  save(records: readonly FileRecord[]): Promise<void> {
    if (this.o.save) this.o.save();
    this.saved.push([...records]);
    return Promise.resolve();
  }
  lookupRun(_fp: FpHash): Promise<FileRecord[] | undefined> {
    return Promise.resolve(undefined);
  }
  recordRun(): Promise<void> {
    return Promise.resolve();
  }
  unprotect(): void {}
}

class Events implements Reporter {
  all: ReproEvent[] = [];
  on(e: ReproEvent): void {
    this.all.push(e);
  }
  diagnostics(): void {}
  finish(): void {}
  types(): string[] {
    return this.all.map((e) => e.type);
  }
}

function services(executor: Executor, cache: CacheStore, reporter: Reporter, hasher: Hasher = state.hasher): StageRunServices {
  return {
    project,
    lockfile: state.lockfile,
    journal: state.journal,
    files: state.files,
    hasher,
    cache,
    executor,
    reporter,
    params: {},
    fileParams: {},
    paramsJsonPath: '',
    baseEnv: {},
    gpusKnown: false,
    useRunCache: true,
    interrupted: new Set(),
    history: RunHistory.load(project.mlcacheDir),
    onRecorded: () => undefined,
  };
}

const stage = () => fakeStage('train', { deps: ['in.txt'], outs: ['out.txt'] });
const writesOut = (job: JobSpec): Promise<JobResult> => {
  fs.writeFileSync(path.join(job.cwd, 'out.txt'), 'out\n');
  return Promise.resolve(ok());
};

async function checkAndRun(run: StageRun): Promise<'succeeded' | 'failed'> {
  const c = await run.check();
  expect(c.kind).toBe('run');
  return run.run(lease, new AbortController().signal);
}

describe('StageRun at the stage boundary', () => {
  it('runs, saves and records on success', async () => {
    const cache = new FakeCache();
    const run = new StageRun(stage(), services(new ScriptedExecutor(writesOut), cache, new Events()), false);
    expect(await checkAndRun(run)).toBe('succeeded');
    expect(cache.saved.flat().map((r) => r.path)).toEqual(['out.txt']);
    expect(state.lockfile.get(stage().name)?.outs.map((o) => o.path)).toEqual(['out.txt']);
  });

  it('an executor that cannot spawn (E2BIG) fails the stage with reason spawn', async () => {
    const events = new Events();
    const exec = new ScriptedExecutor(() => Promise.resolve(ok({ exitCode: null, error: { phase: 'spawn', code: 'E2BIG', message: 'spawn E2BIG' } })));
    const run = new StageRun(stage(), services(exec, new FakeCache(), events), false);
    expect(await checkAndRun(run)).toBe('failed');
    expect(run.failure).toEqual({ reason: 'spawn', errno: 'E2BIG', detail: 'spawn E2BIG' });
    expect(run.message).toContain('too long for the OS');
    expect(events.types()).toEqual(['stage-started', 'stage-failed']);
    expect(state.lockfile.get(stage().name)).toBeUndefined();
  });

  it('an executor that throws is converted to that stage\'s failure, not a rejection', async () => {
    const exec = new ScriptedExecutor(() => Promise.reject(Object.assign(new TypeError('The argument contains null bytes'), { code: 'ERR_INVALID_ARG_VALUE' })));
    const run = new StageRun(stage(), services(exec, new FakeCache(), new Events()), false);
    expect(await checkAndRun(run)).toBe('failed');
    expect(run.failure).toMatchObject({ reason: 'spawn', errno: 'ERR_INVALID_ARG_VALUE' });
    expect(run.message).toContain('NUL byte');
  });

  it('a cache whose save throws ENOSPC fails the stage with no-space naming the path, removes the partial out and records nothing', async () => {
    const full = (): never => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC', path: path.join(root, '.mlcache/objects/ab/cd.tmp-1-x') });
    };
    const run = new StageRun(stage(), services(new ScriptedExecutor(writesOut), new FakeCache({ save: full }), new Events()), false);
    expect(await checkAndRun(run)).toBe('failed');
    expect(run.failure).toEqual({ reason: 'no-space', path: '.mlcache/objects/ab/cd.tmp-1-x' });
    expect(fs.existsSync(path.join(root, 'out.txt'))).toBe(false);
    expect(state.lockfile.get(stage().name)).toBeUndefined();
    // The journal knows the stage finished (failed): the next run does not call it interrupted.
    expect(state.journal.interrupted()).toEqual([]);
  });

  it('a cache that refuses an out (no errno) fails the stage with reason cache', async () => {
    const changed = (): never => {
      throw new Error("'out.txt' changed while it was being saved to the cache");
    };
    const run = new StageRun(stage(), services(new ScriptedExecutor(writesOut), new FakeCache({ save: changed }), new Events()), false);
    expect(await checkAndRun(run)).toBe('failed');
    expect(run.failure).toEqual({ reason: 'cache', detail: "'out.txt' changed while it was being saved to the cache" });
  });

  it('a log that could not be written fails an otherwise successful job with no-space', async () => {
    const exec = new ScriptedExecutor(async (job) => {
      await writesOut(job);
      return ok({ error: { phase: 'log', code: 'ENOSPC', message: 'ENOSPC', path: job.logPath } });
    });
    const run = new StageRun(stage(), services(exec, new FakeCache(), new Events()), false);
    expect(await checkAndRun(run)).toBe('failed');
    expect(run.failure).toEqual({ reason: 'no-space', path: '.mlcache/logs/train.log' });
  });

  it('exit codes, signals and missing outs are typed', async () => {
    const code = new StageRun(stage(), services(new ScriptedExecutor(() => Promise.resolve(ok({ exitCode: 3 }))), new FakeCache(), new Events()), false);
    expect(await checkAndRun(code)).toBe('failed');
    expect(code.failure).toEqual({ reason: 'exit-code', code: 3 });
    const sig = new StageRun(stage(), services(new ScriptedExecutor(() => Promise.resolve(ok({ exitCode: null, signal: 'SIGKILL' }))), new FakeCache(), new Events()), false);
    expect(await checkAndRun(sig)).toBe('failed');
    expect(sig.failure).toEqual({ reason: 'signal', signal: 'SIGKILL' });
    const none = new StageRun(stage(), services(new ScriptedExecutor(() => Promise.resolve(ok())), new FakeCache(), new Events()), false);
    expect(await checkAndRun(none)).toBe('failed');
    expect(none.failure).toEqual({ reason: 'missing-outs', paths: ['out.txt'] });
  });

  it('a corrupt object on restore: the stage runs instead, saying which object and where it went', async () => {
    // First a successful run, so the lockfile records the out; then the out is deleted.
    await checkAndRun(new StageRun(stage(), services(new ScriptedExecutor(writesOut), new FakeCache(), new Events()), false));
    fs.rmSync(path.join(root, 'out.txt'));
    state.files.invalidate('out.txt');
    const corrupt = (): never => {
      throw new CorruptObjectError('0123456789abcdef', 'fedcba9876543210', '.mlcache/quarantine/0123456789abcdef', 'out.txt');
    };
    const events = new Events();
    const exec = new ScriptedExecutor(writesOut);
    const run = new StageRun(stage(), services(exec, new FakeCache({ has: true, restore: corrupt }), events), false);
    expect(await checkAndRun(run)).toBe('succeeded');
    expect(exec.jobs).toHaveLength(1);
    const warning = events.all.find((e) => e.type === 'warning');
    expect(warning && 'message' in warning ? warning.message : '').toContain("cache object 0123456789abcdef for 'out.txt' is corrupt");
  });

  it('the run-cache key comes from the injected hasher', async () => {
    const seen: string[] = [];
    const stub: Hasher = {
      hashBytes: () => '0'.repeat(16),
      hashString: (s) => {
        seen.push(s);
        return 'f'.repeat(16);
      },
      stream: () => ({ update: () => undefined, digest: () => '0'.repeat(16) }),
      inPlace: () => ({ regions: [], update: () => undefined, digest: () => '0'.repeat(16), release: () => undefined }),
    };
    const cache = new FakeCache();
    let looked: string | undefined;
    cache.lookupRun = (fp: FpHash) => {
      looked = fp;
      return Promise.resolve(undefined);
    };
    const run = new StageRun(stage(), services(new ScriptedExecutor(writesOut), cache, new Events(), stub), false);
    expect(await checkAndRun(run)).toBe('succeeded');
    expect(looked).toBe('f'.repeat(16));
    expect(seen.length).toBeGreaterThan(0);
  });
  it('the slot\'s next stage is launched before this one hashes and saves its outs', async () => {
    const order: string[] = [];
    const executor = new ScriptedExecutor((job) => {
      order.push(`start ${job.stage}`);
      fs.writeFileSync(path.join(job.cwd, `${job.stage}.txt`), `${job.stage}\n`);
      return Promise.resolve(ok());
    });
    class OrderedCache extends FakeCache {
      override save(records: readonly FileRecord[]): Promise<void> {
        order.push(`save ${records.map((r) => r.path).join(',')}`);
        return super.save(records);
      }
    }
    const svc = services(executor, new OrderedCache(), new Events());
    const a = new StageRun(fakeStage('a', { deps: ['in.txt'], outs: ['a.txt'] }), svc, false);
    const b = new StageRun(fakeStage('b', { deps: ['in.txt'], outs: ['b.txt'] }), svc, false);
    expect((await a.check()).kind).toBe('run');
    expect((await b.check()).kind).toBe('run');
    const hash = state.files.hash.bind(state.files);
    state.files.hash = (p: string) => {
      if (order.length > 0) order.push(`hash ${p}`);
      return hash(p);
    };
    // What the scheduler does: a's release hands its slot to b (the pool tells it in a microtask).
    let bDone: Promise<'succeeded' | 'failed'> | undefined;
    const aDone = a.run(lease, new AbortController().signal, () => {
      queueMicrotask(() => (bDone = b.run(lease, new AbortController().signal)));
    });
    expect(await aDone).toBe('succeeded');
    expect(await bDone).toBe('succeeded');
    expect(order).toEqual(['start a', 'start b', 'hash a.txt', 'save a.txt', 'hash b.txt', 'save b.txt']);
    expect(state.lockfile.get(a.stage.name)?.outs.map((o) => o.path)).toEqual(['a.txt']);
  });
});
