/**
 * Issue 4, experiments: `exp run` sweeps in isolated worktrees recorded as refs/exps/<name>, `exp
 * show`/`diff`, `apply` (outs restored from the cache, nothing rerun), `branch`, `remove`, the
 * queue with `--run-all -j 2`, and the error cases, all through the built CLI on real git repos.
 *
 * The stages append one line per execution to a counter file outside the project, so the tests
 * see exactly which stages ran in any worktree; expected metrics are computed here from the
 * inputs, not copied from a run.
 * Each test spawns the CLI a dozen times, hence the longer timeout on a loaded 2-core machine.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();

const RAW = [3, 4, 5];
const SUM = RAW.reduce((a, b) => a + b, 0);
const score = (lr: number, epochs: number): number => SUM * lr * epochs;

const PIPE = `stages:
  prepare:
    cmd: node stages/prepare.js
    deps: [stages/prepare.js, data/raw.txt]
    outs: [data/prep.json]
  train:
    cmd: node stages/train.js
    deps: [stages/train.js, data/prep.json]
    params: [train]
    outs: [model/model.json]
    metrics: [metrics/score.json: {cache: false}]
`;

const PREPARE = `const fs = require('fs');
fs.appendFileSync(process.env.COUNTER, 'prepare\\n');
const nums = fs.readFileSync('data/raw.txt', 'utf8').trim().split('\\n').map(Number);
fs.writeFileSync('data/prep.json', JSON.stringify({ sum: nums.reduce((a, b) => a + b, 0) }));
`;

// With BARRIER set, each run announces itself there and waits (bounded) until two have: the
// handshake that proves two experiments' stages ran at the same time.
const TRAIN = `const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS, 'utf8')).train;
fs.appendFileSync(process.env.COUNTER, 'train ' + p.lr + ' ' + p.epochs + '\\n');
if (process.env.BARRIER) {
  fs.writeFileSync(process.env.BARRIER + '/' + p.lr, process.env.CUDA_VISIBLE_DEVICES || '');
  const until = Date.now() + 30000;
  while (fs.readdirSync(process.env.BARRIER).length < 2) {
    if (Date.now() > until) { console.error('no partner run arrived'); process.exit(3); }
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
}
const { sum } = JSON.parse(fs.readFileSync('data/prep.json', 'utf8'));
fs.mkdirSync('model', { recursive: true });
fs.mkdirSync('metrics', { recursive: true });
fs.writeFileSync('model/model.json', JSON.stringify({ w: sum * p.lr * p.epochs }));
fs.writeFileSync('metrics/score.json', JSON.stringify({ score: sum * p.lr * p.epochs }));
`;

interface ShowDoc {
  experiments: {
    name: string;
    baseline: boolean;
    rev: string | null;
    base: string | null;
    status: string | null;
    duration_s: number | null;
    cost: { cpu_s: number; stage_runs: number } | null;
    overrides: string[];
    params: Record<string, unknown>;
    metrics: Record<string, Record<string, number>>;
  }[];
}

/** A committed, reproduced project whose data/raw.txt is git-ignored (an input outside git). */
async function setup(): Promise<{ p: Project; env: Record<string, string>; ran: () => string[] }> {
  const p = projects.make({
    'pipeline.yaml': PIPE,
    'params.yaml': 'train:\n  lr: 0.1\n  epochs: 2\n',
    'stages/prepare.js': PREPARE,
    'stages/train.js': TRAIN,
    'data/raw.txt': RAW.join('\n') + '\n',
    '.gitignore': '/data/raw.txt\n',
  });
  // Inside .git: outside every worktree's files, and removed with the project.
  const counter = p.path('.git/stage-runs');
  const env = { COUNTER: counter };
  expect((await p.run(['repro'], { env })).code).toBe(0);
  p.commitAll('baseline');
  fs.rmSync(counter);
  const ran = (): string[] => (fs.existsSync(counter) ? fs.readFileSync(counter, 'utf8').trim().split('\n').filter(Boolean) : []);
  return { p, env, ran };
}

/** Every file of the workspace except git's and mlbuild's own state, with its bytes. */
function snapshot(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (r === '.git' || r === '.mlcache') continue;
      if (e.isDirectory()) walk(r);
      else files.set(r, fs.readFileSync(path.join(dir, r)).toString('base64'));
    }
  };
  walk('');
  return files;
}

const expRefs = (p: Project): string[] =>
  p
    .git('for-each-ref', '--format=%(refname)', 'refs/exps/')
    .split('\n')
    .filter(Boolean);

