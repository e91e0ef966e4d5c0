/** The mlbuild.lock merge driver through real `git merge`, and `mlbuild init` which installs it. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Project, useProjects } from './rig.js';

const projects = useProjects();

/** Four independent stages; only `a` and `b` have run on main, so `c` and `d` have no entry yet. */
const PIPE = `stages:
  a:
    cmd: cp a.src a.out
    deps: [a.src]
    outs: [a.out]
  b:
    cmd: cp b.src b.out
    deps: [b.src]
    outs: [b.out]
  c:
    cmd: echo c > c.out
    outs: [c.out]
  d:
    cmd: echo d > d.out
    outs: [d.out]
`;

const gitMerge = (p: Project, branch: string) => spawnSync('git', ['merge', '--no-edit', branch], { cwd: p.dir, encoding: 'utf8' });

/** main has `a` and `b` recorded; the returned project is on main after `mlbuild init`. */
async function initialised(): Promise<Project> {
  // Every out ignored up front, so branches that run different stages do not both append to .gitignore.
  const p = projects.make({ 'pipeline.yaml': PIPE, 'a.src': 'a1\n', 'b.src': 'b1\n', '.gitignore': '/.mlcache/\n/a.out\n/b.out\n/c.out\n/d.out\n' });
  const init = await p.run(['init']);
  expect(init.code, init.stderr).toBe(0);
  expect((await p.run(['repro', 'a', 'b'])).code).toBe(0);
  p.commitAll('base');
  return p;
}

/** Runs repro on `branch` (created from main) after `edit`, and commits. */
async function onBranch(p: Project, branch: string, edit: Record<string, string>, targets: string[]): Promise<void> {
  p.git('checkout', '-q', '-B', branch, 'main');
  p.write(edit);
  const r = await p.run(['repro', ...targets]);
  expect(r.code, r.stderr).toBe(0);
  p.commitAll(branch);
}

const entryOf = (lock: string, stage: string): string => {
  const m = new RegExp(`^  ${stage}:\\n(?:    .*\\n)*`, 'm').exec(lock);
  if (!m) throw new Error(`no entry for ${stage} in\n${lock}`);
  return m[0];
};

describe('merge driver', () => {
  it('merges two branches that changed and added different stages, where a line merge conflicts', async () => {
    const p = await initialised();
    await onBranch(p, 'left', { 'a.src': 'a2\n' }, ['a', 'c']);
    const left = p.read('mlbuild.lock');
    await onBranch(p, 'right', { 'b.src': 'b2\n' }, ['b', 'd']);
    const right = p.read('mlbuild.lock');

    // Control: a clone has no merge driver configured (git never copies it), so git merges lines.
    const clone = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-e2e-clone-'));
    try {
      spawnSync('git', ['clone', '-q', p.dir, clone]);
      for (const args of [['config', 'user.email', 't@e.com'], ['config', 'user.name', 'T'], ['checkout', '-q', 'left']]) spawnSync('git', args, { cwd: clone });
      const line = spawnSync('git', ['merge', '--no-edit', 'origin/right'], { cwd: clone, encoding: 'utf8' });
      expect(line.status).not.toBe(0);
      expect(line.stdout).toMatch(/CONFLICT \(content\): Merge conflict in mlbuild\.lock/);
    } finally {
      fs.rmSync(clone, { recursive: true, force: true });
    }

    p.git('checkout', '-q', 'left');
    const merged = gitMerge(p, 'right');
    expect(merged.status, merged.stdout + merged.stderr).toBe(0);
    const lock = p.read('mlbuild.lock');
    expect(entryOf(lock, 'a')).toBe(entryOf(left, 'a'));
    expect(entryOf(lock, 'c')).toBe(entryOf(left, 'c'));
    expect(entryOf(lock, 'b')).toBe(entryOf(right, 'b'));
    expect(entryOf(lock, 'd')).toBe(entryOf(right, 'd'));
    // Canonical: exactly the bytes mlbuild writes itself (repro of nothing rewrites nothing).
    expect(lock).toBe(`schema: '1.0'\nstages:\n${['a', 'b', 'c', 'd'].map((s) => entryOf(lock, s)).join('')}`);
    expect(p.git('status', '--porcelain')).toBe('');
    // The merged lockfile describes the merged workspace once the outs are in place.
    expect((await p.run(['checkout'])).code).toBe(0);
    expect((await p.run(['status', '--check'])).code).toBe(0);
  });

  it('stops on a stage changed differently on both sides, naming it, with both entries marked in the file', async () => {
    const p = await initialised();
    await onBranch(p, 'left', { 'a.src': 'a-left\n', 'b.src': 'b-left\n' }, ['a', 'b']);
    const left = p.read('mlbuild.lock');
    await onBranch(p, 'right', { 'a.src': 'a-right\n' }, ['a', 'c']);
    const right = p.read('mlbuild.lock');

    p.git('checkout', '-q', 'left');
    const merged = gitMerge(p, 'right');
    expect(merged.status).not.toBe(0);
    expect(merged.stderr).toMatch(/mlbuild\.lock: stage 'a' was changed differently on both sides/);
    expect(merged.stdout).toMatch(/CONFLICT \(content\): Merge conflict in mlbuild\.lock/);
    expect(p.git('status', '--porcelain')).toMatch(/^UU mlbuild\.lock$/m);
    const lock = p.read('mlbuild.lock');
    // Only `a` conflicts: `b` (left only) and `c` (right only) are merged.
    expect(lock).toBe(
      `schema: '1.0'\nstages:\n<<<<<<< ours\n${entryOf(left, 'a')}=======\n${entryOf(right, 'a')}>>>>>>> theirs\n` +
        `${entryOf(left, 'b')}${entryOf(right, 'c')}`,
    );
    // mlbuild refuses the unresolved file and points at the marker.
    const status = await p.run(['status']);
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/mlbuild\.lock:\d+:\d+: error: invalid YAML in lockfile/);
  });
});

