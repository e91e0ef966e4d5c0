/**
 * Issue 7: `repro --executor slurm` against the real single-node Slurm that scripts/slurm-localhost.sh
 * starts (2 fake GPUs as gres/gpu). Without sbatch on the PATH, or when no controller answers, these tests are skipped, saying why,
 * except under CI=true, where a missing Slurm is a failure.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Project, startUntil, useProjects } from './rig.js';

const projects = useProjects();

// Installed is not enough: a controller must answer (sinfo asks it).
const hasSbatch = spawnSync('sbatch', ['--version'], { encoding: 'utf8' }).status === 0;
const slurmUp = hasSbatch && spawnSync('sinfo', ['-h'], { encoding: 'utf8', timeout: 20_000 }).status === 0;
const SKIP_REASON = hasSbatch
  ? 'no Slurm controller answers: run scripts/slurm-localhost.sh'
  : 'sbatch is not on the PATH: install slurm-wlm munge and run scripts/slurm-localhost.sh';

/** Polls fast so the tests wait on Slurm, not on mlbuild's default 2 s interval. */
const CONFIG = { '.mlbuild/config.yaml': 'core:\n  executor: slurm\nslurm:\n  poll_interval: 0.1s\n' };

/** Job ids Slurm still lists as queued, running or completing for this project (by working directory). */
function liveJobs(p: Project): string[] {
  const r = spawnSync('squeue', ['--noheader', '--Format=JobID:|,WorkDir:|'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`squeue failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split('|'))
    .filter(([, dir]) => dir !== undefined && (dir === p.dir || dir.startsWith(p.dir + path.sep)))
    .map(([id]) => id!);
}

describe('repro without Slurm', () => {
  it('--executor slurm without sbatch on the PATH is a usage error naming the fix (exit 2)', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n' });
    // A PATH with no Slurm commands on it (the CLI itself is started by its absolute path).
    const r = await p.run(['repro', '--executor', 'slurm'], { env: { PATH: p.path('no-bin') } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--executor slurm needs Slurm's sbatch, which is not on the PATH");
    expect(r.stderr).toContain('--executor local');
    expect(p.exists('a.txt')).toBe(false);
  });

  it('a bad `slurm:` stage key is a located error', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo a\n    slurm: {partition: gpu, qoss: long, extra: [exclusive]}\n' });
    const r = await p.run(['repro', '--dry']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pipeline.yaml:4:29: error: unknown key 'qoss' in 'slurm' of stage 'a'");
    expect(r.stderr).toContain("did you mean 'qos'?");
    expect(r.stderr).toContain("pipeline.yaml:4:49: error: each item of 'slurm.extra' of stage 'a' must be an sbatch flag starting with '-', got 'exclusive'");
  });
});

if (!slurmUp && process.env.CI === 'true') {
  describe('Slurm executor', () => {
    it('needs a running Slurm under CI', () => {
      throw new Error(`CI=true but ${SKIP_REASON} (.ci/run starts it)`);
    });
  });
}

describe.skipIf(!slurmUp)(`Slurm executor${slurmUp ? '' : ` (skipped: ${SKIP_REASON})`}`, () => {
  it('runs a GPU fan-out as Slurm jobs: at most 2 at once on the 2 fake GPUs, each with its own CUDA_VISIBLE_DEVICES; outs cached and locked as locally', async () => {
    // A job holds running/gpu<N> while it works: a second holder of the same GPU fails (mkdir), and
    // each records how many GPU jobs were running when it started. It then waits (bounded) for a
    // second GPU job to appear, unless the other three are done, so two run at once when Slurm lets them.
    const cmd =
      'mkdir -p running finished && mkdir running/gpu$CUDA_VISIBLE_DEVICES && n=$(ls running | wc -l) && echo "$CUDA_VISIBLE_DEVICES $n $MLBUILD_STAGE" > seen-${item}.txt && ' +
      'echo "job ${item} on gpu $CUDA_VISIBLE_DEVICES" && i=0 && while [ $(ls running | wc -l) -lt 2 ] && [ $(ls finished | wc -l) -lt 3 ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; ' +
      'rmdir running/gpu$CUDA_VISIBLE_DEVICES && touch finished/${item}';
    const p = projects.make({
      ...CONFIG,
      'pipeline.yaml':
        `stages:\n  g:\n    foreach: [1, 2, 3, 4]\n    do:\n      cmd: ${cmd}\n      outs: [seen-\${item}.txt]\n      resources: {gpus: 1}\n` +
        '  cpu:\n    cmd: echo "[\\${CUDA_VISIBLE_DEVICES:-unset}] $(cat seen-1.txt | cut -d" " -f1)" > cpu.txt\n    deps: [seen-1.txt]\n    outs: [cpu.txt]\n',
    });
    // The submitting shell's GPUs must not leak into jobs: Slurm's gres decides.
    const r = await p.repro(['-j', '8'], { env: { CUDA_VISIBLE_DEVICES: '5,6' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.outcomes).toEqual({ 'g@1': 'succeeded', 'g@2': 'succeeded', 'g@3': 'succeeded', 'g@4': 'succeeded', cpu: 'succeeded' });
    const seen = [1, 2, 3, 4].map((i) => p.read(`seen-${i}.txt`).trim().split(' '));
    expect(seen.map(([, , stage]) => stage)).toEqual(['g@1', 'g@2', 'g@3', 'g@4']);
    expect(seen.every(([gpu]) => gpu === '0' || gpu === '1')).toBe(true);
    const concurrent = seen.map(([, n]) => Number(n));
    expect(Math.max(...concurrent)).toBeLessThanOrEqual(2);
    // mlbuild did not serialise them (-j 8): Slurm ran two at once.
    expect(Math.max(...concurrent)).toBe(2);
    expect(p.read('cpu.txt')).toMatch(/^\[unset\] [01]\n$/);
    // Logs come back into .mlcache/logs and were streamed with the stage name.
    expect(p.read('.mlcache/logs/g@3.log')).toMatch(/^job 3 on gpu [01]\n$/);
    expect(r.stderr).toMatch(/^\[g@3\] job 3 on gpu [01]$/m);

    // Recorded as for local runs: a second repro finds everything fresh, a deleted out is restored.
    const lock = p.read('mlbuild.lock');
    for (const s of ['g@1', 'g@2', 'g@3', 'g@4', 'cpu']) expect(lock).toContain(`  ${s}:`);
    p.remove('seen-2.txt');
    const again = await p.repro();
    expect(again.outcomes).toEqual({ 'g@1': 'fresh', 'g@2': 'restored', 'g@3': 'fresh', 'g@4': 'fresh', cpu: 'fresh' });
    expect(liveJobs(p)).toEqual([]);
  });

  it('-j caps the jobs in flight on Slurm: with -j 1 each job is alone in squeue', async () => {
    const p = projects.make({
      ...CONFIG,
      'pipeline.yaml':
        'stages:\n  s:\n    foreach: [1, 2, 3]\n    do:\n' +
        '      cmd: squeue --noheader --Format=WorkDir:\\| | grep -cxF "$MLBUILD_PROJECT_ROOT|" > n-${item}.txt\n      outs: [n-${item}.txt]\n',
    });
    const r = await p.repro(['-j', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect([1, 2, 3].map((i) => p.read(`n-${i}.txt`))).toEqual(['1\n', '1\n', '1\n']);
  });

  it('streams a job log while it runs (plain output, job still in squeue)', async () => {
    const p = projects.make({
      ...CONFIG,
      'pipeline.yaml': 'stages:\n  talk:\n    cmd: echo hello from slurm; while [ ! -f go ]; do sleep 0.05; done; echo bye > talk.txt\n    outs: [talk.txt]\n',
    });
    const run = startUntil(p, ['--executor', 'slurm'], '[talk] hello from slurm');
    await run.reached;
    // The job is still running (it waits for `go`) while its first line was already shown.
    expect(liveJobs(p)).toHaveLength(1);
    p.write({ go: '' });
    expect(await run.closed).toBe(0);
    expect(p.read('talk.txt')).toBe('bye\n');
    expect(run.output().stdout).toMatch(/^Running stage 'talk': new\nStage 'talk' submitted as Slurm job \d+\n\[talk\] hello from slurm\n/);
  });

  it('a failing job fails its stage with Slurm state and reason, skips dependents, cancels the others (no -k), exit 1', async () => {
    const p = projects.make({
      ...CONFIG,
      'pipeline.yaml':
        'stages:\n  bad:\n    cmd: echo about to fail; exit 3\n    outs: [bad.txt]\n  after:\n    cmd: cp bad.txt after.txt\n    deps: [bad.txt]\n    outs: [after.txt]\n' +
        '  slow:\n    cmd: sleep 300; echo > slow.txt\n    outs: [slow.txt]\n',
    });
    const r = await p.repro();
    expect(r.code).toBe(1);
    expect(r.outcomes).toEqual({ bad: 'failed', after: 'skipped', slow: 'failed' });
    const msg = Object.fromEntries(r.doc.stages.map((s) => [s.name, s.message]));
    expect(msg.bad).toMatch(/^Slurm job \d+ FAILED \(NonZeroExitCode\): exit code 3$/);
    expect(msg.slow).toBe("cancelled: stage 'bad' failed");
    expect(p.read('.mlcache/logs/bad.log')).toBe('about to fail\nmlbuild: command failed with exit code 3: echo about to fail; exit 3\n');
    expect(p.exists('mlbuild.lock') ? p.read('mlbuild.lock') : '').not.toContain('bad:');
    expect(liveJobs(p)).toEqual([]);
  });

  it('with -k a failure cancels nothing: independent branches finish', async () => {
    const p = projects.make({
      ...CONFIG,
      'pipeline.yaml': 'stages:\n  bad:\n    cmd: exit 1\n  good:\n    cmd: sleep 1; echo ok > good.txt\n    outs: [good.txt]\n',
    });
    const r = await p.repro(['-k']);
    expect(r.code).toBe(1);
    expect(r.outcomes).toEqual({ bad: 'failed', good: 'succeeded' });
    expect(p.read('good.txt')).toBe('ok\n');
  });

  it('SIGINT cancels the queued and running jobs: exit 130, nothing of the run left in squeue, completed stages recorded', async () => {
    const p = projects.make({
      ...CONFIG,
      'pipeline.yaml':
        'stages:\n  first:\n    cmd: echo 1 > first.txt\n    outs: [first.txt]\n' +
        // Four jobs that each want both GPUs: one runs (and says so), the others wait in the queue.
        '  wait:\n    foreach: [a, b, c, d]\n    do:\n      cmd: echo ready; sleep 300; echo > w-${item}.txt\n      deps: [first.txt]\n      outs: [w-${item}.txt]\n      resources: {gpus: 2}\n',
    });
    const run = startUntil(p, [], '] ready');
    await run.reached;
    expect(liveJobs(p).length).toBeGreaterThanOrEqual(2);
    run.child.kill('SIGINT');
    expect(await run.closed).toBe(130);
    expect(liveJobs(p)).toEqual([]);
    expect(run.output().stderr).toContain('Interrupted (SIGINT)');
    const lock = p.read('mlbuild.lock');
    expect(lock).toContain('  first:');
    expect(lock).not.toContain('  wait@');
  });

  it('retries resubmits a failed job', async () => {
    const p = projects.make({
      ...CONFIG,
      'pipeline.yaml': 'stages:\n  flaky:\n    cmd: if [ -f tried ]; then echo ok > flaky.txt; else touch tried; exit 1; fi\n    outs: [flaky.txt]\n    retries: 1\n',
    });
    const r = await p.repro();
    expect(r.code, r.stderr).toBe(0);
    expect(r.outcomes).toEqual({ flaky: 'succeeded' });
    expect(r.stderr).toContain("stage 'flaky' failed (attempt 1/2); retrying");
    expect(p.read('flaky.txt')).toBe('ok\n');
  });

  it(
    'a job Slurm kills at its time limit is reported as TIMEOUT',
    async () => {
      // Slurm keeps limits in minutes: `timeout: 5s` asks for --time=1, enforced within ~30 s after.
      const p = projects.make({ ...CONFIG, 'pipeline.yaml': 'stages:\n  long:\n    cmd: echo started; sleep 600\n    outs: [long.txt]\n    timeout: 5s\n' });
      const r = await p.repro();
      expect(r.code).toBe(1);
      expect(r.doc.stages[0]!.message).toMatch(/^Slurm job \d+ TIMEOUT \(TimeLimit\): killed at its time limit$/);
      expect(p.read('.mlcache/logs/long.log')).toContain('started\n');
      expect(liveJobs(p)).toEqual([]);
    },
    180_000,
  );
});
