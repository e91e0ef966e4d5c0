import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { advance, endedResult, jobScript, phaseOf, sbatchArgs, slurmMinutes } from '../../../src/execute/slurm-job.js';
import { parseSbatch, parseSqueue, type SqueueRow } from '../../../src/execute/slurm-cli.js';
import type { JobSpec } from '../../../src/execute/executor.js';
import { stageName } from '../../../src/util/brand.js';

const job = (o: Partial<JobSpec> = {}): JobSpec => ({
  stage: stageName('train@1'),
  cmds: ['echo hi'],
  cwd: '/proj/sub',
  env: {},
  logPath: '/proj/.mlcache/logs/train@1.log',
  resources: { cpus: 1, gpus: 0, memoryMb: 0 },
  onOutput: () => undefined,
  ...o,
});

const row = (state: string, o: Partial<SqueueRow> = {}): SqueueRow => ({ id: '42', state, reason: 'None', waitStatus: 0, ...o });

describe('sbatchArgs', () => {
  it('maps resources, timeout and config to sbatch flags; the script comes last', () => {
    const args = sbatchArgs(job({ resources: { cpus: 4, gpus: 2, memoryMb: 8192 }, timeoutMs: 90_000 }), { partition: 'gpu', account: 'ml', extra: ['--exclusive'] }, '/s.sh');
    expect(args).toEqual([
      '--job-name=mlbuild:train@1',
      '--chdir=/proj/sub',
      '--output=/proj/.mlcache/logs/train@1.log',
      '--open-mode=truncate',
      '--cpus-per-task=4',
      '--mem=8192M',
      '--gres=gpu:2',
      '--time=2',
      '--partition=gpu',
      '--account=ml',
      '--exclusive',
      '/s.sh',
    ]);
  });

  it("lets the stage's slurm: options override the project config, extra flags after the config's", () => {
    const args = sbatchArgs(job({ slurm: { partition: 'a100', qos: 'long', extra: ['--constraint=80g'] } }), { partition: 'gpu', qos: 'normal', timeSeconds: 3600, extra: ['--exclusive'] }, '/s.sh');
    expect(args.filter((a) => /^--(partition|qos|time|exclusive|constraint)/.test(a))).toEqual(['--time=60', '--partition=a100', '--qos=long', '--exclusive', '--constraint=80g']);
  });

  it('omits what nothing asks for and escapes % in the log path (sbatch reads %j patterns there)', () => {
    const args = sbatchArgs(job({ logPath: '/p/.mlcache/logs/a%2fb.log' }), { extra: [] }, '/s.sh');
    expect(args).toEqual(['--job-name=mlbuild:train@1', '--chdir=/proj/sub', '--output=/p/.mlcache/logs/a%%2fb.log', '--open-mode=truncate', '--cpus-per-task=1', '/s.sh']);
  });

  it('rounds time limits up to whole minutes, at least one', () => {
    expect([slurmMinutes(1), slurmMinutes(60), slurmMinutes(61), slurmMinutes(7200)]).toEqual([1, 1, 2, 120]);
  });
});

describe('jobScript', () => {
  const runScript = (cmds: string[]) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-script-'));
    try {
      const file = path.join(dir, 'job.sh');
      fs.writeFileSync(file, jobScript({ stage: stageName('s'), cmds }));
      return spawnSync('/bin/sh', [file], { cwd: dir, encoding: 'utf8' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it('runs each command by /bin/sh in order, quoting intact', () => {
    const r = runScript([`echo "it's" 'a "test"'`, 'x=1; echo $x']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`it's a "test"\n1\n`);
  });

  it('stops at the first failing command with its exit code and names it', () => {
    const r = runScript(['echo one', 'exit 7', 'echo never']);
    expect(r.status).toBe(7);
    expect(r.stdout).toBe('one\n');
    expect(r.stderr).toBe('mlbuild: command failed with exit code 7: exit 7\n');
  });
});

describe('squeue and sbatch output', () => {
  it('parses squeue rows, reasons with spaces included', () => {
    expect(parseSqueue('42|RUNNING|None|0|\n43|PENDING|Resources|0|\n44|FAILED|NonZeroExitCode|256|\n45_1|PENDING|QOS Max Jobs|0|\n')).toEqual({
      ok: true,
      value: [
        { id: '42', state: 'RUNNING', reason: 'None', waitStatus: 0 },
        { id: '43', state: 'PENDING', reason: 'Resources', waitStatus: 0 },
        { id: '44', state: 'FAILED', reason: 'NonZeroExitCode', waitStatus: 256 },
        { id: '45_1', state: 'PENDING', reason: 'QOS Max Jobs', waitStatus: 0 },
      ],
    });
    expect(parseSqueue('')).toEqual({ ok: true, value: [] });
  });

  it('refuses lines it cannot read instead of guessing', () => {
    expect(parseSqueue('JOBID STATE\n')).toEqual({ ok: false, error: 'unexpected squeue line: JOBID STATE' });
  });

  it('reads the job id from sbatch --parsable', () => {
    expect(parseSbatch('123\n')).toBe('123');
    expect(parseSbatch('124;cluster-a\n')).toBe('124');
    expect(parseSbatch('sbatch: error: nope')).toBeUndefined();
  });
});

describe('job states', () => {
  it('classifies Slurm states into phases', () => {
    expect(['PENDING', 'REQUEUED', 'RUNNING', 'COMPLETING', 'COMPLETED', 'TIMEOUT', 'OUT_OF_MEMORY'].map(phaseOf)).toEqual([
      'pending', 'pending', 'running', 'running', 'ended', 'ended', 'ended',
    ]);
  });

  it('allows skipped phases but never leaves ended', () => {
    expect(advance('submitted', row('COMPLETED'))).toBe('ended');
    expect(advance('pending', row('RUNNING'))).toBe('running');
    expect(() => advance('ended', row('RUNNING'))).toThrow('Internal error: Slurm job 42 cannot go from ended to running (RUNNING)');
  });

  it("reports how a job ended in Slurm's words", () => {
    expect(endedResult(row('COMPLETED'), false, 5)).toEqual({ exitCode: 0, signal: null, timedOut: false, cancelled: false, durationMs: 5 });
    expect(endedResult(row('FAILED', { reason: 'NonZeroExitCode', waitStatus: 3 << 8 }), false, 5)).toMatchObject({ exitCode: 3, detail: 'Slurm job 42 FAILED (NonZeroExitCode): exit code 3' });
    expect(endedResult(row('FAILED', { waitStatus: 9 }), false, 5)).toMatchObject({ signal: 'SIGKILL', detail: 'Slurm job 42 FAILED: killed by SIGKILL' });
    expect(endedResult(row('TIMEOUT', { reason: 'TimeLimit' }), false, 5)).toMatchObject({ timedOut: true, detail: 'Slurm job 42 TIMEOUT (TimeLimit): killed at its time limit' });
    expect(endedResult(row('OUT_OF_MEMORY', { reason: 'OutOfMemory' }), false, 5)).toMatchObject({ exitCode: null, detail: 'Slurm job 42 OUT_OF_MEMORY (OutOfMemory)' });
    expect(endedResult(row('NODE_FAIL'), false, 5)).toMatchObject({ detail: 'Slurm job 42 NODE_FAIL' });
    expect(endedResult(row('CANCELLED'), true, 5)).toMatchObject({ cancelled: true });
    expect(endedResult(row('CANCELLED'), false, 5)).toMatchObject({ cancelled: false, detail: 'Slurm job 42 CANCELLED: cancelled outside mlbuild (scancel or an administrator)' });
  });
});
