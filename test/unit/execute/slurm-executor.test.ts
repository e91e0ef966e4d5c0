/** The Slurm executor's polling, streaming and cancelling, against a fake SlurmCli scripted per poll. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SlurmExecutor } from '../../../src/execute/slurm-executor.js';
import type { SlurmCli, SqueueRow } from '../../../src/execute/slurm-cli.js';
import type { JobSpec } from '../../../src/execute/executor.js';
import { type Result, ok, err } from '../../../src/util/result.js';
import { stageName } from '../../../src/util/brand.js';

/** Each submitted job follows a script of states, one per squeue call (the last one repeats). */
class FakeSlurm implements SlurmCli {
  queries: string[][] = [];
  cancels: string[][] = [];
  submits: string[][] = [];
  private next = 100;
  readonly scripts = new Map<string, SqueueRow[]>();
  readonly cancelled = new Set<string>();
  constructor(
    /** By stage name (from --job-name), so the script does not depend on which sbatch returned first. */
    private readonly scriptFor: (stage: string) => SqueueRow[],
    private readonly onQuery: (n: number) => void = () => undefined,
    private readonly submitError?: string,
  ) {}

  submit(args: readonly string[]): Promise<Result<string, string>> {
    this.submits.push([...args]);
    if (this.submitError) return Promise.resolve(err(this.submitError));
    const id = String(this.next++);
    this.scripts.set(id, this.scriptFor(args.find((a) => a.startsWith('--job-name='))!.slice('--job-name=mlbuild:'.length)));
    return Promise.resolve(ok(id));
  }

  query(ids: readonly string[]): Promise<Result<SqueueRow[], string>> {
    this.queries.push([...ids]);
    this.onQuery(this.queries.length);
    const rows: SqueueRow[] = [];
    for (const id of ids) {
      if (this.cancelled.has(id)) {
        rows.push({ id, state: 'CANCELLED', reason: 'None', waitStatus: 0 });
        continue;
      }
      const s = this.scripts.get(id)!;
      const r = s.length > 1 ? s.shift()! : s[0];
      if (r) rows.push({ ...r, id });
    }
    return Promise.resolve(ok(rows));
  }

  cancel(ids: readonly string[]): Promise<Result<void, string>> {
    this.cancels.push([...ids]);
    for (const id of ids) this.cancelled.add(id);
    return Promise.resolve(ok(undefined));
  }
}

const st = (state: string, o: Partial<SqueueRow> = {}): SqueueRow => ({ id: '', state, reason: 'None', waitStatus: 0, ...o });

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(cli: FakeSlurm, wait: () => Promise<void> = tick) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-slurm-'));
  dirs.push(dir);
  const output: Record<string, string> = {};
  const executor = new SlurmExecutor({ cli, config: { extra: [] }, scriptDir: path.join(dir, 'slurm'), pollIntervalMs: 0, wait });
  const job = (name: string): JobSpec => ({
    stage: stageName(name),
    cmds: ['true'],
    cwd: dir,
    env: {},
    logPath: path.join(dir, 'logs', `${name}.log`),
    resources: { cpus: 1, gpus: 0, memoryMb: 0 },
    onOutput: (_s, chunk) => (output[name] = (output[name] ?? '') + chunk),
  });
  return { dir, executor, job, output };
}

