/** Contract sections 2 and 6: invalid pipelines are located errors, exit 2, and nothing runs. */
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();
const project = projects.make;

describe('invalid pipelines', () => {
  it('reports every schema error of the file at once with file:line:col and a caret', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  a:
    cmdd: echo hi
  b:
    cmd: echo hi
    outs: 42
`,
    });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pipeline.yaml:3:5: error:");
    expect(r.stderr).toContain("did you mean 'cmd'?");
    expect(r.stderr).toContain('pipeline.yaml:6:11: error:');
    expect(r.stderr).toMatch(/ {2}6 \| {5}outs: 42\n {4}\| {11}\^\^/);
    expect(p.exists('mlbuild.lock')).toBe(false);
  });

  it('repro --json still prints one parseable document when the pipeline is invalid', async () => {
    const p = project({ 'pipeline.yaml': 'stages:\n  a:\n    cmdd: echo hi\n' });
    const r = await p.run(['repro', '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout) as { ok: boolean; diagnostics: { code: string; location: { line: number } }[] };
    expect(doc.ok).toBe(false);
    expect(doc.diagnostics[0]).toMatchObject({ code: 'unknown-key', location: { line: 3 } });
  });

  it('names every stage of a cycle', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  a:
    cmd: cp c.txt a.txt
    deps: [c.txt]
    outs: [a.txt]
  b:
    cmd: cp a.txt b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: cp b.txt c.txt
    deps: [b.txt]
    outs: [c.txt]
`,
    });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("dependency cycle: 'a' depends on 'c' depends on 'b' depends on 'a'");
    expect(r.stderr).toContain('pipeline.yaml:2:3');
  });

  it('refuses duplicate and overlapping outs, naming both declarations', async () => {
    const p = project({
      'pipeline.yaml': `stages:
  a:
    cmd: mkdir -p out && echo 1 > out/x
    outs: [out]
  b:
    cmd: echo 2 > out/x
    outs: [out/x]
  c:
    cmd: mkdir -p out
    outs: [out]
`,
    });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("out 'out/x' of stage 'b' lies inside out 'out' of stage 'a'");
    expect(r.stderr).toContain("out 'out' of stage 'c' is also an out of stage 'a'");
  });

  it('refuses a dep that no stage makes and that does not exist (status lists it as missing)', async () => {
    const p = project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: cp missing.txt a.txt\n    deps: [missing.txt]\n    outs: [a.txt]\n' });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("pipeline.yaml:4:12: error: dep 'missing.txt' of stage 'a' is missing: it does not exist and no stage produces it");
    expect(r.stderr).toContain('hint: no stage makes it and no .dvc file tracks it');
    expect(p.exists('a.txt')).toBe(false);
    const s = await p.run(['status']);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('missing data:\n\tmissing.txt (needed by a): no stage makes it');
  });

  it('refuses an out outside the project and writes nothing there', async () => {
    const p = project({ 'sub/pipeline.yaml': 'stages:\n  a:\n    cmd: echo x > ../escaped.txt\n    outs: [../escaped.txt]\n' });
    const r = await p.run(['repro'], { cwd: p.path('sub') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pipeline.yaml:4:12');
    expect(p.exists('escaped.txt')).toBe(false);
  });

  it('reports an undefined ${var} and a missing params key at their location', async () => {
    const p = project({
      'pipeline.yaml': 'stages:\n  a:\n    cmd: echo ${nope.x} > a.txt\n    params: [train.lr]\n    outs: [a.txt]\n',
      'params.yaml': 'train: {}\n',
    });
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:3:\d+: error: .*nope\.x/);
    expect(r.stderr).toMatch(/pipeline\.yaml:4:\d+: error: .*train\.lr/);
  });

  it('reports malformed YAML with its position', async () => {
    const p = project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: [echo\n' });
    const r = await p.run(['status']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pipeline\.yaml:\d+:\d+: error:/);
  });

  it('exits 2 with a hint when there is no pipeline file or a bad flag', async () => {
    const p = project({});
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no pipeline.yaml or dvc.yaml in');
    const p2 = project({ 'pipeline.yaml': 'stages: {}\n' });
    const bad = await p2.run(['repro', '--jobs', '0']);
    expect(bad.code).toBe(2);
    const unknown = await p2.run(['repro', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('frobnicate');
  });

  it('refuses a stage that asks for more GPUs than the machine has, before running anything', async () => {
    const p = project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo x > a.txt\n    outs: [a.txt]\n    resources: {gpus: 2}\n' });
    const r = await p.run(['repro', '--gpus', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("stage 'a' can never run here: it needs 2 GPUs but only 1 is available (0)");
    expect(p.exists('a.txt')).toBe(false);
  });
});

describe('resources', () => {
  it('refuses a stage that asks for more memory than the machine has', async () => {
    const p = new Project({ 'pipeline.yaml': 'stages:\n  a:\n    cmd: echo x > a.txt\n    outs: [a.txt]\n    resources: {memory: 64T}\n' });
    projects.push(p);
    const r = await p.run(['repro']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/stage 'a' can never run here: it needs 67108864 MiB of memory but the pool has \d+ MiB/);
  });
});
