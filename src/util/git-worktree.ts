/**
 * A temporary, detached git worktree: checked out into a new folder under the OS temp dir with hooks
 * off (a post-checkout hook is the user's, not ours), and removed with its admin entry under
 * .git/worktrees. `verify` rebuilds in one; `exp run` runs each experiment in one.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type Result, ok, err } from './result.js';

export interface Worktree {
  /** The worktree's top-level folder. */
  readonly dir: string;
  /** Removes the checkout and its admin entry; safe to call twice. */
  remove(): Promise<void>;
}

function git(cwd: string, args: readonly string[]): Promise<{ ok: boolean; err: string }> {
  return new Promise((resolve) => {
    execFile('git', args, { cwd, encoding: 'utf8', maxBuffer: 64 << 20 }, (e, _stdout, stderr) => resolve({ ok: !e, err: (stderr ?? '').trim() }));
  });
}

/** Checks out `sha` of the repository at `top` into a new folder named after `label`. */
export async function addWorktree(top: string, sha: string, label: string): Promise<Result<Worktree, string>> {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `mlbuild-${label}-`));
  const dir = path.join(base, path.basename(top) || 'repo');
  const add = await git(top, ['-c', 'core.hooksPath=/dev/null', 'worktree', 'add', '--detach', '--quiet', dir, sha]);
  if (!add.ok) {
    fs.rmSync(base, { recursive: true, force: true });
    return err(`git worktree add failed: ${add.err}`);
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
