/** Contract section 4: an interrupted or killed run leaves a valid lockfile and no orphan processes. */
import fs from 'node:fs';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, Project, startUntil, useProjects } from './rig.js';

const projects = useProjects();

/** Alive and not a zombie (an orphan's zombie may linger when PID 1 does not reap). */
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
};

const PIPE = `stages:
  first:
    cmd: cp in.txt first.txt
    deps: [in.txt]
    outs: [first.txt]
  slow:
    cmd: sh -c 'echo $$ > ../slow.pid; sleep 300 & echo $! > ../grandchild.pid; echo ready; wait'
    deps: [first.txt]
    outs: [slow.txt]
`;

describe('interruption', () => {
  it('SIGINT kills the whole process group of running stages and keeps completed stages recorded', async () => {
    const p = new Project({ 'pipeline.yaml': PIPE.replace(/\.\.\//g, ''), 'in.txt': '1\n' });
    projects.push(p);
    const run = startUntil(p, [], '[slow] ready');
    await run.reached;
    const shellPid = Number(p.read('slow.pid'));
    const grandchild = Number(p.read('grandchild.pid'));
    expect(alive(grandchild)).toBe(true);
    run.child.kill('SIGINT');
    const code = await run.closed;
    expect(code).toBe(130);
    expect(alive(shellPid)).toBe(false);
    expect(alive(grandchild)).toBe(false);
    const lock = p.read('mlbuild.lock');
    expect(lock).toContain('  first:');
    expect(lock).not.toContain('  slow:');
    expect(run.output().stderr).toContain('Interrupted (SIGINT)');
    // The next run knows first is done and slow must run.
    const s = await p.run(['status', '--json']);
    const doc = JSON.parse(s.stdout) as { stages: { name: string; stale: boolean }[] };
    expect(doc.stages.map((x) => [x.name, x.stale])).toEqual([
      ['first', false],
      ['slow', true],
    ]);
  });

  it('a second repro on the same project waits for the first, saying so, then finds everything done', async () => {
    const p = new Project({
      'pipeline.yaml': "stages:\n  slow:\n    cmd: echo ready && while [ ! -f go ]; do sleep 0.01; done && cp in.txt slow.txt\n    deps: [in.txt]\n    outs: [slow.txt]\n",
      'in.txt': '1\n',
    });
    projects.push(p);
    const first = startUntil(p, [], '[slow] ready');
    await first.reached;
    const second = spawn(process.execPath, [CLI, 'repro', '--json'], { cwd: p.dir, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err2 = '';
    let out2 = '';
    second.stdout.on('data', (d: Buffer) => (out2 += d.toString()));
    const waiting = new Promise<void>((resolve) =>
      second.stderr.on('data', (d: Buffer) => {
        err2 += d.toString();
        if (err2.includes('waiting for it to finish')) resolve();
      }),
    );
    const secondDone = new Promise<number | null>((resolve) => second.on('close', resolve));
    await waiting;
    expect(err2).toContain(`another mlbuild (pid ${first.child.pid}) is working on this project`);
    p.write({ go: '' }); // let the first run finish
    expect(await first.closed).toBe(0);
    expect(await secondDone).toBe(0);
    expect((JSON.parse(out2) as { stages: { outcome: string }[] }).stages[0]!.outcome).toBe('fresh');
  });

  it('SIGKILL of mlbuild itself loses at most the stage in flight (journal replay)', async () => {
    const p = new Project({ 'pipeline.yaml': PIPE.replace(/\.\.\//g, ''), 'in.txt': '1\n' });
    projects.push(p);
    const run = startUntil(p, [], '[slow] ready');
    await run.reached;
    const grandchild = Number(p.read('grandchild.pid'));
    run.child.kill('SIGKILL');
    await run.closed;
    process.kill(grandchild, 'SIGKILL'); // orphaned by the hard kill; not ours to leave behind
    fs.rmSync(p.path('slow.pid'));
    const r = await p.repro(['first']);
    expect(r.outcomes).toEqual({ first: 'fresh' });
    expect(p.read('mlbuild.lock')).toContain('  first:');
  });
});
