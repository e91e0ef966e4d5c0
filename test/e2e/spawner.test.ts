/**
 * The spawner helpers, native (dist/mlbuild-spawner, native/spawner.c) and Node (dist/spawner.js),
 * driven by src/execute/launcher.ts: commands either starts behave exactly like directly spawned
 * ones (own process group, exactly the given environment, cwd, exact output bytes however large
 * or binary, exit codes and signals, default signal dispositions, timeouts that kill the whole
 * group), start failures are answered and never kill the helper, a helper that dies takes its jobs'
 * groups with it and is reported, and each exits when its stdin closes and ignores SIGINT/SIGTERM.
 * `repro` runs every stage through the native one by default, and through either when forced.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { directLauncher, nativeSpawner, nodeSpawner, SpawnerLauncher, type OnData, type SpawnerCommand } from '../../src/execute/launcher.js';
import { LocalExecutor } from '../../src/execute/local-executor.js';
import { stageName } from '../../src/util/brand.js';
import { CLI, REPO_ROOT, useProjects } from './rig.js';

const NATIVE = path.join(REPO_ROOT, 'dist', 'mlbuild-spawner');
const NODE = path.join(REPO_ROOT, 'dist', 'spawner.js');
const projects = useProjects();
// Without a C compiler `npm run build` builds no native helper: its tests are skipped then, except
// under CI=true (.ci/run installs gcc), where they fail.
const noNative = !fs.existsSync(NATIVE) && process.env.CI !== 'true';
if (noNative) console.warn('spawner.test.ts: the native spawner tests are skipped: dist/mlbuild-spawner was not built (no C compiler?)');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 250 && !cond(); i++) await new Promise((r) => setTimeout(r, 20));
};

function collect(): { onData: OnData; text: () => { stdout: Buffer; stderr: Buffer } } {
  const got: Record<string, Buffer[]> = { stdout: [], stderr: [] };
  return { onData: (s, d) => got[s]!.push(Buffer.from(d)), text: () => ({ stdout: Buffer.concat(got.stdout!), stderr: Buffer.concat(got.stderr!) }) };
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-spawner-'));
}

const parentPid = (pid: number): number => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
const env = (): Record<string, string> => ({ ...(process.env as Record<string, string>) });

const helpers: [string, SpawnerCommand][] = [...(noNative ? [] : [['native', nativeSpawner(NATIVE)] as [string, SpawnerCommand]]), ['node', nodeSpawner(NODE)]];

describe.each(helpers)('the %s spawner', (kind, command) => {
  it('runs /bin/sh -c in its own process group with exactly the given env and cwd, passing output bytes through exactly', async () => {
    // The helper inherits this variable; the command's environment must not have it.
    process.env.MLBUILD_TEST_UNSET_ME = 'inherited';
    const l = new SpawnerLauncher(command);
    delete process.env.MLBUILD_TEST_UNSET_ME;
    const cwd = tmpDir();
    const e = { ...env(), STAGE_VAR: 'a b\nc', 'ÜNI': 'ü=1' };
    try {
      const out = collect();
      const job = l.launch(`printf '%s|%s|%s|' "$STAGE_VAR" "\${MLBUILD_TEST_UNSET_ME-unset}" "$(tr '\\0' '\\n' < /proc/$$/environ | grep -a '^ÜNI=')"; pwd; cut -d' ' -f4,5 /proc/$$/stat; printf '\\377\\376' >&2; exit 3`, cwd, e, out.onData);
      const pid = await job.pid;
      const exit = await job.exited;
      expect(exit).toEqual({ exitCode: 3, signal: null });
      const { stdout, stderr } = out.text();
      // The variables set (a name no shell keeps, too), the inherited one absent, the cwd.
      const lines = stdout.toString('utf8').split('\n');
      expect(lines.length).toBe(4);
      expect(lines.slice(0, 2)).toEqual(['a b', `c|unset|ÜNI=ü=1|${fs.realpathSync(cwd)}`]);
      const [ppid, pgrp] = lines[2]!.split(' ').map(Number);
      expect(pgrp).toBe(pid); // the shell leads its own process group
      expect(ppid).not.toBe(process.pid); // the helper started it, not this process
      expect([...stderr]).toEqual([0xff, 0xfe]); // not valid UTF-8: still byte for byte
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('passes megabytes of binary output on both streams through byte for byte, and many jobs at once to the right owners', async () => {
    const l = new SpawnerLauncher(command);
    const dir = tmpDir();
    try {
      // Every byte value, in a non-repeating order, 3 MiB and 1 MiB.
      const big = Buffer.alloc(3 << 20);
      for (let i = 0, x = 1; i < big.length; i++) big[i] = x = (x * 1103515245 + 12345) >>> 16;
      fs.writeFileSync(path.join(dir, 'big.bin'), big);
      const out = collect();
      const job = l.launch('cat big.bin; head -c 1048576 big.bin >&2; cat big.bin', dir, env(), out.onData);
      const jobs = Array.from({ length: 40 }, (_, i) => {
        const o = collect();
        return { i, o, done: l.launch(`printf 'job %d\\n' ${i}; printf 'err %d' ${i} >&2; exit ${i % 7}`, dir, env(), o.onData).exited };
      });
      expect(await job.exited).toEqual({ exitCode: 0, signal: null });
      expect(out.text().stdout.equals(Buffer.concat([big, big]))).toBe(true);
      expect(out.text().stderr.equals(big.subarray(0, 1 << 20))).toBe(true);
      for (const j of jobs) {
        expect(await j.done).toEqual({ exitCode: j.i % 7, signal: null });
        expect(j.o.text().stdout.toString()).toBe(`job ${j.i}\n`);
        expect(j.o.text().stderr.toString()).toBe(`err ${j.i}`);
      }
      // Every pipe of a finished job is closed: the helper holds as many descriptors as before them.
      const probe = collect();
      await l.launch('echo $PPID', dir, env(), probe.onData).exited;
      const fds = () => fs.readdirSync(`/proc/${Number(probe.text().stdout.toString())}/fd`).length;
      const before = fds();
      await Promise.all(Array.from({ length: 30 }, () => l.launch('echo x; echo y >&2', dir, env(), () => undefined).exited));
      expect(fds()).toBe(before);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports signals; the command starts with default signal dispositions and an empty signal mask', async () => {
    const l = new SpawnerLauncher(command);
    expect(await l.launch('kill -TERM $$', os.tmpdir(), env(), () => undefined).exited).toEqual({ exitCode: null, signal: 'SIGTERM' });
    expect(await l.launch('kill -INT $$', os.tmpdir(), env(), () => undefined).exited).toEqual({ exitCode: null, signal: 'SIGINT' });
    expect(await l.launch('kill -KILL $$', os.tmpdir(), env(), () => undefined).exited).toEqual({ exitCode: null, signal: 'SIGKILL' });
    // The helper ignores SIGINT/SIGTERM/SIGPIPE and blocks SIGCHLD; none of that may reach the command.
    // (glibc's posix_spawn leaves its two internal signals, 32 and 33, ignored in every child it
    // starts: a glibc program reinstalls their handlers when it needs them.)
    const out = collect();
    await l.launch("grep -E '^Sig(Blk|Ign):' /proc/self/status", os.tmpdir(), env(), out.onData).exited;
    const [, blk, ign] = /^SigBlk:\t([0-9a-f]+)\nSigIgn:\t([0-9a-f]+)\n$/.exec(out.text().stdout.toString())!;
    expect(BigInt(`0x${blk}`)).toBe(0n);
    expect(BigInt(`0x${ign}`) & ~(3n << 31n)).toBe(0n);
  });

  it('answers start failures (missing cwd, E2BIG, a NUL byte) as values and keeps working', async () => {
    const l = new SpawnerLauncher(command);
    const missing = l.launch('true', path.join(os.tmpdir(), 'no-such-dir-mlbuild'), env(), () => undefined);
    expect(await missing.pid).toBeUndefined();
    const e = await missing.exited;
    expect(e.exitCode).toBe(127);
    expect((e.error as NodeJS.ErrnoException).code).toBe('ENOENT');
    const tooBig = await l.launch(`echo ${'x'.repeat(200_000)}`, os.tmpdir(), env(), () => undefined).exited;
    expect((tooBig.error as NodeJS.ErrnoException).code).toBe('E2BIG');
    const nul = await l.launch('echo a\0b', os.tmpdir(), env(), () => undefined).exited;
    expect((nul.error as NodeJS.ErrnoException).code).toBe('ERR_INVALID_ARG_VALUE');
    const nulEnv = await l.launch('true', os.tmpdir(), { ...env(), BAD: 'a\0b' }, () => undefined).exited;
    expect((nulEnv.error as NodeJS.ErrnoException).code).toBe('ERR_INVALID_ARG_VALUE');
    const out = collect();
    expect(await l.launch('echo still here', os.tmpdir(), env(), out.onData).exited).toEqual({ exitCode: 0, signal: null });
    expect(out.text().stdout.toString()).toBe('still here\n');
    expect(l.dead).toBe(false);
  });

  it('ignores SIGINT and SIGTERM sent to it', async () => {
    const l = new SpawnerLauncher(command);
    const first = collect();
    await l.launch('echo $PPID', os.tmpdir(), env(), first.onData).exited;
    const helper = Number(first.text().stdout.toString());
    expect(helper).toBeGreaterThan(1); // (never signal pid 0: that is this whole process group)
    process.kill(helper, 'SIGINT');
    process.kill(helper, 'SIGTERM');
    const out = collect();
    expect(await l.launch('echo $PPID', os.tmpdir(), env(), out.onData).exited).toEqual({ exitCode: 0, signal: null });
    expect(out.text().stdout.toString()).toBe(`${helper}\n`);
    expect(l.dead).toBe(false);
  });

  it('a helper that dies fails its running jobs and kills their process groups; later launches fail fast', async () => {
    const l = new SpawnerLauncher(command);
    const dir = tmpDir();
    try {
      const job = l.launch(`sleep 300 & echo $! > bg.pid; echo ready; wait`, dir, env(), () => undefined);
      const pid = (await job.pid)!;
      await until(() => fs.existsSync(path.join(dir, 'bg.pid')) && fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8') !== '');
      const bg = Number(fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8'));
      // The helper is the shell's parent: kill it, as an OOM killer would.
      process.kill(parentPid(pid), 'SIGKILL');
      const exit = await job.exited;
      expect(exit.exitCode).toBe(127);
      expect(exit.error?.message).toBe(`the ${kind} spawner process exited while the command ran`);
      await until(() => !alive(pid) && !alive(bg));
      expect(alive(bg)).toBe(false);
      expect(l.dead).toBe(true);
      expect((await l.launch('true', dir, {}, () => undefined).exited).exitCode).toBe(127);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits when its stdin closes (the main process is gone)', async () => {
    const child = spawn(command.file, command.args, { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
  });

  it('under LocalExecutor, a timeout kills the whole group of a command the helper started', async () => {
    const exec = new LocalExecutor(new SpawnerLauncher(command));
    const dir = tmpDir();
    try {
      const r = await exec.start(
        {
          stage: stageName('slow'),
          cmds: ['sleep 300 & echo $! > bg.pid; wait'],
          cwd: dir,
          env: env(),
          logPath: path.join(dir, 'logs', 'slow.log'),
          timeoutMs: 300,
          resources: { cpus: 1, gpus: 0, memoryMb: 0 },
          onOutput: () => undefined,
        },
        new AbortController().signal,
      );
      expect(r.timedOut).toBe(true);
      const bg = Number(fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8'));
      await until(() => !alive(bg));
      expect(alive(bg)).toBe(false);
      expect(fs.existsSync(path.join(dir, 'logs', 'slow.log'))).toBe(true); // failed: a log to point at
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(noNative)('native/spawner.c', () => {
  it('compiles without a warning under -Wall -Wextra -Wpedantic -Wshadow -Wconversion', () => {
    const out = path.join(tmpDir(), 'spawner');
    try {
      const r = spawnSync(process.env.CC || 'cc', ['-O2', '-Wall', '-Wextra', '-Wpedantic', '-Wshadow', '-Wconversion', '-Werror', '-o', out, path.join(REPO_ROOT, 'native', 'spawner.c')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
    }
  });
});

describe('a spawner that cannot start', () => {
  it('hands the commands sent before it was ready to the fallback, and fails them without one', async () => {
    const broken = nativeSpawner(path.join(os.tmpdir(), 'no-such-mlbuild-spawner'));
    const withFallback = new SpawnerLauncher(broken, directLauncher);
    const out = collect();
    const job = withFallback.launch('echo $PPID', os.tmpdir(), env(), out.onData);
    expect(await job.exited).toEqual({ exitCode: 0, signal: null });
    expect(out.text().stdout.toString()).toBe(`${process.pid}\n`); // started directly, by this process
    const without = new SpawnerLauncher(broken);
    const e = await without.launch('true', os.tmpdir(), env(), () => undefined).exited;
    expect(e.exitCode).toBe(127);
    expect(e.error?.message).toMatch(/native spawner process/);
  });
});

describe('repro with the spawner', () => {
  const parentsPipeline = (n: number): string =>
    `stages:\n${Array.from({ length: n }, (_, i) => {
      const s = String(i).padStart(2, '0');
      const print = i % 3 === 0 ? `echo said $MLBUILD_STAGE; ` : '';
      return `  s${s}:\n    cmd: ${print}tr '\\\\0' ' ' < /proc/$PPID/cmdline > out/s${s}.parent\n    deps: [in.txt]\n    outs: [out/s${s}.parent]\n`;
    }).join('')}`;

  it.skipIf(noNative)('by default runs every stage through the native helper; logs only what printed or failed, never an old run\'s', async () => {
    const p = projects.make({ 'in.txt': 'x\n', 'pipeline.yaml': parentsPipeline(12) });
    fs.mkdirSync(p.path('out'));
    fs.mkdirSync(p.path('.mlcache/logs'), { recursive: true });
    fs.writeFileSync(p.path('.mlcache/logs/s01.log'), 'from an earlier run\n');
    const r = await p.repro(['-j', '2'], { env: { MLBUILD_SPAWNER: 'auto' } });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(r.outcomes).every((o) => o === 'succeeded')).toBe(true);
    for (let i = 0; i < 12; i++) {
      const s = String(i).padStart(2, '0');
      expect(p.read(`out/s${s}.parent`)).toContain('/dist/mlbuild-spawner');
      const log = p.path(`.mlcache/logs/s${s}.log`);
      if (i % 3 === 0) expect(fs.readFileSync(log, 'utf8')).toBe(`said s${s}\n`);
      else expect(fs.existsSync(log)).toBe(false);
    }
  });

  it('a native helper that cannot run here (built for another libc): the stages run direct, then through the Node helper', async () => {
    // A copy of the CLI (bin/ and dist/ are self-contained) whose native helper exits at once.
    const cli = tmpDir();
    try {
      for (const d of ['bin', 'dist']) fs.cpSync(path.join(REPO_ROOT, d), path.join(cli, d), { recursive: true });
      fs.copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(cli, 'package.json'));
      fs.rmSync(path.join(cli, 'dist', 'mlbuild-spawner'), { force: true });
      fs.writeFileSync(path.join(cli, 'dist', 'mlbuild-spawner'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
      // s04 holds the chain until mlbuild's Node helper is up and idle in its event loop (a
      // handshake through /proc, not a sleep), so the stages after it go through that helper.
      const waitForHelper = `
  const fs = require('fs');
  const stat = (pid) => { const t = fs.readFileSync('/proc/' + pid + '/stat', 'utf8'); return t.slice(t.lastIndexOf(')') + 2).split(' '); };
  const cmdline = (pid) => { try { return fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8'); } catch { return ''; } };
  let main = process.pid;
  while (!cmdline(main).includes('mlbuild.js')) main = Number(stat(main)[1]);
  const deadline = Date.now() + 30000;
  for (;;) {
    const helper = fs.readdirSync('/proc').filter((d) => /^[0-9]+$/.test(d)).find((d) => cmdline(d).includes('spawner.js') && Number(stat(d)[1]) === main);
    if (helper && fs.readFileSync('/proc/' + helper + '/wchan', 'utf8') === 'do_epoll_wait') break;
    if (Date.now() > deadline) { console.error('no idle helper'); process.exit(1); }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
  fs.writeFileSync('out/s04.parent', cmdline(Number(stat(process.ppid)[1])).split('\\0').join(' '));
  `;
      const chain = Array.from({ length: 8 }, (_, i) => {
        const s = String(i).padStart(2, '0');
        const deps = i === 0 ? '[in.txt]' : `[in.txt, out/s${String(i - 1).padStart(2, '0')}.parent]`;
        const cmd = i === 4 ? 'node wait-helper.cjs' : `tr '\\\\0' ' ' < /proc/$PPID/cmdline > out/s${s}.parent`;
        return `  s${s}:\n    cmd: ${cmd}\n    deps: ${deps}\n    outs: [out/s${s}.parent]\n`;
      });
      const p = projects.make({ 'in.txt': 'x\n', 'wait-helper.cjs': waitForHelper, 'pipeline.yaml': `stages:\n${chain.join('')}` });
      fs.mkdirSync(p.path('out'));
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, [path.join(cli, 'bin', 'mlbuild.js'), 'repro'], { cwd: p.dir, env: { ...process.env, CI: 'true', MLBUILD_SPAWNER: 'auto' }, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (code) => resolve({ code, stderr }));
      });
      expect(r.code, r.stderr).toBe(0);
      const parents = Array.from({ length: 8 }, (_, i) => p.read(`out/s${String(i).padStart(2, '0')}.parent`));
      expect(parents[0]).toContain('/bin/mlbuild.js'); // queued for the native helper, then run direct
      expect(parents[7]).toContain('/dist/spawner.js');
      expect(parents.some((x) => x.includes('/dist/mlbuild-spawner'))).toBe(false);
    } finally {
      fs.rmSync(cli, { recursive: true, force: true });
    }
  });

  it.each([
    ...(noNative ? [] : [['native', '/dist/mlbuild-spawner']]),
    ['node', '/dist/spawner.js'],
    ['helper', '/dist/spawner.js'],
    ['direct', '/bin/mlbuild.js'],
  ])('MLBUILD_SPAWNER=%s runs every stage that way, and a failing silent stage still gets its log', async (way, parent) => {
    const p = projects.make({
      'in.txt': 'x\n',
      'pipeline.yaml': `stages:\n  ok:\n    cmd: tr '\\\\0' ' ' < /proc/$PPID/cmdline > ok.parent\n    deps: [in.txt]\n    outs: [ok.parent]\n  bad:\n    cmd: exit 4\n    deps: [ok.parent]\n    outs: [bad.txt]\n`,
    });
    const r = await p.repro([], { env: { MLBUILD_SPAWNER: way } });
    expect(r.code).toBe(1);
    expect(r.outcomes).toEqual({ ok: 'succeeded', bad: 'failed' });
    expect(p.read('ok.parent')).toContain(parent);
    expect(r.doc.stages.find((s) => s.name === 'bad')?.message).toContain('exit code 4');
    expect(p.read('.mlcache/logs/bad.log')).toBe('');
  });
});

describe.each(noNative ? ['node'] : ['native', 'node'])('Ctrl-C with the %s spawner', (way) => {
  it('SIGINT to the whole foreground group: the helper survives it, mlbuild kills the stage groups, records the finished stage and exits 130', async () => {
    const p = projects.make({
      'in.txt': '1\n',
      'pipeline.yaml': `stages:
  first:
    cmd: cp in.txt first.txt
    deps: [in.txt]
    outs: [first.txt]
  slow:
    cmd: sleep 300 & echo $! > grandchild.pid; echo $$ > slow.pid; echo ready; wait
    deps: [first.txt]
    outs: [slow.txt]
`,
    });
    // Its own process group, as a terminal's foreground job is: Ctrl-C is a SIGINT to all of it.
    const child = spawn(process.execPath, [CLI, 'repro'], { cwd: p.dir, env: { ...process.env, CI: 'true', MLBUILD_SPAWNER: way }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => (stdout += d.toString()).includes('[slow] ready') && resolve()));
    const shell = Number(p.read('slow.pid'));
    const grandchild = Number(p.read('grandchild.pid'));
    const helper = parentPid(shell);
    expect(fs.readFileSync(`/proc/${helper}/cmdline`, 'utf8')).toContain(way === 'native' ? 'mlbuild-spawner' : 'spawner.js');
    process.kill(-child.pid!, 'SIGINT');
    expect(await closed).toBe(130);
    expect(stderr).toContain('Interrupted (SIGINT)');
    expect(stderr).not.toContain('spawner process exited');
    await until(() => !alive(shell) && !alive(grandchild) && !alive(helper));
    expect([alive(shell), alive(grandchild), alive(helper)]).toEqual([false, false, false]);
    expect(p.read('mlbuild.lock')).toContain('  first:');
    expect(p.read('mlbuild.lock')).not.toContain('  slow:');
  });
});
