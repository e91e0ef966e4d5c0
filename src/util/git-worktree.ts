/**
 * A temporary, detached git worktree: checked out into a new folder under the OS temp dir with hooks
 * off (a post-checkout hook is the user's, not ours), and removed with its admin entry under
 * .git/worktrees. `verify` rebuilds in one; `exp run` runs each experiment in one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { git } from '../git/git.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok } from './result.js';

export interface Worktree {
  /** The worktree's top-level folder. */
  readonly dir: string;
  /** Removes the checkout and its admin entry; safe to call twice. */
  remove(): Promise<void>;
}

/** Checks out `sha` of the repository at `top` into a new folder named after `label`. */
export async function addWorktree(top: string, sha: string, label: string): Promise<Result<Worktree, Diagnostic[]>> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `mlbuild-${label}-`));
  const dir = path.join(base, path.basename(top) || 'repo');
  // Hooks off is our own setting, which simple-git's checks would otherwise refuse.
  const add = await git(top, ['worktree', 'add', '--detach', '--quiet', dir, sha], { config: ['core.hooksPath=/dev/null'], allow: ['allowUnsafeHooksPath'] });
  if (!add.ok) {
    fs.rmSync(base, { recursive: true, force: true });
    return add;
  }
  let removed = false;
  return ok({
    dir,
    remove: async () => {
      if (removed) return;
      removed = true;
      // A run leaves ignored files (outs, .mlcache) that `worktree remove` may refuse: delete, then prune.
      if (!(await git(top, ['worktree', 'remove', '--force', '--force', dir])).ok) {
        fs.rmSync(base, { recursive: true, force: true });
        await git(top, ['worktree', 'prune']);
      }
      fs.rmSync(base, { recursive: true, force: true });
    },
  });
}
