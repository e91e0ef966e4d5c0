/**
 * The spawner helper (dist/spawner.js, driven by src/execute/launcher.ts): commands it starts behave
 * exactly like directly spawned ones (own process group, environment, cwd, exact output bytes, exit
 * codes and signals, timeouts that kill the whole group), a helper that dies takes its jobs' groups
 * with it and is reported, and `repro` switches to it after its first few stages. Logs are written
 * only for stages that print (or fail), and never left over from an earlier run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { SpawnerLauncher, type OnData } from '../../src/execute/launcher.js';
import { LocalExecutor } from '../../src/execute/local-executor.js';
import { stageName } from '../../src/util/brand.js';
import { REPO_ROOT, useProjects } from './rig.js';

const SCRIPT = path.join(REPO_ROOT, 'dist', 'spawner.js');
const projects = useProjects();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

function collect(): { onData: OnData; text: () => { stdout: Buffer; stderr: Buffer } } {
  const got: Record<string, Buffer[]> = { stdout: [], stderr: [] };
  return { onData: (s, d) => got[s]!.push(d), text: () => ({ stdout: Buffer.concat(got.stdout!), stderr: Buffer.concat(got.stderr!) }) };
}

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-spawner-'));
}

describe('SpawnerLauncher (dist/spawner.js)', () => {
  it('runs /bin/sh -c in its own process group with the given env and cwd, passing output bytes through exactly', async () => {
    // The helper inherits this variable; the command's environment must not have it.
    process.env.MLBUILD_TEST_UNSET_ME = 'inherited';
    const l = new SpawnerLauncher(SCRIPT);
    const cwd = tmpDir();
    const env: Record<string, string> = { ...(process.env as Record<string, string>), STAGE_VAR: 'a b\nc' };
    delete env.MLBUILD_TEST_UNSET_ME;
    try {
      const out = collect();
      const job = l.launch(`printf '%s|%s|' "$STAGE_VAR" "\${MLBUILD_TEST_UNSET_ME-unset}"; pwd; cut -d' ' -f5 /proc/$$/stat; printf '\\377\\376' >&2; exit 3`, cwd, env, out.onData);
      const pid = await job.pid;
      const exit = await job.exited;
      expect(exit).toEqual({ exitCode: 3, signal: null });
      const { stdout, stderr } = out.text();
      // The variable set, the inherited one removed, the cwd, and the shell leads its own process group.
      expect(stdout.toString('utf8')).toBe(`a b\nc|unset|${fs.realpathSync(cwd)}\n${pid}\n`);
      expect([...stderr]).toEqual([0xff, 0xfe]); // not valid UTF-8: still byte for byte
    } finally {
      delete process.env.MLBUILD_TEST_UNSET_ME;
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('reports a signal, and a start failure (missing cwd) as exit 127 with the reason', async () => {
    const l = new SpawnerLauncher(SCRIPT);
    const env = process.env as Record<string, string>;
    const killed = await l.launch('kill -TERM $$', os.tmpdir(), env, () => undefined).exited;
    expect(killed).toEqual({ exitCode: null, signal: 'SIGTERM' });
    const missing = l.launch('true', path.join(os.tmpdir(), 'no-such-dir-mlbuild'), env, () => undefined);
    expect(await missing.pid).toBeUndefined();
    const e = await missing.exited;
    expect(e.exitCode).toBe(127);
    expect(e.error?.message).toMatch(/ENOENT/);
  });

  it('a helper that dies fails its running jobs and kills their process groups; later launches fail fast', async () => {
    const l = new SpawnerLauncher(SCRIPT);
    const dir = tmpDir();
    try {
      const job = l.launch(`sleep 300 & echo $! > bg.pid; echo ready; wait`, dir, process.env as Record<string, string>, () => undefined);
      const pid = (await job.pid)!;
      while (!fs.existsSync(path.join(dir, 'bg.pid')) || fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8') === '') await new Promise((r) => setTimeout(r, 20));
      const bg = Number(fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8'));
      // The helper is the shell's parent: kill it, as an OOM killer would.
      const helper = Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      process.kill(helper, 'SIGKILL');
      const exit = await job.exited;
      expect(exit.exitCode).toBe(127);
      expect(exit.error?.message).toMatch(/spawner process exited/);
      for (let i = 0; i < 100 && (alive(pid) || alive(bg)); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive(bg)).toBe(false);
      expect(l.dead).toBe(true);
      expect((await l.launch('true', dir, {}, () => undefined).exited).exitCode).toBe(127);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exits when its stdin closes (the main process is gone), leaving nothing behind', async () => {
    const child = spawn(process.execPath, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code).toBe(0);
  });

  it('under LocalExecutor, a timeout kills the whole group of a command the helper started', async () => {
    const exec = new LocalExecutor(new SpawnerLauncher(SCRIPT));
    const dir = tmpDir();
    try {
      const r = await exec.start(
        {
          stage: stageName('slow'),
          cmds: ['sleep 300 & echo $! > bg.pid; wait'],
          cwd: dir,
          env: process.env as Record<string, string>,
          logPath: path.join(dir, 'logs', 'slow.log'),
          timeoutMs: 300,
          resources: { cpus: 1, gpus: 0, memoryMb: 0 },
          onOutput: () => undefined,
        },
        new AbortController().signal,
      );
      expect(r.timedOut).toBe(true);
      const bg = Number(fs.readFileSync(path.join(dir, 'bg.pid'), 'utf8'));
      for (let i = 0; i < 100 && alive(bg); i++) await new Promise((res) => setTimeout(res, 20));
      expect(alive(bg)).toBe(false);
      expect(fs.existsSync(path.join(dir, 'logs', 'slow.log'))).toBe(true); // failed: a log to point at
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('repro with the spawner', () => {
  it('switches to the helper after its first stages; logs only what printed or failed, never an old run\'s', async () => {
    // s04 holds the run until mlbuild's helper is up and idle in its event loop (a handshake through
    // /proc, not a sleep); s05..s11 form a chain after it, so the last of them go through the helper.
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
    const stages = Array.from({ length: 12 }, (_, i) => {
      const n = String(i).padStart(2, '0');
      const print = i % 3 === 0 ? `echo said $MLBUILD_STAGE; ` : '';
      const cmd = i === 4 ? 'node wait-helper.cjs' : `${print}tr '\\\\0' ' ' < /proc/$PPID/cmdline > out/s${n}.parent`;
      const deps = i > 4 ? `[in.txt, out/s${String(i - 1).padStart(2, '0')}.parent]` : '[in.txt]';
      return `  s${n}:\n    cmd: ${cmd}\n    deps: ${deps}\n    outs: [out/s${n}.parent]\n`;
    });
    const p = projects.make({ 'in.txt': 'x\n', 'wait-helper.cjs': waitForHelper, 'pipeline.yaml': `stages:\n${stages.join('')}` });
    fs.mkdirSync(p.path('out'));
    fs.mkdirSync(p.path('.mlcache/logs'), { recursive: true });
    fs.writeFileSync(p.path('.mlcache/logs/s01.log'), 'from an earlier run\n');
    const r = await p.repro(['-j', '2'], { env: { MLBUILD_SPAWNER: 'auto' } });
    expect(r.code, r.stderr).toBe(0);
    expect(Object.values(r.outcomes).every((o) => o === 'succeeded')).toBe(true);
    const parents = stages.map((_, i) => p.read(`out/s${String(i).padStart(2, '0')}.parent`));
    // The first launches go direct (the shell's parent is mlbuild itself), the last through dist/spawner.js.
    expect(parents[0]).toContain('mlbuild.js');
    expect(parents[11]).toContain('spawner.js');
    for (let i = 0; i < 12; i++) {
      const log = p.path(`.mlcache/logs/s${String(i).padStart(2, '0')}.log`);
      if (i % 3 === 0) expect(fs.readFileSync(log, 'utf8')).toBe(`said s${String(i).padStart(2, '0')}\n`);
      else expect(fs.existsSync(log)).toBe(false);
    }
  });

  it('MLBUILD_SPAWNER=helper runs every stage through the helper, and a failing silent stage still gets its log', async () => {
    const p = projects.make({
        'in.txt': 'x\n',
        'pipeline.yaml': `stages:\n  ok:\n    cmd: tr '\\\\0' ' ' < /proc/$PPID/cmdline > ok.parent\n    deps: [in.txt]\n    outs: [ok.parent]\n  bad:\n    cmd: exit 4\n    deps: [ok.parent]\n    outs: [bad.txt]\n`,
      });
    const r = await p.repro([], { env: { MLBUILD_SPAWNER: 'helper' } });
    expect(r.code).toBe(1);
    expect(r.outcomes).toEqual({ ok: 'succeeded', bad: 'failed' });
    expect(p.read('ok.parent')).toContain('spawner.js');
    expect(r.doc.stages.find((s) => s.name === 'bad')?.message).toContain('exit code 4');
    expect(p.read('.mlcache/logs/bad.log')).toBe('');
  });
});
