/**
 * The isolated checkout `verify` rebuilds in: a detached git worktree of HEAD in a temp folder.
 * A worktree (not a copy of the workspace) because verify answers the CI question "does what is
 * committed reproduce?": uncommitted edits are not part of it (they are counted, so the user is
 * told), and ignored files (cached outs, `.mlcache/`) are absent, so nothing can leak in.
 * Hooks are off for the checkout, so a post-checkout hook cannot touch the user's repository.
 *
 * It does not place data or run anything; removing it leaves the repository as it was (the
 * worktree's admin entry under .git/worktrees is removed with it).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { type Result, ok, err } from '../util/result.js';

export interface RepoHead {
  /** The git top-level folder of the user's repository. */
  readonly top: string;
  /** The project root relative to the top-level ('' when the same). */
  readonly prefix: string;
  readonly sha: string;
  /** Tracked files with uncommitted changes (staged or not); they are not verified. */
  readonly uncommitted: readonly string[];
}

function git(cwd: string, args: readonly string[]): { ok: boolean; out: string; err: string } {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '').trim() };
}

/** The repository and commit holding `root`, or why there is none. */
export function readHead(root: string): Result<RepoHead, string> {
  const top = git(root, ['rev-parse', '--show-toplevel']);
  if (!top.ok) return err(`${root} is not inside a git repository`);
  const sha = git(root, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
  if (!sha.ok) return err('the repository has no commit yet (verify rebuilds HEAD)');
  // --no-optional-locks: a read-only look, which must not refresh (rewrite) the user's index.
  const status = git(root, ['--no-optional-locks', 'status', '--porcelain', '-z', '--untracked-files=no']);
  const uncommitted = status.out
    .split('\0')
    .filter((l) => l.length > 3)
    .map((l) => l.slice(3));
  const topDir = top.out.trim();
  const prefix = path.relative(fs.realpathSync(topDir), fs.realpathSync(root)).split(path.sep).join('/');
  return ok({ top: topDir, prefix, sha: sha.out.trim(), uncommitted });
}

export interface Worktree {
  /** The worktree's top-level folder. */
  readonly dir: string;
  /** Removes the checkout and its admin entry; safe to call twice. */
  remove(): void;
}

/** Checks out `head` into a new temp folder as a detached worktree. */
export function addWorktree(head: RepoHead): Result<Worktree, string> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-verify-'));
  const dir = path.join(base, path.basename(head.top) || 'repo');
  const add = git(head.top, ['-c', 'core.hooksPath=/dev/null', 'worktree', 'add', '--detach', '--quiet', dir, head.sha]);
  if (!add.ok) {
    fs.rmSync(base, { recursive: true, force: true });
    return err(`git worktree add failed: ${add.err}`);
  }
  let removed = false;
  return ok({
    dir,
    remove: () => {
      if (removed) return;
      removed = true;
      // The rebuild leaves ignored files (outs, .mlcache) that `worktree remove` may refuse: delete, then prune.
      if (!git(head.top, ['worktree', 'remove', '--force', '--force', dir]).ok) {
        fs.rmSync(base, { recursive: true, force: true });
        git(head.top, ['worktree', 'prune']);
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  });
}