describe('init', () => {
  it('installs the driver, ignores .mlcache and scaffolds once; a second run changes nothing', async () => {
    const p = projects.make({ 'README.md': 'hello\n', '.gitignore': 'node_modules/\n', '.gitattributes': '*.png binary' });
    const first = await p.run(['init']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/\.gitattributes: added 'mlbuild\.lock merge=mlbuild'/);
    expect(first.stdout).toMatch(/pipeline\.yaml: created/);
    expect(first.stdout).toMatch(/each clone|every clone/);
    expect(p.read('.gitattributes')).toBe('*.png binary\nmlbuild.lock merge=mlbuild\n');
    expect(p.read('.gitignore')).toBe('node_modules/\n/.mlcache/\n');
    expect(p.read('pipeline.yaml')).toBe('stages: {}\n');
    expect(p.read('params/base.yaml')).toBe('{}\n');
    expect(p.git('config', '--local', 'merge.mlbuild.driver')).toMatch(/ merge-driver %O %A %B %P\n$/);
    expect(p.git('check-attr', 'merge', 'mlbuild.lock')).toBe('mlbuild.lock: merge: mlbuild\n');
    // The scaffold is a valid, empty pipeline.
    expect((await p.run(['status', '--check'])).code).toBe(0);

    const files = ['.gitattributes', '.gitignore', 'pipeline.yaml', 'params/base.yaml'];
    const before = files.map((f) => p.read(f));
    const config = p.git('config', '--local', '--list');
    const second = await p.run(['init']);
    expect(second.code).toBe(0);
    expect(second.stdout).not.toMatch(/added|created|set to/);
    expect(second.stdout).toMatch(/already has 'mlbuild\.lock merge=mlbuild'/);
    expect(files.map((f) => p.read(f))).toEqual(before);
    expect(p.git('config', '--local', '--list')).toBe(config);
  });

  it('never overwrites an existing pipeline or params file', async () => {
    const p = projects.make({ 'pipeline.yaml': 'stages:\n  s:\n    cmd: echo hi\n', 'params/base.yaml': 'lr: 0.1\n' });
    const r = await p.run(['init']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pipeline\.yaml: exists, left as it is/);
    expect(p.read('pipeline.yaml')).toBe('stages:\n  s:\n    cmd: echo hi\n');
    expect(p.read('params/base.yaml')).toBe('lr: 0.1\n');
    const none = projects.make({});
    expect((await none.run(['init', '--no-scaffold'])).code).toBe(0);
    expect(none.exists('pipeline.yaml')).toBe(false);
  });

  it('is a usage error outside a git repository', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-e2e-nogit-'));
    try {
      const p = projects.make({});
      const r = await p.run(['init'], { cwd: dir, env: { GIT_CEILING_DIRECTORIES: path.dirname(dir) } });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/is not inside a git repository\n {2}hint: run `git init` first/);
      expect(fs.readdirSync(dir)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