describe('SlurmExecutor', () => {
  it('asks squeue once per poll for all jobs in flight, and settles each when Slurm says it ended', async () => {
    // Stage a stays pending one poll, b two, c three; each then runs for one poll and ends (c fails).
    const pending = { a: 1, b: 2, c: 3 } as Record<string, number>;
    const cli = new FakeSlurm((s) => [...Array<SqueueRow>(pending[s]!).fill(st('PENDING')), st('RUNNING'), s === 'c' ? st('FAILED', { reason: 'NonZeroExitCode', waitStatus: 256 }) : st('COMPLETED')]);
    // The first poll waits until all three are submitted, so the batching is deterministic.
    const { executor, job } = setup(cli, async () => {
      while (cli.submits.length < 3) await tick();
      await tick();
    });
    const signal = new AbortController().signal;
    const results = await Promise.all(['a', 'b', 'c'].map((s) => executor.start(job(s), signal)));
    expect(results.map((r) => r.exitCode)).toEqual([0, 0, 1]);
    expect(results[2]!.detail).toMatch(/^Slurm job 10[0-2] FAILED \(NonZeroExitCode\): exit code 1$/);
    // One call per poll: all three while all were in flight, then fewer as they ended.
    expect(cli.queries.map((q) => q.length)).toEqual([3, 3, 3, 2, 1]);
    expect(executor.polls).toBe(cli.queries.length);
    expect(cli.submits.map((a) => path.basename(a.at(-1)!)).sort()).toEqual(['a.sh', 'b.sh', 'c.sh']);
  });

  it("streams the job's log as it grows, and what remains when it ends", async () => {
    let log = '';
    const cli = new FakeSlurm(
      () => [st('PENDING'), st('RUNNING'), st('RUNNING'), st('COMPLETED')],
      (n) => {
        // The job (Slurm) writes its --output file between polls.
        if (n === 2) fs.writeFileSync(log, 'epoch 1\n');
        if (n === 3) fs.appendFileSync(log, 'epoch 2\n');
        if (n === 4) fs.appendFileSync(log, 'done\n');
      },
    );
    const { executor, job, output } = setup(cli);
    const spec = job('train');
    log = spec.logPath;
    const chunks: string[] = [];
    const r = await executor.start({ ...spec, onOutput: (_s, c) => chunks.push(c) }, new AbortController().signal);
    expect(r.exitCode).toBe(0);
    expect(chunks).toEqual(['epoch 1\n', 'epoch 2\n', 'done\n']);
    expect(output).toEqual({});
  });

  it('removes an old log before submitting, so a queued job shows nothing stale', async () => {
    const cli = new FakeSlurm(() => [st('PENDING'), st('COMPLETED')]);
    const { executor, job, output } = setup(cli);
    const spec = job('a');
    fs.mkdirSync(path.dirname(spec.logPath), { recursive: true });
    fs.writeFileSync(spec.logPath, 'last run\n');
    await executor.start(spec, new AbortController().signal);
    expect(output).toEqual({});
  });

  it('cancels every job of an aborted run with one scancel and waits until Slurm says they ended', async () => {
    const cli = new FakeSlurm(() => [st('RUNNING')]);
    const { executor, job } = setup(cli);
    const controller = new AbortController();
    const started = ['a', 'b', 'c'].map((s) => executor.start(job(s), controller.signal));
    // Abort once all three are known to Slurm.
    while (!cli.queries.some((q) => q.length === 3)) await tick();
    controller.abort();
    const results = await Promise.all(started);
    expect(cli.cancels).toEqual([['100', '101', '102']]);
    expect(results.every((r) => r.cancelled && r.exitCode === null)).toBe(true);
  });

  it('submits nothing once the run was stopped', async () => {
    const cli = new FakeSlurm(() => [st('COMPLETED')]);
    const { executor, job } = setup(cli);
    const c = new AbortController();
    c.abort();
    expect((await executor.start(job('a'), c.signal)).cancelled).toBe(true);
    expect(cli.submits).toEqual([]);
  });

  it("fails the stage with sbatch's own error when submission is refused", async () => {
    const cli = new FakeSlurm(() => [], undefined, 'sbatch failed: sbatch: error: Batch job submission failed: Requested node configuration is not available');
    const { executor, job } = setup(cli);
    const r = await executor.start(job('a'), new AbortController().signal);
    expect(r).toMatchObject({ exitCode: null, cancelled: false, detail: 'sbatch failed: sbatch: error: Batch job submission failed: Requested node configuration is not available' });
    expect(cli.queries).toEqual([]);
  });

  it('gives up on a job squeue stops listing before it was seen to end', async () => {
    const cli = new FakeSlurm(() => [st('RUNNING'), undefined as unknown as SqueueRow]);
    const { executor, job } = setup(cli);
    const r = await executor.start(job('a'), new AbortController().signal);
    expect(r.detail).toBe('Slurm job 100 left squeue without a final state (purged before mlbuild saw it end; raise MinJobAge)');
    expect(cli.queries).toHaveLength(4);
  });
});
