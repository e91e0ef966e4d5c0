/** Issue 3: parallel fan-out within -j, GPU slots with CUDA_VISIBLE_DEVICES, and run history. */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();

describe('parallel scheduling', () => {
  it('-j 4 runs four independent stages at once (a barrier only all four together can pass)', async () => {
    // Each stage announces itself, then waits (bounded) until all four have announced.
    const barrier = `mkdir -p started && touch started/\${item} && i=0; while [ $(ls started | wc -l) -lt 4 ]; do i=$((i+1)); [ $i -gt 2000 ] && exit 7; sleep 0.01; done; echo ok > out-\${item}.txt`;
    const p = new Project({ 'pipeline.yaml': `stages:\n  w:\n    foreach: [a, b, c, d]\n    do:\n      cmd: ${barrier}\n      outs: [out-\${item}.txt]\n` });
    projects.push(p);
    const r = await p.repro(['-j', '4']);
    expect(r.outcomes).toEqual({ 'w@a': 'succeeded', 'w@b': 'succeeded', 'w@c': 'succeeded', 'w@d': 'succeeded' });
  });

  it('--gpus 2: six GPU stages, never more than two at once, each on its own CUDA_VISIBLE_DEVICES', async () => {
    // A stage holds the GPU dir while it works; a second holder of the same GPU, or a third stage, fails it.
    const cmd =
      'mkdir -p running && mkdir running/gpu$CUDA_VISIBLE_DEVICES && n=$(ls running | wc -l) && echo "$CUDA_VISIBLE_DEVICES $n" > seen-${item}.txt && ' +
      '[ "$n" -le 2 ] && sleep 0.2 && rmdir running/gpu$CUDA_VISIBLE_DEVICES';
    const p = new Project({
      'pipeline.yaml': `stages:\n  g:\n    foreach: [1, 2, 3, 4, 5, 6]\n    do:\n      cmd: ${cmd}\n      outs: [seen-\${item}.txt]\n      resources: {gpus: 1}\n  cpu:\n    cmd: echo "[$CUDA_VISIBLE_DEVICES]" > cpu.txt\n    outs: [cpu.txt]\n`,
    });
    projects.push(p);
    const r = await p.repro(['-j', '8', '--gpus', '2']);
    expect(r.code).toBe(0);
    const seen = [1, 2, 3, 4, 5, 6].map((i) => p.read(`seen-${i}.txt`).trim().split(' '));
    expect(seen.every(([gpu]) => gpu === '0' || gpu === '1')).toBe(true);
    expect(seen.every(([, n]) => Number(n) <= 2)).toBe(true);
    // A stage that asked for no GPU is hidden from them.
    expect(p.read('cpu.txt')).toBe('[]\n');
  });

  it('records run history and --dry states the expected time from it', async () => {
    const p = new Project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n', 'in.txt': '1' });
    projects.push(p);
    await p.repro();
    const runs = p.read('.mlcache/runs.jsonl').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ stage: 'a', ok: true, exit_code: 0, gpu_s: 0 });
    expect(typeof runs[0]!.wall_s).toBe('number');
    p.write({ 'in.txt': '2' });
    const dry = await p.run(['repro', '--dry']);
    expect(dry.stdout).toMatch(/Would run stage 'a': changed deps: in\.txt \(~\d+ms last time\)/);
    expect(dry.stdout).toMatch(/Dry run: 1 would run, 0 would be restored, 0 unchanged; expected \d+ms of stage time from past runs/);
  });
});

describe('gc and checkout', () => {
  it('gc keeps what the lockfile needs (and, with --all-commits, what commits need); checkout restores', async () => {
    const p = new Project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: mkdir -p out && cp in.txt out/v.txt\n    deps: [in.txt]\n    outs: [out]\n', 'in.txt': 'v1\n' });
    projects.push(p);
    await p.repro();
    p.commitAll('v1');
    p.write({ 'in.txt': 'v2\n' });
    await p.repro();
    const dry = await p.run(['gc', '--dry']);
    expect(dry.stdout).toMatch(/^Would remove 2 objects \(\d+ B\) not used by the workspace; keeping 2\n/);
    const kept = await p.run(['gc', '--all-commits']);
    expect(kept.stdout).toMatch(/^Removed 0 objects/);
    const gone = await p.run(['gc']);
    expect(gone.stdout).toMatch(/^Removed 2 objects/);
    // What the workspace needs is still there: delete the out and check it out.
    p.remove('out');
    const co = await p.run(['checkout']);
    expect(co.code).toBe(0);
    expect(p.read('out/v.txt')).toBe('v2\n');
    // After `git checkout` of v1 the old out is gone from the cache: checkout says so, exit 1.
    p.git('checkout', '-q', 'HEAD', '--', 'mlbuild.lock', 'in.txt');
    const old = await p.run(['checkout']);
    expect(old.code).toBe(1);
    expect(old.stderr).toContain("out (stage 'a')");
    expect(fs.existsSync(p.path('out/v.txt'))).toBe(true);
  });
});
