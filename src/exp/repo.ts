/**
 * The git side of experiments, through simple-git: snapshotting the workspace as a commit, writing
 * the result commit from the worktree an experiment ran in (util/git-worktree.ts), and the refs under
 * refs/exps/. It never touches the user's working tree, index or branches: the snapshot comes from
 * `git stash create` (which writes objects only), results are built with write-tree/commit-tree,
 * and refs are moved with compare-and-swap `update-ref`, so two runners never claim one entry.
 */
import type { SimpleGit } from 'simple-git';
import { EXP_REFS, QUEUE_REFS } from './ref.js';
import { GitReader } from '../metrics/git-reader.js';

const ZERO = '0000000000000000000000000000000000000000';

export interface RefEntry {
  readonly ref: string;
  /** The part after refs/exps/ (or refs/exps/queue/). */
  readonly name: string;
  readonly sha: string;
}

export class ExpRepo {
  private constructor(
    private readonly git: SimpleGit,
    /** The git top-level folder. */
    readonly top: string,
    private readonly make: (dir: string) => SimpleGit,
  ) {}

  /** The repository holding `root`, or why there is none. */
  static async open(root: string): Promise<ExpRepo | { failed: string }> {
    const reader = await GitReader.open(root);
    if (!(reader instanceof GitReader)) return { failed: `${reader.failed}; experiments are stored as git refs` };
    const { simpleGit } = await import('simple-git');
    const top = reader.top;
    // Result commits need an identity; a repository without one still gets its experiments.
    const named = (await simpleGit(top).raw(['config', '--get', 'user.email']).catch(() => '')).trim() !== '';
    const config = named ? [] : ['user.name=mlbuild', 'user.email=mlbuild@localhost'];
    const make = (dir: string): SimpleGit => simpleGit({ baseDir: dir, config });
    return new ExpRepo(make(top), top, make);
  }

  async raw(args: string[]): Promise<string> {
    return this.git.raw(args);
  }

  /** The sha of `rev` as a commit, or undefined. */
  async resolve(rev: string): Promise<string | undefined> {
    try {
      const sha = (await this.git.raw(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`])).trim();
      return /^[0-9a-f]{40,64}$/.test(sha) ? sha : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * A commit of HEAD plus the uncommitted changes to tracked files (staged or not), parented on
   * HEAD; the working tree and index are left as they are. Untracked files are not in it.
   */
  async snapshot(message: string): Promise<{ sha: string; base: string; tree: string } | { failed: string }> {
    const base = await this.resolve('HEAD');
    if (!base) return { failed: 'the repository has no commit yet: commit the pipeline first (experiments start from a commit)' };
    const stash = (await this.git.raw(['stash', 'create'])).trim();
    const tree = (await this.git.raw(['rev-parse', `${stash || base}^{tree}`])).trim();
    const sha = (await this.git.raw(['commit-tree', tree, '-p', base, '-m', message])).trim();
    return { sha, base, tree };
  }

  async commitTree(tree: string, parent: string, message: string): Promise<string> {
    return (await this.git.raw(['commit-tree', tree, '-p', parent, '-m', message])).trim();
  }

  /** Points `ref` at `sha`; with `create`, only if the ref does not exist yet (false when it does). */
  async setRef(ref: string, sha: string, create: boolean): Promise<boolean> {
    try {
      await this.git.raw(['update-ref', ref, sha, ...(create ? [ZERO] : [])]);
      return true;
    } catch {
      return false;
    }
  }

  /** Deletes `ref`, only if it still points at `sha` when given; false if it did not. */
  async deleteRef(ref: string, sha?: string): Promise<boolean> {
    try {
      await this.git.raw(['update-ref', '-d', ref, ...(sha ? [sha] : [])]);
      return true;
    } catch {
      return false;
    }
  }

  /** Finished experiments (`queue: false`) or queued ones, oldest first. */
  async list(queue: boolean): Promise<RefEntry[]> {
    const prefix = queue ? QUEUE_REFS : EXP_REFS;
    const out = await this.git.raw(['for-each-ref', '--sort=committerdate', '--format=%(refname) %(objectname)', prefix]);
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [ref, sha] = l.split(' ') as [string, string];
        return { ref, sha, name: ref.slice(prefix.length) };
      })
      .filter((e) => queue || !e.ref.startsWith(QUEUE_REFS));
  }

  async message(sha: string): Promise<string> {
    return this.git.raw(['log', '-1', '--format=%B', sha]);
  }

  /** The messages of many commits through one `git log --no-walk` (sha -> message, as `message` gives it). */
  async messages(shas: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    // Batches keep the command line well under the OS's argument limit.
    for (let i = 0; i < shas.length; i += 500) {
      const text = await this.git.raw(['log', '--no-walk=unsorted', '--format=%H%x00%B%x1e', ...shas.slice(i, i + 500)]);
      for (const rec of text.split('\x1e')) {
        const r = rec.replace(/^\n/, '');
        const nul = r.indexOf('\0');
        if (nul > 0) out.set(r.slice(0, nul), r.slice(nul + 1) + '\n');
      }
    }
    return out;
  }

  /** Paths (relative to the top-level) that differ between two commits. */
  async changedFiles(a: string, b: string): Promise<string[]> {
    const out = await this.git.raw(['diff', '--name-only', '--no-renames', '-z', a, b]);
    return out.split('\0').filter((p) => p !== '');
  }

  /** Of `paths`, those whose workspace content differs from HEAD (modified, or untracked and present). */
  async uncommitted(paths: readonly string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const tracked = await this.git.raw(['diff', '--name-only', '-z', 'HEAD', '--', ...paths]);
    const untracked = await this.git.raw(['ls-files', '--others', '--exclude-standard', '-z', '--', ...paths]);
    return [...new Set([...tracked.split('\0'), ...untracked.split('\0')].filter((p) => p !== ''))];
  }

  /** A file's bytes at `sha`, or undefined if it is not there. */
  async blob(sha: string, file: string): Promise<Buffer | undefined> {
    const { execFile } = await import('node:child_process');
    // simple-git returns text; params and lockfiles are text, but metrics files need not be UTF-8.
    return new Promise((resolve) => {
      execFile('git', ['cat-file', 'blob', `${sha}:${file}`], { cwd: this.top, encoding: 'buffer', maxBuffer: 1 << 30 }, (e, stdout) =>
        resolve(e ? undefined : stdout),
      );
    });
  }

  /**
   * Commits what the run left in the worktree at `dir` onto `parent`: tracked files it changed
   * (params, lockfile, committed metrics, .gitignore) and new files git does not ignore, except
   * `exclude` (inputs copied in from the workspace) and `.mlcache/`.
   */
  async commitWorktree(dir: string, parent: string, message: string, exclude: readonly string[]): Promise<string> {
    const wt = this.make(dir);
    await wt.raw(['add', '-u']);
    const fresh = (await wt.raw(['ls-files', '--others', '--exclude-standard', '-z']))
      .split('\0')
      .filter((p) => p !== '' && !exclude.some((x) => p === x || p.startsWith(`${x}/`)) && !/(^|\/)\.mlcache\//.test(p));
    if (fresh.length > 0) await wt.raw(['add', '--', ...fresh]);
    const tree = (await wt.raw(['write-tree'])).trim();
    return (await wt.raw(['commit-tree', tree, '-p', parent, '-m', message])).trim();
  }
}