async function show(p: Project): Promise<ShowDoc> {
  const r = await p.run(['exp', 'show', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ShowDoc;
}

describe('exp run: a sweep', { timeout: 120_000 }, () => {
  it('runs one experiment per value in worktrees, records three refs, and leaves the workspace byte-identical', async () => {
    const { p, env, ran } = await setup();
    // An uncommitted params change: experiments start from the workspace, not only from HEAD.
    p.write({ 'params.yaml': 'train:\n  lr: 0.1\n  epochs: 3\n' });
    // The user's git hooks are theirs: checking out an experiment's worktree must not fire them.
    const hookRan = p.path('.git/post-checkout-ran');
    fs.writeFileSync(p.path('.git/hooks/post-checkout'), `#!/bin/sh\necho "$PWD" >> '${hookRan}'\n`, { mode: 0o755 });
    const before = snapshot(p.dir);
    const head = p.git('rev-parse', 'HEAD').trim();

    const r = await p.run(['exp', 'run', '-S', 'train.lr=0.01,0.1,0.5'], { env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(fs.existsSync(hookRan)).toBe(false);
    expect(snapshot(p.dir)).toEqual(before);
    expect(p.git('status', '--porcelain')).toBe(' M params.yaml\n');

    // prepare came from the shared cache in every worktree; train ran once per value.
    expect(ran().sort()).toEqual(['train 0.01 3', 'train 0.1 3', 'train 0.5 3']);
    expect(r.stdout).toContain('copied in, not in git: data/raw.txt');
    expect(expRefs(p)).toHaveLength(3);

    const doc = await show(p);
    const exps = doc.experiments.filter((e) => !e.baseline);
    expect(exps.map((e) => e.params['train.lr']).sort()).toEqual([0.01, 0.1, 0.5]);
    for (const e of exps) {
      const lr = e.params['train.lr'] as number;
      expect(e.params['train.epochs']).toBe(3);
      expect(e.metrics['metrics/score.json']!.score).toBeCloseTo(score(lr, 3), 10);
      expect(e).toMatchObject({ status: 'succeeded', base: head, overrides: [`train.lr=${lr}`] });
      expect(e.cost!.stage_runs).toBe(1);
      expect(e.duration_s).toBeGreaterThan(0);
      // The experiment commit sits on the base and holds the run's params, lockfile and metrics.
      expect(p.git('rev-parse', `${e.rev}^`).trim()).toBe(head);
      expect(p.git('diff', '--name-only', head, e.rev!).trim().split('\n')).toEqual(['metrics/score.json', 'mlbuild.lock', 'params.yaml']);
      expect(JSON.parse(p.git('show', `${e.rev}:metrics/score.json`)).score).toBeCloseTo(score(lr, 3), 10);
    }
    // The baseline rows: the workspace and HEAD (branch main), with the committed metrics.
    expect(doc.experiments.filter((e) => e.baseline).map((e) => e.name)).toEqual(['workspace', 'main']);
    expect(doc.experiments[1]!.metrics['metrics/score.json']!.score).toBeCloseTo(score(0.1, 2), 10);

    const table = await p.run(['exp', 'show', '--sort-by', 'score', '--sort-order', 'desc']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^Experiment\s+Base\s+Created\s+Status\s+Duration\s+CPU\s+train\.lr\s+train\.epochs\s+score$/);
    expect(lines.slice(3).map((l) => l.split(/\s+/)[7])).toEqual(['0.5', '0.1', '0.01']);

    // The same experiment again is refused by its (content-derived) name.
    const again = await p.run(['exp', 'run', '-S', 'train.lr=0.5'], { env });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/experiment 'exp-[0-9a-f]{7}' already exists/);
  });

  it('sweeps group options too: -S model=small,big -S lr=1,2 is four experiments', async () => {
    const depth = { small: 2, big: 8 };
    const p = projects.make({
      'pipeline.yaml': `stages:
  train:
    cmd: node train.js
    deps: [train.js]
    params: [model, lr]
    metrics: [metrics/m.json: {cache: false}]
`,
      'train.js': `const fs = require('fs');
const p = JSON.parse(fs.readFileSync(process.env.MLBUILD_PARAMS, 'utf8'));
fs.mkdirSync('metrics', { recursive: true });
fs.writeFileSync('metrics/m.json', JSON.stringify({ acc: p.model.depth * p.lr }));
`,
      'params/base.yaml': 'lr: 0.5\ndefaults:\n  - model: small\n',
      'params/model/small.yaml': `depth: ${depth.small}\n`,
      'params/model/big.yaml': `depth: ${depth.big}\n`,
    });
    expect((await p.run(['repro'])).code).toBe(0);
    p.commitAll('baseline');
    const r = await p.run(['exp', 'run', '-S', 'model=small,big', '-S', 'lr=1,2']);
    expect(r.code, r.stderr).toBe(0);
    const got = (await show(p)).experiments.filter((e) => !e.baseline).map((e) => [e.overrides.join(' '), e.params['model.depth'], e.metrics['metrics/m.json']!.acc]);
    const want = (['small', 'big'] as const).flatMap((m) => [1, 2].map((lr) => [`model=${m} lr=${lr}`, depth[m], depth[m] * lr]));
    expect(got.sort()).toEqual(want.sort());
    const bad = await p.run(['exp', 'run', '-S', 'model=small,huge']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("params group 'model' has no option 'huge'");
  });

  it('exp diff compares the params and metrics of two experiments', async () => {
    const { p, env } = await setup();
    expect((await p.run(['exp', 'run', '-n', 'lo', '-S', 'train.lr=0.25'], { env })).code).toBe(0);
    expect((await p.run(['exp', 'run', '-n', 'hi', '-S', 'train.lr=0.5'], { env })).code).toBe(0);
    const r = await p.run(['exp', 'diff', 'lo', 'hi', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      params: { 'train.lr': { old: 0.25, new: 0.5, diff: 0.25 } },
      metrics: { 'metrics/score.json': { score: { old: score(0.25, 2), new: score(0.5, 2), diff: score(0.5, 2) - score(0.25, 2) } } },
    });
    const table = await p.run(['exp', 'diff', 'lo', 'hi']);
    expect(table.stdout).toContain('train.lr  0.25  0.5');
  });
});

describe('exp apply, branch, remove', { timeout: 120_000 }, () => {
  it('apply brings the params, lockfile and metrics in and restores the outs from the cache without running a stage', async () => {
    const { p, env, ran } = await setup();
    expect((await p.run(['exp', 'run', '--name', 'best', '-S', 'train.lr=0.5'], { env })).code).toBe(0);
    const runs = ran().length;

    const r = await p.run(['exp', 'apply', 'best'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('restored model/model.json');
    expect(ran()).toHaveLength(runs);
    expect(JSON.parse(p.read('model/model.json'))).toEqual({ w: score(0.5, 2) });
    expect(JSON.parse(p.read('metrics/score.json')).score).toBeCloseTo(score(0.5, 2), 10);
    expect(p.read('params.yaml')).toContain('lr: 0.5');
    expect(p.read('mlbuild.lock')).toBe(p.git('show', 'refs/exps/best:mlbuild.lock'));
    // The workspace now is the experiment: nothing is stale.
    expect((await p.run(['status', '--check'], { env })).code).toBe(0);
  });

  it('apply refuses to overwrite uncommitted changes unless --force', async () => {
    const { p, env } = await setup();
    expect((await p.run(['exp', 'run', '--name', 'e1', '-S', 'train.lr=0.5'], { env })).code).toBe(0);
    p.write({ 'params.yaml': 'train:\n  lr: 0.3\n  epochs: 2\n' });
    const r = await p.run(['exp', 'apply', 'e1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("applying 'e1' would overwrite uncommitted changes to:\n  params.yaml\n");
    expect(p.read('params.yaml')).toContain('lr: 0.3');
    expect((await p.run(['exp', 'apply', 'e1', '--force'])).code).toBe(0);
    expect(p.read('params.yaml')).toContain('lr: 0.5');
  });

  it('branch makes a git branch of an experiment; remove deletes experiments', async () => {
    const { p, env } = await setup();
    expect((await p.run(['exp', 'run', '-n', 'a', '-S', 'train.lr=0.2,0.3'], { env })).code).toBe(0);
    expect(expRefs(p)).toEqual(['refs/exps/a-1', 'refs/exps/a-2']);

    expect((await p.run(['exp', 'branch', 'a-2', 'tuned'])).code).toBe(0);
    expect(p.git('rev-parse', 'tuned').trim()).toBe(p.git('rev-parse', 'refs/exps/a-2').trim());
    expect(p.git('show', 'tuned:params.yaml')).toContain('lr: 0.3');
    const twice = await p.run(['exp', 'branch', 'a-2', 'tuned']);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain("cannot create branch 'tuned'");

    expect((await p.run(['exp', 'remove', 'a-1'])).code).toBe(0);
    expect(expRefs(p)).toEqual(['refs/exps/a-2']);
    expect((await p.run(['exp', 'remove', '--all'])).code).toBe(0);
    expect(expRefs(p)).toEqual([]);
    // The branch made from it stays.
    expect(p.git('rev-parse', '--verify', 'tuned').trim()).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('exp run --queue and --run-all', { timeout: 120_000 }, () => {
  it('queues without running, then runs the queue two at a time', async () => {
    const { p, env, ran } = await setup();
    const q = await p.run(['exp', 'run', '--queue', '-S', 'train.lr=0.2,0.3', '-S', 'train.epochs=1'], { env });
    expect(q.code, q.stderr).toBe(0);
    expect(ran()).toEqual([]);
    expect(expRefs(p).filter((r) => r.startsWith('refs/exps/queue/'))).toHaveLength(2);
    const queued = (await show(p)).experiments.filter((e) => e.status === 'queued');
    expect(queued.map((e) => e.params['train.lr']).sort()).toEqual([0.2, 0.3]);

    // Both train stages must be running at once to pass the barrier: -j 2 really is concurrent.
    const barrier = p.path('.git/barrier');
    fs.mkdirSync(barrier);
    const r = await p.run(['exp', 'run', '--run-all', '-j', '2'], { env: { ...env, BARRIER: barrier } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(fs.readdirSync(barrier).sort()).toEqual(['0.2', '0.3']);
    expect(ran().sort()).toEqual(['train 0.2 1', 'train 0.3 1']);
    expect(expRefs(p).filter((x) => x.startsWith('refs/exps/queue/'))).toEqual([]);
    const done = (await show(p)).experiments.filter((e) => !e.baseline);
    expect(done.map((e) => [e.status, e.params['train.lr'], e.metrics['metrics/score.json']!.score]).sort()).toEqual([
      ['succeeded', 0.2, score(0.2, 1)],
      ['succeeded', 0.3, score(0.3, 1)],
    ]);
    expect((await p.run(['exp', 'run', '--run-all'])).stdout).toBe('the queue is empty\n');
  });

  it('concurrent experiments share the GPU slots: each stage holds its own GPU', async () => {
    const { p, env } = await setup();
    p.write({ 'pipeline.yaml': PIPE.replace('    params: [train]\n', '    params: [train]\n    resources: {gpus: 1}\n') });
    expect((await p.run(['repro', '--gpus', '2'], { env })).code).toBe(0);
    p.commitAll('train on a GPU');
    expect((await p.run(['exp', 'run', '--queue', '-S', 'train.lr=0.2,0.3'], { env })).code).toBe(0);
    const barrier = p.path('.git/barrier');
    fs.mkdirSync(barrier);
    const r = await p.run(['exp', 'run', '--run-all', '-j', '2', '--gpus', '2'], { env: { ...env, BARRIER: barrier } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // Both ran at once (the barrier) on different GPUs: one pool, not a pool per experiment.
    expect(fs.readdirSync(barrier).map((f) => fs.readFileSync(path.join(barrier, f), 'utf8')).sort()).toEqual(['0', '1']);
  });
});

describe('exp errors', { timeout: 120_000 }, () => {
  it('exits 2 for an unknown experiment, a bad -S, a taken name and misused flags, creating nothing', async () => {
    const { p, env, ran } = await setup();
    const cases: [string[], string][] = [
      [['apply', 'nope'], "unknown experiment 'nope'"],
      [['branch', 'nope', 'b'], "unknown experiment 'nope'"],
      [['diff', 'nope', 'HEAD'], "unknown experiment 'nope'"],
      [['remove', 'nope'], "unknown experiment 'nope'"],
      [['run', '-S', 'train.lr'], "invalid -S override 'train.lr'"],
      [['run', '-S', 'train.lr=[0.1,0.2'], 'unbalanced brackets or quotes'],
      [['run', '-S', 'train.lr=a: b: c'], 'not valid YAML'],
      [['run', '-n', 'no/slash'], "'no/slash' is not a valid experiment name"],
      [['run', '--run-all', '-S', 'train.lr=1'], '--run-all runs what is queued'],
    ];
    for (const [args, message] of cases) {
      const r = await p.run(['exp', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(message);
    }
    expect(expRefs(p)).toEqual([]);
    expect(ran()).toEqual([]);

    expect((await p.run(['exp', 'run', '-n', 'x', '-S', 'train.lr=0.2'], { env })).code).toBe(0);
    const taken = await p.run(['exp', 'run', '-n', 'x', '-S', 'train.lr=0.3'], { env });
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain("experiment 'x' already exists (refs/exps/x)");
    expect((await p.run(['exp', 'run', '-n', 'x', '-S', 'train.lr=0.3', '--force'], { env })).code).toBe(0);
    expect(p.git('show', 'refs/exps/x:params.yaml')).toContain('lr: 0.3');
  });

  it('records a failing experiment as failed and exits 1', async () => {
    const { p, env } = await setup();
    p.write({ 'stages/train.js': 'process.exit(4)\n' });
    const r = await p.run(['exp', 'run', '-n', 'broken'], { env });
    expect(r.code).toBe(1);
    const e = (await show(p)).experiments.find((x) => x.name === 'broken')!;
    expect(e.status).toBe('failed');
    // The failing code was the user's uncommitted change, and it is still theirs, untouched.
    expect(p.read('stages/train.js')).toBe('process.exit(4)\n');
  });
});
