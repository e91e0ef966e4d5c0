/** src/git/git.ts against a real repository in a temp dir: git runs here, so nothing is faked. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitFailed, GitRepo, git, gitExit, gitSync, must, topLevel } from '../../../src/git/git.js';

let top: string;
let outside: string;
let first: string;
// The test's own setup runs git directly: it is the fixture, not the code under test.
const sh = (...args: string[]) => execFileSync('git', args, { cwd: top, encoding: 'utf8' }).trim();
const BINARY = Buffer.from([0, 1, 2, 255, 10, 13, 0, 0x80, 0x0a]);

beforeAll(() => {
  top = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-git-')));
  outside = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-nogit-')));
  sh('init', '-q', '-b', 'main');
  sh('config', 'user.email', 't@example.com');
  sh('config', 'user.name', 'T');
  fs.mkdirSync(path.join(top, 'proj', 'data'), { recursive: true });
  fs.writeFileSync(path.join(top, 'proj', 'a.txt'), 'one\n');
  sh('add', '-A');
  sh('commit', '-q', '-m', 'one');
  first = sh('rev-parse', 'HEAD');
  fs.writeFileSync(path.join(top, 'proj', 'a.txt'), 'two é\n');
  fs.writeFileSync(path.join(top, 'proj', 'data', 'bin.dat'), BINARY);
  fs.writeFileSync(path.join(top, 'proj', 'empty'), '');
  sh('add', '-A');
  sh('commit', '-q', '-m', 'two');
  sh('tag', 'v1');
});
afterAll(() => {
  fs.rmSync(top, { recursive: true, force: true });
  fs.rmSync(outside, { recursive: true, force: true });
});

describe('one-shot commands', () => {
  it('returns stdout of a successful command', async () => {
    const r = await git(top, ['rev-parse', 'HEAD']);
    expect(r).toEqual({ ok: true, value: `${sh('rev-parse', 'HEAD')}\n` });
    expect(gitSync(top, ['rev-parse', 'HEAD'])).toEqual(r);
  });

  it('a non-zero exit with an empty stderr is a failure (simple-git alone calls it success)', async () => {
    const r = await git(top, ['rev-parse', '--verify', '--quiet', 'nope']);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]).toMatchObject({ code: 'git-failed', message: `\`git rev-parse\` failed in ${top} (exit 1)` });
  });

  it('gitExit gives the exit code as a value', async () => {
    const r = await gitExit(top, ['config', '--local', '--get', 'no.such-key']);
    expect(r).toEqual({ ok: true, value: { code: 1, stdout: '', stderr: '' } });
  });

  it('refuses a git failure with its first line and the folder', async () => {
    const r = await git(top, ['checkout', 'no-such-branch']);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error[0]!.code).toBe('git-failed');
      expect(r.error[0]!.message).toContain(`\`git checkout\` failed in ${top} (exit 1): pathspec 'no-such-branch' did not match`);
      expect(r.error[0]!.hint).toBe(`run \`git checkout no-such-branch\` in ${top} to see git's whole message`);
    }
  });

  it('adds environment variables on top of the user environment, whatever EDITOR or PAGER hold', async () => {
    process.env.EDITOR = 'vi';
    process.env.PAGER = 'less';
    try {
      const r = await git(top, ['var', 'GIT_AUTHOR_IDENT'], { env: { GIT_AUTHOR_NAME: 'Env Person' } });
      expect(r.ok && r.value.startsWith('Env Person <t@example.com>')).toBe(true);
    } finally {
      delete process.env.EDITOR;
      delete process.env.PAGER;
    }
  });

  it('keeps simple-git\'s refusal of injected options unless the caller lifts it for its own arguments', async () => {
    const refused = await git(top, ['-c', 'core.hooksPath=/dev/null', 'status']);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.error[0]!.message).toContain('core.hooksPath is not permitted');
    expect((await git(top, ['-c', 'core.hooksPath=/dev/null', 'status', '--short'], { allow: ['allowUnsafeHooksPath'] })).ok).toBe(true);
    const clone = await git(outside, ['clone', '--upload-pack=touch /tmp/x', top, 'c']);
    expect(clone.ok).toBe(false);
    expect(fs.existsSync(path.join(outside, 'c'))).toBe(false);
  });
});

describe('GitRepo', () => {
  it('opens from a subfolder: top-level, prefix and paths', async () => {
    const r = await GitRepo.open(path.join(top, 'proj'));
    if (!r.ok) throw new Error(r.error[0]!.message);
    expect(r.value.top).toBe(top);
    expect(r.value.prefix).toBe('proj');
    expect(r.value.path('a.txt')).toBe('proj/a.txt');
    expect((await topLevel(path.join(top, 'proj', 'data'))).ok).toBe(true);
  });

  it('resolves revisions to commits; an unknown one is a diagnostic naming it', async () => {
    const repo = (await GitRepo.open(top)) as { ok: true; value: GitRepo };
    expect(await repo.value.commit('v1')).toEqual({ ok: true, value: sh('rev-parse', 'HEAD') });
    expect(await repo.value.commit('HEAD~1')).toEqual({ ok: true, value: first });
    for (const bad of ['nope', 'HEAD~9', '--output=/tmp/x']) {
      const r = await repo.value.commit(bad);
      expect(r).toEqual({
        ok: false,
        error: [
          {
            severity: 'error',
            code: 'unknown-revision',
            message: `unknown revision '${bad}': not a commit, branch or tag in this repository (${top})`,
            hint: 'name a commit, branch or tag that exists: `git log --oneline`, `git branch -a` and `git tag` list them',
          },
        ],
      });
    }
  });

  it('reads many blobs in one batch, in order: text, binary, empty, missing, trees, bad revisions', async () => {
    const repo = ((await GitRepo.open(path.join(top, 'proj'))) as { ok: true; value: GitRepo }).value;
    const specs = [
      `HEAD:${repo.path('a.txt')}`,
      `${first}:${repo.path('a.txt')}`,
      `HEAD:${repo.path('data/bin.dat')}`,
      `HEAD:${repo.path('empty')}`,
      `${first}:${repo.path('empty')}`,
      `HEAD:${repo.path('data')}`,
      'no-such-rev:proj/a.txt',
      'HEAD:with\nnewline',
      `v1:${repo.path('a.txt')}`,
    ];
    const r = await repo.blobs(specs);
    if (!r.ok) throw new Error(r.error[0]!.message);
    expect(r.value).toEqual([
      { kind: 'blob', bytes: Buffer.from('two é\n') },
      { kind: 'blob', bytes: Buffer.from('one\n') },
      { kind: 'blob', bytes: BINARY },
      { kind: 'blob', bytes: Buffer.alloc(0) },
      { kind: 'missing' },
      { kind: 'not-blob', type: 'tree' },
      { kind: 'missing' },
      { kind: 'missing' },
      { kind: 'blob', bytes: Buffer.from('two é\n') },
    ]);
    expect(await repo.blobs([])).toEqual({ ok: true, value: [] });
    expect(await repo.blob(`HEAD:${repo.path('data/bin.dat')}`)).toEqual({ ok: true, value: BINARY });
    expect(await repo.blob(`HEAD:${repo.path('nothing')}`)).toEqual({ ok: true, value: undefined });
  });

  it('answers many concurrent commands through its one queued instance', async () => {
    const repo = ((await GitRepo.open(top)) as { ok: true; value: GitRepo }).value;
    const head = sh('rev-parse', 'HEAD');
    const got = await Promise.all(Array.from({ length: 30 }, (_, i) => repo.commit(i % 2 === 0 ? 'HEAD' : 'v1')));
    expect(got).toEqual(Array.from({ length: 30 }, () => ({ ok: true, value: head })));
  });

  it('must gives the value, or throws GitFailed carrying the diagnostics for the CLI to print', async () => {
    expect(must(await git(top, ['rev-parse', '--is-inside-work-tree']))).toBe('true\n');
    const refused = await git(top, ['checkout', 'no-such-branch']);
    let thrown: unknown;
    try {
      must(refused);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(GitFailed);
    expect((thrown as GitFailed).name).toBe('GitFailed');
    expect((thrown as GitFailed).diagnostics).toEqual(refused.ok ? [] : refused.error);
  });

  it('reads a blob larger than one pipe buffer intact', async () => {
    const big = Buffer.alloc(3 << 20, 7);
    big.write('end', big.length - 3);
    fs.writeFileSync(path.join(top, 'big.bin'), big);
    sh('add', 'big.bin');
    sh('commit', '-q', '-m', 'big');
    const repo = ((await GitRepo.open(top)) as { ok: true; value: GitRepo }).value;
    const r = await repo.blobs(['HEAD:big.bin', 'HEAD:proj/a.txt']);
    if (!r.ok) throw new Error(r.error[0]!.message);
    const got = r.value[0]!;
    // Buffer.equals: vitest's deep equality walks 3 MiB byte by byte.
    expect(got.kind === 'blob' && got.bytes.equals(big)).toBe(true);
    expect(r.value[1]).toEqual({ kind: 'blob', bytes: Buffer.from('two é\n') });
  });
});

describe('expected failures are diagnostics', () => {
  it('a folder outside any repository: not-git, naming it and what it is for', async () => {
    const want = { severity: 'error', code: 'not-git', message: `${outside} is not inside a git repository; experiments are stored as git refs`, hint: 'run `git init` there and commit the project first' };
    expect(await GitRepo.open(outside, 'experiments are stored as git refs')).toEqual({ ok: false, error: [want] });
    const r = await git(outside, ['log']);
    expect(r.ok ? undefined : r.error[0]!.code).toBe('not-git');
    const s = gitSync(outside, ['ls-files']);
    expect(s.ok ? undefined : s.error[0]!.code).toBe('not-git');
  });

  it('a folder that does not exist is a diagnostic, not a throw', async () => {
    const r = await git(path.join(outside, 'gone'), ['status']);
    expect(r.ok ? undefined : r.error[0]).toMatchObject({ code: 'git-failed', message: `cannot run git in ${path.join(outside, 'gone')}: the folder does not exist` });
  });

  describe('git not on PATH', () => {
    let saved: string | undefined;
    beforeAll(() => {
      saved = process.env.PATH;
      process.env.PATH = '';
    });
    afterAll(() => {
      process.env.PATH = saved;
    });
    const missing = (args: string) => ({ severity: 'error', code: 'git-missing', message: `git is not installed or not on PATH (mlbuild needs it for \`git ${args}\`)`, hint: 'install git (e.g. `apt-get install git`) or put the folder holding it on PATH' });

    it('one-shot, sync and open say git is missing', async () => {
      expect(await git(top, ['status'])).toEqual({ ok: false, error: [missing('status')] });
      expect(gitSync(top, ['ls-files', '-z'])).toEqual({ ok: false, error: [missing('ls-files')] });
      expect(await GitRepo.open(top)).toEqual({ ok: false, error: [missing('rev-parse')] });
    });

    it('the batch reader says git is missing', async () => {
      process.env.PATH = saved;
      const repo = ((await GitRepo.open(top)) as { ok: true; value: GitRepo }).value;
      process.env.PATH = '';
      expect(await repo.blobs(['HEAD:proj/a.txt'])).toEqual({ ok: false, error: [missing('cat-file')] });
    });
  });
});
