/**
 * Issue 13, findings 2-7 (finding 1 is integrity.test.ts): a full disk, commands the OS cannot
 * start, YAML alias bombs, temp files of killed runs, SIGHUP and the project lock's takeover. Each
 * failed (exit 3, a stack trace, a lost lock) on the code before the issue.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, type Project, REPO_ROOT, startUntil, useProjects } from './rig.js';

const projects = useProjects();

/**
 * Mounts a 4 MiB tmpfs at `<p>/disk` and returns its path. Where mounting is impossible (not root,
 * a container without CAP_SYS_ADMIN) the tests using it are skipped, saying so, except under CI.
 */
function smallDisk(p: Project): string {
  const dir = p.path('disk');
  fs.mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot mount a 4 MiB tmpfs for the ENOSPC test (needs root): ${r.stderr || r.error?.message}`);
  return dir;
}
const unmount = (dir: string): void => void spawnSync('umount', ['-l', dir]);
const canMount = ((): boolean => {
  if (process.getuid?.() !== 0) return false;
  const probe = fs.mkdtempSync(path.join(fs.realpathSync(process.env.TMPDIR ?? '/tmp'), 'mlbuild-mount-probe-'));
  const ok = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe]).status === 0;
  if (ok) unmount(probe);
  fs.rmSync(probe, { recursive: true, force: true });
  return ok;
})();
// Like the other service-backed tests, under CI=true they fail rather than skip (CI runs as root).
const onTmpfs = canMount || process.env.CI === 'true' ? it : it.skip;
if (!canMount) console.warn('robustness.test.ts: ENOSPC tests skipped: cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN)');

const run = (cwd: string, args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

const write = (dir: string, files: Record<string, string>): void => {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
};

const tempsIn = (dir: string): string[] =>
  fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => /\.tmp(-|$)/.test(path.basename(f))) : [];

describe('finding 2: a full disk fails the stage, never crashes', () => {
  onTmpfs('ENOSPC while an out is saved to the cache: that stage fails (exit 1), no temp object is left, the other stage is recorded', async () => {
    const p = projects.make();
    const disk = smallDisk(p);
    try {
      write(disk, {
        'pipeline.yaml': `stages:
  small:
    cmd: echo hi > small.txt
    outs: [small.txt]
  big:
    cmd: head -c 2500000 /dev/urandom > big.bin
    deps: [small.txt]
    outs: [big.bin]
`,
      });
      const r = await run(disk, ['repro']);
      expect(r.stderr).not.toContain('internal error');
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/Stage 'big' failed: no space left on the device writing '\.mlcache\/objects\//);
      expect(tempsIn(path.join(disk, '.mlcache', 'objects'))).toEqual([]);
      const lock = fs.readFileSync(path.join(disk, 'mlbuild.lock'), 'utf8');
      expect(lock).toContain('  small:');
      expect(lock).not.toContain('  big:');
    } finally {
      unmount(disk);
    }
  });

  onTmpfs('a disk full before the run: exit 1 with a hint, not exit 3', async () => {
    const p = projects.make();
    const disk = smallDisk(p);
    try {
      write(disk, { 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n' });
      spawnSync('sh', ['-c', 'head -c 8000000 /dev/zero > filler'], { cwd: disk });
      const r = await run(disk, ['repro']);
      expect(r.stderr).not.toContain('internal error');
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no space left on the device');
    } finally {
      unmount(disk);
    }
  });

  onTmpfs('a stage that fills the disk: its log writer fails it (exit 1), its partial outs go, and the finished stage is in mlbuild.lock', async () => {
    const p = projects.make();
    const disk = smallDisk(p);
    try {
      write(disk, {
        'pipeline.yaml': `stages:
  first:
    cmd: echo 1 > first.txt
    outs: [first.txt]
  fill:
    cmd: head -c 8000000 /dev/zero > fill.bin; yes spam | head -c 3000000
    deps: [first.txt]
    outs: [fill.bin]
`,
      });
      const r = await run(disk, ['repro']);
      expect(r.stderr).not.toContain('internal error');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/Stage 'fill' failed: no space left on the device writing '.*fill/);
      expect(fs.existsSync(path.join(disk, 'fill.bin'))).toBe(false);
      expect(fs.readFileSync(path.join(disk, 'mlbuild.lock'), 'utf8')).toContain('  first:');
    } finally {
      unmount(disk);
    }
  });
});

describe('finding 3: commands the OS cannot start fail their stage', () => {
  it.each(['direct', 'node', ...(fs.existsSync(path.join(REPO_ROOT, 'dist', 'mlbuild-spawner')) || process.env.CI === 'true' ? ['native'] : [])])('a 200 000-character param in cmd (E2BIG) and a NUL byte fail those stages with exit 1; the others are recorded (spawned %s)', async (spawner) => {
    const p = projects.make({
      'pipeline.yaml': `stages:
  big:
    cmd: echo \${big} > big.txt
    outs: [big.txt]
  nul:
    cmd: echo "\${nul}" > nul.txt
    outs: [nul.txt]
  ok:
    cmd: echo ok > ok.txt
    outs: [ok.txt]
`,
      'params.yaml': `big: ${'x'.repeat(200_000)}\nnul: "a\\0b"\n`,
    });
    // Through the spawner helper too: a spawn that throws there must not take the helper (and every job in flight) down.
    const r = await p.repro(['-k', '-j', '1'], { env: { MLBUILD_SPAWNER: spawner } });
    expect(r.stderr).not.toContain('internal error');
    expect(r.code).toBe(1);
    expect(r.outcomes).toEqual({ big: 'failed', nul: 'failed', ok: 'succeeded' });
    const msg = Object.fromEntries(r.doc.stages.map((s) => [s.name, s.message]));
    expect(msg.big).toContain('E2BIG');
    expect(msg.nul).toContain('NUL byte');
    const failure = Object.fromEntries((r.doc.stages as { name: string; failure?: { reason: string; errno?: string } }[]).map((s) => [s.name, s.failure]));
    expect(failure.big).toMatchObject({ reason: 'spawn', errno: 'E2BIG' });
    expect(failure.nul).toMatchObject({ reason: 'spawn', errno: 'ERR_INVALID_ARG_VALUE' });
    expect(failure.ok).toBeUndefined();
    expect(p.read('mlbuild.lock')).toContain('  ok:');
  });
});

describe('finding 4: YAML alias bombs are located errors', () => {
  const aliases = (n: number): string => Array.from({ length: n }, (_, i) => `  k${i}: *a\n`).join('');

  it('110 aliases in params.yaml: exit 2 at the 101st', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n', 'params.yaml': `a: &a [1]\nb:\n${aliases(110)}` });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('params.yaml:103:9: error: too many YAML aliases: 110 uses');
    expect(p.exists('mlbuild.lock')).toBe(false);
  });

  it('an oversized params.yaml (over 32 MiB) is refused at file:1:1 with exit 2, before parsing', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n', 'params.yaml': `blob: ${'x'.repeat(33 << 20)}\n` });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('params.yaml:1:1: error: params.yaml is 33 MiB; configuration files over 32 MiB are refused');
  });

  it('nested anchors in pipeline.yaml vars (few aliases, exponential expansion): exit 2 located', async () => {
    const p = projects.make({
      'pipeline.yaml': `vars:
  - a: &a [x, x, x, x, x, x, x, x, x, x]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
stages:
  s:
    cmd: echo hi > o.txt
    outs: [o.txt]
`,
    });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:3:\d+: error: YAML aliases expand too far/);
  });
});

describe('finding 5: temp files of killed runs are removed by the next run', () => {
  it('a lockfile temp and an object temp of a dead pid go at the start of the next repro; a live pid\'s stay', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n' });
    expect((await p.run(['repro'])).code).toBe(0);
    // A dead process: spawn one and wait for it to exit, so its pid is free.
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
    const deadLock = `.mlbuild.lock.${dead}.0123456789ab.tmp`;
    const objDir = fs.readdirSync(p.path('.mlcache/objects'))[0]!;
    const deadObj = `.mlcache/objects/${objDir}/0123456789abcd.tmp-${dead}-abcdef12`;
    const liveObj = `.mlcache/objects/${objDir}/0123456789abcd.tmp-${process.pid}-abcdef12`;
    p.write({ [deadLock]: 'partial', [deadObj]: 'partial', [liveObj]: 'partial' });
    // The killed run also left its project lock behind.
    p.write({ '.mlcache/lock': `${dead} - deadbeef0000` });
    const r = await p.run(['repro']);
    expect(r.code).toBe(0);
    expect(p.exists(deadLock)).toBe(false);
    expect(p.exists(deadObj)).toBe(false);
    expect(p.exists(liveObj)).toBe(true);
    expect(p.exists('.mlcache/lock')).toBe(false);
  });

  it('gc removes a dead run\'s lockfile temp in the project root too', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n' });
    expect((await p.run(['repro'])).code).toBe(0);
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
    const deadLock = `.mlbuild.lock.${dead}.0123456789ab.tmp`;
    p.write({ [deadLock]: 'partial' });
    const r = await p.run(['gc']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('1 temp file(s) of interrupted runs');
    expect(p.exists(deadLock)).toBe(false);
  });
});

describe('finding 6: SIGHUP', () => {
  it('is handled like SIGTERM: the running stage is killed, the finished one recorded, exit 130', async () => {
    const p = projects.make({
      'pipeline.yaml': `stages:
  first:
    cmd: echo 1 > first.txt
    outs: [first.txt]
  slow:
    cmd: echo ready; sleep 30; echo late > slow.txt
    deps: [first.txt]
    outs: [slow.txt]
`,
    });
    const r = startUntil(p, [], '[slow] ready');
    await r.reached;
    r.child.kill('SIGHUP');
    expect(await r.closed).toBe(130);
    expect(r.output().stderr).toContain('Interrupted (SIGHUP)');
    expect(p.read('mlbuild.lock')).toContain('  first:');
    // The stage's process group is gone: slow.txt is never written after mlbuild has exited.
    const sleeper = spawnSync('pgrep', ['-f', 'sleep 30; echo late'], { encoding: 'utf8' });
    expect(sleeper.stdout.trim()).toBe('');
    expect(p.exists('slow.txt')).toBe(false);
  });
});

describe('finding 7: the project lock', () => {
  it('a lock whose pid was reused by a process that started after the lock was written is taken over', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi > o.txt\n    outs: [o.txt]\n' });
    // A live process now holds the pid the (old-format, pid-only) lock names; the lock is an hour old.
    const squatter = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      p.write({ '.mlcache/lock': String(squatter.pid) });
      const hourAgo = new Date(Date.now() - 3600_000);
      fs.utimesSync(p.path('.mlcache/lock'), hourAgo, hourAgo);
      const r = await p.run(['repro']);
      expect(r.code).toBe(0);
      expect(r.stderr).not.toContain('waiting for');
      // The same with the new token: the pid is alive but its start time is not the recorded one.
      p.write({ '.mlcache/lock': `${squatter.pid} 1 cafebabe0000` });
      expect((await p.run(['repro', '-f'])).code).toBe(0);
    } finally {
      squatter.kill('SIGKILL');
    }
  });

  it('two waiters that both see a dead owner: only one runs at a time, and neither removes the other\'s lock', async () => {
    const p = projects.make({
      'pipeline.yaml': `stages:
  s:
    cmd: n=$(cat count 2>/dev/null || echo 0); echo $((n+1)) > count; echo x >> o.txt; sleep 0.3; test "$(cat count)" = "$((n+1))"
    outs: [o.txt]
    always_changed: true
`,
    });
    const dead = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim();
    p.write({ '.mlcache/lock': `${dead} - deadbeef0000` });
    const runs = await Promise.all([p.run(['repro']), p.run(['repro']), p.run(['repro'])]);
    // Overlapping runs would interleave their count updates and fail the check in cmd.
    expect(runs.map((x) => x.code)).toEqual([0, 0, 0]);
    expect(p.read('count').trim()).toBe('3');
  });

  it('exp run holds the project lock (gc waits for it)', async () => {
    const p = projects.make({
      'pipeline.yaml': `stages:
  s:
    cmd: echo ready; while [ ! -e go ]; do sleep 0.05; done; echo \${lr} > o.txt
    params: [lr]
    outs: [o.txt]
`,
      'params.yaml': 'lr: 1\n',
    });
    p.commitAll('init');
    const exp = spawn(process.execPath, [CLI, 'exp', 'run', '-S', 'lr=2'], { cwd: p.dir, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let gc: ReturnType<typeof spawn> | undefined;
    try {
      const closed = new Promise<number | null>((resolve) => exp.on('close', resolve));
      await new Promise<void>((resolve) => {
        let out = '';
        exp.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready')) resolve();
        });
      });
      const gcProc = spawn(process.execPath, [CLI, 'gc'], { cwd: p.dir, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
      gc = gcProc;
      let gcErr = '';
      const gcClosed = new Promise<number | null>((resolve) => gcProc.on('close', resolve));
      await new Promise<void>((resolve) => {
        gcProc.stderr.on('data', (d: Buffer) => {
          gcErr += d.toString();
          if (gcErr.includes('waiting for another mlbuild')) resolve();
        });
      });
      // gc is waiting on the experiment's lock; let the experiment finish, then gc goes on.
      for (const dir of findWorktrees(exp.pid!)) fs.writeFileSync(path.join(dir, 'go'), '');
      expect(await closed).toBe(0);
      expect(await gcClosed).toBe(0);
    } finally {
      // A failed assertion must not leave the experiment's stage waiting forever.
      exp.kill('SIGTERM');
      gc?.kill('SIGTERM');
    }
  });
});

/** The cwd of the stage shells below `pid` (the experiment's worktree): its children, or the spawner helper's. */
function findWorktrees(pid: number): string[] {
  const out = spawnSync('sh', ['-c', `for c in $(pgrep -P ${pid}) $(for h in $(pgrep -P ${pid}); do pgrep -P $h; done); do [ "$(cat /proc/$c/comm)" = sh ] && readlink /proc/$c/cwd; done`], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean);
}
