/**
 * A reader that goes away (`mlbuild dag | head -1`) breaks the CLI's stdout: later writes fail with
 * EPIPE. The command must neither crash on the unhandled stream error nor stop its work: output is
 * dropped and the exit code is the work's. Each case closes the read end before the CLI writes.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cliCommand, useProjects, type Project } from './rig.js';

const projects = useProjects();

const PIPE = 'stages:\n  a:\n    cmd: echo a > a.txt\n    outs: [a.txt]\n  b:\n    cmd: cat a.txt > b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n';

/** Runs the CLI with a stdout whose reader is already gone; resolves with its exit code and stderr. */
function runBrokenStdout(p: Project, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const [cmd, argv] = cliCommand(args);
    const child = spawn(cmd, argv, { cwd: p.dir, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // closes this process's read end: the CLI's first write gets EPIPE
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('stdout closed by its reader', () => {
  it('repro still builds and records every stage, exits 0 and prints no stack', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE });
    const r = await runBrokenStdout(p, ['repro', '--json']);
    expect(r.stderr).not.toMatch(/EPIPE|Unhandled|internal error/);
    expect(r.code, r.stderr).toBe(0);
    expect(p.read('b.txt')).toBe('a\n');
    expect(p.read('mlbuild.lock')).toContain('b.txt');
    // The next run agrees that the broken-pipe run finished its work.
    const again = await p.repro();
    expect(again.outcomes).toEqual({ a: 'fresh', b: 'fresh' });
  });

  it('a read-only command (dag) and the no-op status (startup snapshot path) exit 0 without a crash', async () => {
    const p = projects.make({ 'pipeline.yaml': PIPE });
    expect((await p.repro()).code).toBe(0);
    for (const args of [['dag'], ['status'], ['status', '--json']]) {
      const r = await runBrokenStdout(p, args);
      expect(r.stderr, args.join(' ')).not.toMatch(/EPIPE|Unhandled|internal error/);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
  });
});
