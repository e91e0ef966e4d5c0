/** Contract section 5: `mlbuild verify` rebuilds HEAD from scratch and names what did not reproduce. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();

interface VerifyDoc {
  ok: boolean;
  head: string;
  uncommitted: string[];
  worktree?: string;
  inputs: { path: string; source: string; locked?: string }[];
  stages: {
    name: string;
    verdict: string;
    reasons?: string[];
    stages?: string[];
    message?: string;
    outs?: { path: string; locked: string; rebuilt: string; first_difference?: { path: string; kind: string; locked?: string; rebuilt?: string } }[];
  }[];
  diagnostics?: { code: string; message: string }[];
}

async function verifyJson(p: Project, args: string[] = []): Promise<{ code: number | null; doc: VerifyDoc; stderr: string }> {
  const r = await p.run(['verify', '--json', ...args]);
  let doc: VerifyDoc;
  try {
    doc = JSON.parse(r.stdout) as VerifyDoc;
  } catch {
    throw new Error(`verify --json printed no JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  return { code: r.code, doc, stderr: r.stderr };
}

const verdicts = (doc: VerifyDoc): Record<string, string> => Object.fromEntries(doc.stages.map((s) => [s.name, s.verdict]));

/** Every file below `dir` except .git, with its bytes: the workspace as the user sees it. */
function snapshot(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (r === '.git') continue;
      if (e.isDirectory()) walk(r);
      else files.set(r, fs.readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return files;
}

/** A committed, up-to-date project: a file chain, a directory out, and data that is not in git. */
async function committed(stages: string, files: Record<string, string> = {}): Promise<Project> {
  const p = projects.make({
    'pipeline.yaml': `stages:\n${stages}`,
    'params.yaml': 'scale: 3\n',
    '.gitignore': '/data/\n',
    'data/raw.txt': 'raw data, not committed\n',
    ...files,
  });
  const r = await p.run(['repro']);
  expect(r.code, r.stderr).toBe(0);
  p.commitAll('pipeline and lockfile');
  return p;
}

const DETERMINISTIC = `  prepare:
    cmd: mkdir -p prepared && tr a-z A-Z < data/raw.txt > prepared/upper.txt && wc -c < data/raw.txt > prepared/count.txt
    deps: [data/raw.txt]
    outs: [prepared]
  train:
    cmd: cat prepared/upper.txt prepared/upper.txt > model.bin && printf '{"scale":%s}' \${scale} > metrics.json
    deps: [prepared]
    outs: [model.bin]
    metrics: [metrics.json]
`;

describe('verify', () => {
  it('passes a deterministic pipeline, rebuilding every stage with its uncommitted data copied in', async () => {
    const p = await committed(DETERMINISTIC);
    const { code, doc, stderr } = await verifyJson(p);
    expect(code, stderr).toBe(0);
    expect(doc.ok).toBe(true);
    expect(doc.head).toBe(p.git('rev-parse', 'HEAD').trim());
    expect(verdicts(doc)).toEqual({ prepare: 'reproduced', train: 'reproduced' });
    // Both really ran in the worktree (the run-cache and the cache were not used).
    expect(stderr).toMatch(/Running stage 'prepare'/);
    expect(stderr).toMatch(/Running stage 'train'/);
    expect(doc.inputs).toContainEqual(expect.objectContaining({ path: 'data/raw.txt', source: 'workspace' }));

    const text = await p.run(['verify']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/^prepare: reproduced$/m);
    expect(text.stdout).toMatch(/^OK: all 2 stages reproduced$/m);
    expect(text.stdout).toMatch(/input data\/raw\.txt: not in git, copied from the workspace \(its hash matches the lockfile\)/);
  });

  it('names a stage writing random bytes, with its file and both hashes, and does not blame its dependents', async () => {
    const p = await committed(`  noise:
    cmd: head -c 32 /dev/urandom > noise.bin
    outs: [noise.bin]
  stable:
    cmd: cp data/raw.txt stable.txt
    deps: [data/raw.txt]
    outs: [stable.txt]
  downstream:
    cmd: cat noise.bin stable.txt > both.bin
    deps: [noise.bin, stable.txt]
    outs: [both.bin]
`);
    const lock = p.read('mlbuild.lock');
    const lockedNoise = /path: noise\.bin\n\s+hash: '?([0-9a-f]{16})/.exec(lock)![1];
    const { code, doc } = await verifyJson(p);
    expect(code).toBe(1);
    expect(doc.ok).toBe(false);
    expect(verdicts(doc)).toEqual({ noise: 'differs', stable: 'reproduced', downstream: 'upstream-differs' });
    const noise = doc.stages.find((s) => s.name === 'noise')!;
    expect(noise.outs).toHaveLength(1);
    expect(noise.outs![0]).toMatchObject({ path: 'noise.bin', locked: lockedNoise, first_difference: { path: 'noise.bin', kind: 'changed', locked: lockedNoise } });
    expect(noise.outs![0]!.rebuilt).toMatch(/^[0-9a-f]{16}$/);
    expect(noise.outs![0]!.rebuilt).not.toBe(lockedNoise);
    expect(doc.stages.find((s) => s.name === 'downstream')!.stages).toEqual(['noise']);
    // stable.txt is a copy of the raw data, so the cache holds the data's locked version: it comes from there.
    expect(doc.inputs).toContainEqual(expect.objectContaining({ path: 'data/raw.txt', source: 'cache' }));

    const text = await p.run(['verify']);
    expect(text.code).toBe(1);
    expect(text.stdout).toMatch(/^noise: NOT REPRODUCED\n {4}noise\.bin: locked [0-9a-f]{16}, rebuilt [0-9a-f]{16}$/m);
    expect(text.stdout).toMatch(/^downstream: not checked: its inputs come from noise, which did not reproduce$/m);
    expect(text.stdout).toMatch(/^FAILED: did not reproduce: noise; not checked: downstream$/m);
  });

  it('names the first differing file inside a directory out, from the two manifests', async () => {
    const p = await committed(`  features:
    cmd: mkdir -p feats && echo fixed > feats/a.txt && date +%N > feats/b.txt && echo fixed > feats/c.txt
    outs: [feats]
`);
    const { code, doc } = await verifyJson(p);
    expect(code).toBe(1);
    const out = doc.stages[0]!.outs![0]!;
    expect(out.path).toBe('feats');
    expect(out.locked).toMatch(/\.dir$/);
    expect(out.first_difference).toMatchObject({ path: 'feats/b.txt', kind: 'changed' });
    expect(out.first_difference!.locked).not.toBe(out.first_difference!.rebuilt);
    const text = await p.run(['verify', 'features']);
    expect(text.stdout).toMatch(/feats: first difference feats\/b\.txt: locked [0-9a-f]{16}, rebuilt [0-9a-f]{16} \(directory: locked [0-9a-f]{16}\.dir, rebuilt [0-9a-f]{16}\.dir\)/);
  });

  it('names a file the rebuild adds to a directory out', async () => {
    // The first run (in the workspace) finds no marker; every later run (the rebuild) writes an extra file.
    const p = await committed(`  grow:
    cmd: mkdir -p out && echo a > out/a.txt && if [ -e /tmp/mlbuild-verify-mark-\${run} ]; then echo extra > out/b.txt; fi; touch /tmp/mlbuild-verify-mark-\${run}
    outs: [out]
`, { 'params.yaml': `run: ${process.pid}-${Date.now()}\n` });
    try {
      const { code, doc } = await verifyJson(p);
      expect(code).toBe(1);
      expect(doc.stages[0]!.outs![0]!.first_difference).toMatchObject({ path: 'out/b.txt', kind: 'extra' });
    } finally {
      const run = /run: (.*)/.exec(p.read('params.yaml'))![1];
      fs.rmSync(`/tmp/mlbuild-verify-mark-${run}`, { force: true });
    }
  });

  it('refuses data that is not in git when no copy has the version the lockfile records', async () => {
    const p = await committed(DETERMINISTIC);
    p.write({ 'data/raw.txt': 'edited after the commit\n' });
    const { code, doc, stderr } = await verifyJson(p);
    expect(code).toBe(1);
    expect(doc.ok).toBe(false);
    expect(doc.diagnostics![0]!.code).toBe('verify-input');
    expect(stderr).toMatch(/input 'data\/raw\.txt' is not committed to git, and neither the cache nor the workspace has the version HEAD's lockfile records \([0-9a-f]{16}; the workspace copy hashes to [0-9a-f]{16}\)/);
    expect(stderr).toMatch(/hint: put the recorded version of 'data\/raw\.txt'/);
    p.remove('data');
    const gone = await p.run(['verify']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/there is no workspace copy/);
  });

  it('reports stages whose committed lock entry does not describe HEAD as stale, and says verify needs status --check', async () => {
    const p = await committed(DETERMINISTIC);
    // A cmd change committed without running repro.
    p.write({ 'pipeline.yaml': p.read('pipeline.yaml').replace('> model.bin', '> model.bin && true') });
    p.commitAll('edit cmd, forget repro');
    expect((await p.run(['status', '--check'])).code).toBe(1);
    const { code, doc } = await verifyJson(p);
    expect(code).toBe(1);
    expect(verdicts(doc)).toEqual({ prepare: 'reproduced', train: 'stale' });
    expect(doc.stages[1]!.reasons).toEqual(['changed cmd']);
    const text = await p.run(['verify']);
    expect(text.stdout).toMatch(/^train: stale: changed cmd$/m);
    expect(text.stderr).toMatch(/verify is only meaningful once `mlbuild status --check` passes/);
  });

  it('verifies HEAD, not uncommitted edits, and says so', async () => {
    const p = await committed(DETERMINISTIC);
    p.write({ 'params.yaml': 'scale: 4\n' });
    const { code, doc } = await verifyJson(p);
    expect(code).toBe(0);
    expect(doc.uncommitted).toEqual(['params.yaml']);
    const text = await p.run(['verify']);
    expect(text.stderr).toMatch(/note: 1 tracked file has uncommitted changes \(params\.yaml\); verify checks HEAD only/);
  });

  it('leaves the workspace, lockfile and cache byte for byte as they were, and removes its worktree', async () => {
    const p = await committed(DETERMINISTIC + `  noise:
    cmd: head -c 32 /dev/urandom > noise.bin
    outs: [noise.bin]
`);
    const before = snapshot(p.dir);
    expect(before.has('mlbuild.lock')).toBe(true);
    expect([...before.keys()].some((k) => k.startsWith('.mlcache/objects/'))).toBe(true);
    const r = await p.run(['verify', '-j', '2']);
    expect(r.code).toBe(1);
    expect(snapshot(p.dir)).toEqual(before);
    expect(p.git('worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    const tmp = /from scratch in (\S+)/.exec(r.stdout)![1]!;
    expect(fs.existsSync(tmp)).toBe(false);
  });

  it('keeps the worktree with --keep and says where it is', async () => {
    const p = await committed(DETERMINISTIC);
    const { code, doc } = await verifyJson(p, ['--keep']);
    expect(code).toBe(0);
    const kept = doc.worktree!;
    try {
      expect(fs.readFileSync(path.join(kept, 'model.bin'), 'utf8')).toBe(p.read('model.bin'));
      expect(p.git('worktree', 'list')).toContain(kept);
    } finally {
      p.git('worktree', 'remove', '--force', kept);
      fs.rmSync(path.dirname(kept), { recursive: true, force: true });
    }
  });

  it('with --save-cache fills the cache of a fresh clone, so checkout restores the outs and status --check passes', async () => {
    const p = await committed(DETERMINISTIC.replaceAll('data/raw.txt', 'raw.txt'), { 'raw.txt': 'committed input\n' });
    const clone = projects.make({});
    clone.git('pull', '-q', p.dir, 'main');
    expect((await clone.run(['status', '--check'])).code).toBe(1); // a fresh clone has no outs
    const plain = await clone.run(['verify']);
    expect(plain.code, plain.stderr).toBe(0);
    expect(clone.exists('.mlcache/objects')).toBe(false); // verify alone only reads the cache
    const { code, doc } = await verifyJson(clone, ['--save-cache']);
    expect(code).toBe(0);
    expect((doc as unknown as { saved_to_cache: string[] }).saved_to_cache).toEqual(['prepare', 'train']);
    expect((await clone.run(['checkout'])).code).toBe(0);
    expect(clone.read('model.bin')).toBe(p.read('model.bin'));
    expect((await clone.run(['status', '--check'])).code).toBe(0);
  });

  it('is a usage error outside git history', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages: {}\n' });
    const r = await p.run(['verify']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/the repository has no commit yet/);
  });
});
