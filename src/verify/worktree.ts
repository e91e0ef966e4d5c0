/**
 * What `verify` rebuilds: the commit at HEAD, checked out by util/git-worktree.ts. A worktree (not
 * a copy of the workspace) because verify answers the CI question "does what is committed
 * reproduce?": uncommitted edits are not part of it (they are counted, so the user is told), and
 * ignored files (cached outs, `.mlcache/`) are absent, so nothing can leak in.
 */
import { GitRepo } from '../git/git.js';
import type { Diagnostic } from '../report/diagnostic.js';
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

const HINT = 'verify rebuilds the committed HEAD: run it in a git repository with at least one commit';

/** The repository and commit holding `root`, or why there is none. */
export async function readHead(root: string): Promise<Result<RepoHead, Diagnostic[]>> {
  const repo = await GitRepo.open(root, 'verify rebuilds the committed HEAD');
  if (!repo.ok) return repo;
  const sha = await repo.value.commit('HEAD');
  if (!sha.ok) return err([{ severity: 'error', code: 'verify-git', message: 'the repository has no commit yet (verify rebuilds HEAD)', hint: HINT }]);
  // --no-optional-locks: a read-only look, which must not refresh (rewrite) the user's index.
  const status = await repo.value.run(['--no-optional-locks', 'status', '--porcelain', '-z', '--untracked-files=no']);
  if (!status.ok) return status;
  const uncommitted = status.value
    .split('\0')
    .filter((l) => l.length > 3)
    .map((l) => l.slice(3));
  return ok({ top: repo.value.top, prefix: repo.value.prefix, sha: sha.value, uncommitted });
}
