/** Contract section 4: when `repro` runs a stage, and what it records. One test per rule. */
import fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const CHAIN = `stages:
  prepare:
    cmd: sort -u data/raw.txt > prepared.txt
    deps: [data/raw.txt]
    outs: [prepared.txt]
  train:
    cmd: (echo "lr=\${train.lr}"; cat prepared.txt) > model.txt
    deps: [prepared.txt]
    outs: [model.txt]
`;

const projects = useProjects();
const project = projects.make;
const chain = (): Project => project({ 'pipeline.yaml': CHAIN, 'params.yaml': 'train:\n  lr: 0.1\n', 'data/raw.txt': 'b\na\n' });


describe('repro', () => {
  it('runs new stages in order, records the lockfile and ignores cached outs in git', async () => {
    const p = chain();
    const r = await p.repro();
    expect(r.code).toBe(0);
    expect(r.outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    expect(r.doc.stages[0]!.reasons).toEqual(['new']);
    expect(p.read('model.txt')).toBe('lr=0.1\na\nb\n');
    const lock = p.read('mlbuild.lock');
    expect(lock.startsWith("schema: '1.0'\nstages:\n  prepare:\n    cmd: sort -u data/raw.txt > prepared.txt\n")).toBe(true);
    expect(lock).toContain('train.lr: 0.1');
    expect(p.read('.gitignore').split('\n')).toEqual(expect.arrayContaining(['/.mlcache/', '/prepared.txt', '/model.txt']));
    // A folder already ignored covers the outs below it: no line per file.
    p.write({ '.gitignore': '/.mlcache/\n/build/\n', 'pipeline.yaml': CHAIN + '  deep:\n    cmd: mkdir -p build && cp prepared.txt build/x.txt\n    deps: [prepared.txt]\n    outs: [build/x.txt]\n' });
    await p.repro();
    expect(p.read('.gitignore')).toBe('/.mlcache/\n/build/\n/prepared.txt\n/model.txt\n');
  });

  it('is a byte-stable no-op when nothing changed', async () => {
    const p = chain();
    await p.repro();
    const before = fs.statSync(p.path('mlbuild.lock'));
    const text = p.read('mlbuild.lock');
    const r = await p.repro();
    expect(r.outcomes).toEqual({ prepare: 'fresh', train: 'fresh' });
    expect(p.read('mlbuild.lock')).toBe(text);
    expect(fs.statSync(p.path('mlbuild.lock')).mtimeMs).toBe(before.mtimeMs);
  });

  it('reruns a stage whose dep content changed, and only then', async () => {
    const p = chain();
    await p.repro();
    p.write({ 'data/raw.txt': 'c\nb\na\n' });
    const r = await p.repro();
    expect(r.outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    expect(r.doc.stages[0]!.reasons).toEqual(['changed deps: data/raw.txt']);
  });

  it('does not rerun on an mtime-only change (content decides)', async () => {
    const p = chain();
    await p.repro();
    const t = new Date(Date.now() + 60_000);
    fs.utimesSync(p.path('data/raw.txt'), t, t);
    expect((await p.repro()).outcomes).toEqual({ prepare: 'fresh', train: 'fresh' });
  });

  it('does not propagate an upstream rerun whose outs are byte-identical', async () => {
    const p = chain();
    await p.repro();
    p.write({ 'data/raw.txt': 'a\nb\na\n' }); // sort -u gives the same bytes
    const r = await p.repro();
    expect(r.outcomes).toEqual({ prepare: 'succeeded', train: 'fresh' });
  });

  it('reruns on a changed cmd', async () => {
    const p = chain();
    await p.repro();
    p.write({ 'pipeline.yaml': CHAIN.replace('sort -u data/raw.txt', 'sort -u -r data/raw.txt') });
    const r = await p.repro();
    expect(r.outcomes.prepare).toBe('succeeded');
    expect(r.doc.stages[0]!.reasons).toEqual(['changed cmd']);
    expect(r.outcomes.train).toBe('succeeded');
  });

  it('tracks a param used through ${...} as a param dep and reruns only its stage', async () => {
    const p = chain();
    await p.repro();
    p.write({ 'params.yaml': 'train:\n  lr: 0.2\n' });
    const r = await p.repro();
    expect(r.outcomes).toEqual({ prepare: 'fresh', train: 'succeeded' });
    // The interpolated cmd text changed too: both causes are named.
    expect(r.doc.stages[1]!.reasons).toEqual(['changed cmd', 'changed params: train.lr']);
    expect(p.read('model.txt')).toBe('lr=0.2\na\nb\n');
  });

  it('reruns a stage whose out is missing or was edited by hand', async () => {
    const p = chain();
    await p.repro();
    p.remove('model.txt');
    let r = await p.repro();
    expect(r.outcomes.train).not.toBe('fresh');
    expect(r.doc.stages[1]!.reasons).toEqual(['missing outs: model.txt']);
    expect(p.read('model.txt')).toBe('lr=0.1\na\nb\n');
    p.write({ 'model.txt': 'tampered\n' });
    r = await p.repro();
    expect(r.doc.stages[1]!.reasons).toEqual(['changed outs: model.txt']);
    expect(p.read('model.txt')).toBe('lr=0.1\na\nb\n');
  });

  it('reruns when a dep, param or out is added to or removed from the definition', async () => {
    const p = chain();
    p.write({ 'extra.txt': 'x\n' });
    await p.repro();
    p.write({ 'pipeline.yaml': CHAIN.replace('deps: [prepared.txt]', 'deps: [prepared.txt, extra.txt]') });
    let r = await p.repro();
    expect(r.doc.stages[1]!.reasons).toEqual(['deps added: extra.txt']);
    p.write({ 'pipeline.yaml': CHAIN.replace('deps: [prepared.txt]', 'deps: [prepared.txt]\n    params: [train]') });
    r = await p.repro();
    // The explicit `train` subtree now covers the implicit `train.lr`.
    expect(r.doc.stages[1]!.reasons).toEqual(['deps removed: extra.txt', 'params added: train', 'params removed: train.lr']);
  });

  it('always runs an always_changed stage and never runs a frozen one', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  stamp:
    cmd: echo hi > stamp.txt
    outs: [stamp.txt]
    always_changed: true
  frozen:
    cmd: cp in.txt frozen.txt
    deps: [in.txt]
    outs: [frozen.txt]
    frozen: true
`,
      'in.txt': '1\n',
    });
    const r1 = await p.repro();
    expect(r1.outcomes).toEqual({ stamp: 'succeeded', frozen: 'frozen' });
    expect(p.exists('frozen.txt')).toBe(false);
    const r2 = await p.repro();
    expect(r2.outcomes.stamp).toBe('succeeded');
    expect(r2.doc.stages[0]!.reasons).toEqual(['always changed']);
  });

  it('removes outs before running unless persist', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  append:
    cmd: (cat log.txt 2>/dev/null; cat in.txt) > log.tmp && mv log.tmp log.txt && (cat fresh.txt 2>/dev/null || echo none) > seen.txt
    deps: [in.txt]
    outs:
      - log.txt: {persist: true}
      - seen.txt
`,
      'in.txt': 'a\n',
    });
    await p.repro();
    p.write({ 'in.txt': 'b\n' });
    await p.repro();
    expect(p.read('log.txt')).toBe('a\nb\n');
  });

  it('-f forces the target; --dry prints what would run and writes nothing', async () => {
    const p = chain();
    const dry = await p.run(['repro', '--dry']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("Would run stage 'prepare': new");
    expect(dry.stdout).toContain("Would run stage 'train': new");
    expect(p.exists('mlbuild.lock')).toBe(false);
    expect(p.exists('prepared.txt')).toBe(false);
    expect(p.exists('.mlcache/params')).toBe(false);
    await p.repro();
    const r = await p.repro(['-f', 'train']);
    expect(r.outcomes).toEqual({ prepare: 'fresh', train: 'succeeded' });
    expect(r.doc.stages[1]!.reasons).toEqual(['forced']);
  });

  it('targets: upstream by default, -s for the target alone, --downstream for dependents', async () => {
    const p = chain();
    let r = await p.repro(['train']);
    expect(r.outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    p.write({ 'data/raw.txt': 'z\n' });
    r = await p.repro(['-s', 'train']);
    expect(r.outcomes).toEqual({ train: 'fresh' });
    r = await p.repro(['prepare', '--downstream']);
    expect(r.outcomes).toEqual({ prepare: 'succeeded', train: 'succeeded' });
    const bad = await p.run(['repro', 'trian']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("no stage or stage group named 'trian'");
    expect(bad.stderr).toContain("did you mean 'train'?");
  });

  it('a failing stage exits 1, keeps its lock entry, skips its dependents; -k goes on elsewhere', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  ok:
    cmd: cp in.txt ok.txt
    deps: [in.txt]
    outs: [ok.txt]
  bad:
    cmd: cat in.txt > bad.txt && test "$(cat in.txt)" = good
    deps: [in.txt]
    outs: [bad.txt]
  after:
    cmd: cp bad.txt after.txt
    deps: [bad.txt]
    outs: [after.txt]
  other:
    cmd: cp in2.txt other.txt
    deps: [in2.txt]
    outs: [other.txt]
`,
      'in.txt': 'good',
      'in2.txt': '1',
    });
    expect((await p.repro()).code).toBe(0);
    const lockBefore = p.read('mlbuild.lock');
    p.write({ 'in.txt': 'bad', 'in2.txt': '2' });
    const r = await p.repro(['-k']);
    expect(r.code).toBe(1);
    expect(r.outcomes).toEqual({ ok: 'succeeded', bad: 'failed', after: 'skipped', other: 'succeeded' });
    expect(r.doc.stages.find((s) => s.name === 'bad')!.message).toBe('exit code 1');
    const badEntry = (t: string): string => t.slice(t.indexOf('  bad:'), t.indexOf('  ok:'));
    expect(badEntry(p.read('mlbuild.lock'))).toBe(badEntry(lockBefore));
    expect(r.stderr).toContain("Stage 'after' skipped: upstream 'bad' failed");
  });

  it('a dep that cannot be hashed (a fifo) fails its stage with the reason, not the whole run', async () => {
    const p = project({
      'pipeline.yaml': 'stages:\n  odd:\n    cmd: echo x > odd.txt\n    deps: [pipe]\n    outs: [odd.txt]\n  fine:\n    cmd: echo y > fine.txt\n    outs: [fine.txt]\n',
    });
    spawnSync('mkfifo', [p.path('pipe')]);
    const r = await p.repro(['-k']);
    expect(r.code).toBe(1);
    expect(r.outcomes).toEqual({ odd: 'failed', fine: 'succeeded' });
    expect(r.doc.stages[0]!.message).toMatch(/^cannot hash its inputs: /);
  });

  it('gives stages the resolved params as JSON through MLBUILD_PARAMS, streams and logs their output', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  show:
    cmd: node -e "const p=require(process.env.MLBUILD_PARAMS); console.log('seed', p.seed, p.model.name); require('fs').writeFileSync('out.txt', String(p.seed))"
    params: [seed]
    outs: [out.txt]
`,
      'params/base.yaml': 'seed: 7\ndefaults:\n  - model: small\n',
      'params/model/small.yaml': 'name: tiny\n',
    });
    const r = await p.run(['repro']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('[show] seed 7 tiny');
    expect(p.read('out.txt')).toBe('7');
    expect(p.read('.mlcache/logs/show.log')).toBe('seed 7 tiny\n');
  });

  it('rewrites the MLBUILD_PARAMS file when the one on disk is torn (as a power loss may leave it)', async () => {
    const p = project({
      'pipeline.yaml': 'stages:\n  show:\n    cmd: cp "$MLBUILD_PARAMS" seen.json\n    params: [seed]\n    outs: [seen.json]\n',
      'params.yaml': 'seed: 7\n',
    });
    expect((await p.repro()).code).toBe(0);
    const json = p.read('seen.json');
    expect(JSON.parse(json)).toEqual({ seed: 7 });
    const dir = p.path('.mlcache/params');
    const [name] = fs.readdirSync(dir);
    fs.writeFileSync(`${dir}/${name!}`, json.slice(0, 5));
    const r = await p.repro(['-f']);
    expect(r.outcomes).toEqual({ show: 'succeeded' });
    expect(p.read('seen.json')).toBe(json);
    expect(fs.readdirSync(dir)).toEqual([name]);
  });

  it('a lockfile that cannot be written at the end: a warning, exit 1, and the next run records the stages from the journal', async () => {
    // The stage puts a folder where mlbuild.lock goes, so the run's final save fails.
    const p = project({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi > o.txt && mkdir mlbuild.lock\n    outs: [o.txt]\n' });
    const r = await p.run(['repro']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/could not write mlbuild\.lock: .*the finished stages are kept in the journal and the next run records them/);
    expect(fs.existsSync(p.path('.mlcache/state/durations.json'))).toBe(true); // the caches were still saved
    fs.rmdirSync(p.path('mlbuild.lock'));
    const again = await p.repro();
    expect(again.code).toBe(0);
    expect(again.outcomes).toEqual({ s: 'fresh' });
    expect(p.read('mlbuild.lock')).toContain('cmd: echo hi > o.txt && mkdir mlbuild.lock');
  });

  it('-S overrides are applied and written back to the params files', async () => {
    const p = chain();
    await p.repro();
    const r = await p.repro(['-S', 'train.lr=0.5']);
    expect(r.outcomes.train).toBe('succeeded');
    expect(p.read('params.yaml')).toBe('train:\n  lr: 0.5\n');
    expect(p.read('model.txt')).toBe('lr=0.5\na\nb\n');
    expect((await p.repro()).outcomes.train).toBe('fresh');
  });

  it('runs a DVC project unchanged with -f dvc.yaml', async () => {
    const p = project({
      'dvc.yaml': `stages:
  prepare:
    cmd: cp raw.txt prepared.txt
    deps:
      - raw.txt
    params:
      - prepare.seed
    outs:
      - prepared.txt
`,
      'params.yaml': 'prepare:\n  seed: 1\n',
      'raw.txt': 'x\n',
    });
    const r = await p.run(['-f', 'dvc.yaml', 'repro']);
    expect(r.code).toBe(0);
    expect(p.read('prepared.txt')).toBe('x\n');
    expect(p.read('mlbuild.lock')).toContain('prepare.seed: 1');
    const s = await p.run(['-f', 'dvc.yaml', 'status']);
    expect(s.stdout).toBe('Data and pipelines are up to date.\n');
  });

  it('expands foreach and matrix with DVC names and runs a group target', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  fold:
    matrix:
      k: \${range(split.k)}
      model: [a, b]
    cmd: echo \${item.model}\${item.k} > out-\${item.model}-\${item.k}.txt
    outs: [out-\${item.model}-\${item.k}.txt]
  each:
    foreach: [x, y]
    do:
      cmd: echo \${item} > each-\${item}.txt
      outs: [each-\${item}.txt]
`,
      'params.yaml': 'split:\n  k: 2\n',
    });
    const r = await p.repro(['fold']);
    expect(r.outcomes).toEqual({ 'fold@0-a': 'succeeded', 'fold@0-b': 'succeeded', 'fold@1-a': 'succeeded', 'fold@1-b': 'succeeded' });
    expect(p.read('out-b-1.txt')).toBe('b1\n');
    p.write({ 'params.yaml': 'split:\n  k: 3\n' });
    const r2 = await p.repro();
    expect(Object.keys(r2.outcomes).sort()).toEqual(['each@x', 'each@y', 'fold@0-a', 'fold@0-b', 'fold@1-a', 'fold@1-b', 'fold@2-a', 'fold@2-b']);
    expect(r2.outcomes['fold@2-a']).toBe('succeeded');
    // Growing the matrix adds stages; existing expansions keep their cmd, deps and outs, so they stay cached.
    expect(r2.outcomes['fold@0-a']).toBe('fresh');
    // Shrinking it drops the lock entries of stages that left the pipeline.
    p.write({ 'params.yaml': 'split:\n  k: 1\n' });
    await p.repro();
    expect(p.read('mlbuild.lock')).not.toContain('fold@1-a');
    expect(p.read('mlbuild.lock')).toContain('fold@0-a');
  });
});

describe('stage logs', () => {
  it("a rerun removes the last run's log before the stage is marked running, so a reader never takes it for this run's", async () => {
    // `slow` records that it started, then prints nothing until the test writes `go`.
    const p = projects.make({
      'pipeline.yaml': `stages:
  slow:
    cmd: echo run \${n} && touch started && while [ ! -f go ]; do sleep 0.02; done && echo done \${n} > out.txt
    params: [n]
    outs: [out.txt]
`,
      'params.yaml': 'n: 1\n',
      go: '',
    });
    expect((await p.repro()).code).toBe(0);
    expect(p.read('.mlcache/logs/slow.log')).toBe('run 1\n');
    p.remove('go');
    p.remove('started');
    p.write({ 'params.yaml': 'n: 2\n', 'pipeline.yaml': p.read('pipeline.yaml').replace('echo run ${n} && ', '') });
    const run = p.repro();
    let oldLogSeen: boolean;
    try {
      // Handshake: the stage's own file says it is running (and has printed nothing).
      await new Promise<void>((resolve) => {
        const look = (): void => (fs.existsSync(p.path('started')) ? resolve() : void setTimeout(look, 10));
        look();
      });
      oldLogSeen = p.exists('.mlcache/logs/slow.log');
    } finally {
      p.write({ go: '' }); // whatever happened, the stage must not poll for `go` forever
    }
    expect(oldLogSeen).toBe(false);
    expect((await run).outcomes).toEqual({ slow: 'succeeded' });
    expect(p.read('out.txt')).toBe('done 2\n');
    expect(p.exists('.mlcache/logs/slow.log')).toBe(false); // it printed nothing this time
  });
});
