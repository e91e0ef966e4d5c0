/**
 * What `verify` rebuilds: the commit at HEAD, checked out by util/git-worktree.ts. A worktree (not
 * a copy of the workspace) because verify answers the CI question "does what is committed
 * reproduce?": uncommitted edits are not part of it (they are counted, so the user is told), and
 * ignored files (cached outs, `.mlcache/`) are absent, so nothing can leak in.
 */
import fs from 'node:fs';
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
