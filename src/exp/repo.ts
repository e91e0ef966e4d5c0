/**
 * The git side of experiments (git runs through git/git.ts): snapshotting the workspace as a commit, writing
 * the result commit from the worktree an experiment ran in (util/git-worktree.ts), and the refs under
 * refs/exps/. It never touches the user's working tree, index or branches: the snapshot comes from
 * `git stash create` (which writes objects only), results are built with write-tree/commit-tree,
 * and refs are moved with compare-and-swap `update-ref`, so two runners never claim one entry.
 */
import { EXP_REFS, QUEUE_REFS } from './ref.js';
import { GitRepo, must } from '../git/git.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok } from '../util/result.js';

const ZERO = '0000000000000000000000000000000000000000';

export interface RefEntry {
  readonly ref: string;
  /** The part after refs/exps/ (or refs/exps/queue/). */
  readonly name: string;
  readonly sha: string;
}

export class ExpRepo {
  private constructor(private readonly git: GitRepo) {}

  /** The git top-level folder. */
  get top(): string {
    return this.git.top;
  }

  /** The repository holding `root`, or why there is none. */
  static async open(root: string): Promise<Result<ExpRepo, Diagnostic[]>> {
    const repo = await GitRepo.open(root, 'experiments are stored as git refs');
    if (!repo.ok) return repo;
    // Result commits need an identity; a repository without one still gets its experiments.
    const email = await repo.value.exit(['config', '--get', 'user.email']);
    const named = email.ok && email.value.code === 0 && email.value.stdout.trim() !== '';
    return ok(new ExpRepo(named ? repo.value : repo.value.withConfig(['user.name=mlbuild', 'user.email=mlbuild@localhost'])));
  }

  /** `git ARGS` at the top-level; a refusal is a diagnostic. */
  run(args: readonly string[]): Promise<Result<string, Diagnostic[]>> {
    return this.git.run(args);
  }

  /** `git ARGS` whose failure means the repository broke under us (git/git.ts GitFailed). */
  async raw(args: readonly string[]): Promise<string> {
    return must(await this.git.run(args));
  }

  /** The sha of `rev` as a commit, or undefined. */
  async resolve(rev: string): Promise<string | undefined> {
    const sha = await this.git.commit(rev);
    return sha.ok ? sha.value : undefined;
  }

  /**
   * A commit of HEAD plus the uncommitted changes to tracked files (staged or not), parented on
   * HEAD; the working tree and index are left as they are. Untracked files are not in it.
   */
  async snapshot(message: string): Promise<Result<{ sha: string; base: string; tree: string }, Diagnostic[]>> {
    const base = await this.resolve('HEAD');
    if (!base) return { ok: false, error: [{ severity: 'error', code: 'unknown-revision', message: 'the repository has no commit yet', hint: 'commit the pipeline first: experiments start from a commit' }] };
    const stash = (await this.raw(['stash', 'create'])).trim();
    const tree = (await this.raw(['rev-parse', `${stash || base}^{tree}`])).trim();
    const sha = (await this.raw(['commit-tree', tree, '-p', base, '-m', message])).trim();
    return ok({ sha, base, tree });
  }

  async commitTree(tree: string, parent: string, message: string): Promise<string> {
    return (await this.raw(['commit-tree', tree, '-p', parent, '-m', message])).trim();
  }

  /** Points `ref` at `sha`; with `create`, only if the ref does not exist yet (false when it does). */
  async setRef(ref: string, sha: string, create: boolean): Promise<boolean> {
    const r = await this.git.exit(['update-ref', ref, sha, ...(create ? [ZERO] : [])]);
    return must(r).code === 0;
  }

  /** Deletes `ref`, only if it still points at `sha` when given; false if it did not. */
  async deleteRef(ref: string, sha?: string): Promise<boolean> {
    const r = await this.git.exit(['update-ref', '-d', ref, ...(sha ? [sha] : [])]);
    return must(r).code === 0;
  }

  /** Finished experiments (`queue: false`) or queued ones, oldest first. */
  async list(queue: boolean): Promise<RefEntry[]> {
    const prefix = queue ? QUEUE_REFS : EXP_REFS;
    const out = await this.raw(['for-each-ref', '--sort=committerdate', '--format=%(refname) %(objectname)', prefix]);
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
    return this.raw(['log', '-1', '--format=%B', sha]);
  }

  /** The messages of many commits through one `git log --no-walk` (sha -> message, as `message` gives it). */
  async messages(shas: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    // Batches keep the command line well under the OS's argument limit.
    for (let i = 0; i < shas.length; i += 500) {
      const text = await this.raw(['log', '--no-walk=unsorted', '--format=%H%x00%B%x1e', ...shas.slice(i, i + 500)]);
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
    const out = await this.raw(['diff', '--name-only', '--no-renames', '-z', a, b]);
    return out.split('\0').filter((p) => p !== '');
  }

  /** Of `paths`, those whose workspace content differs from HEAD (modified, or untracked and present). */
  async uncommitted(paths: readonly string[]): Promise<string[]> {
    if (paths.length === 0) return [];
    const tracked = await this.raw(['diff', '--name-only', '-z', 'HEAD', '--', ...paths]);
    const untracked = await this.raw(['ls-files', '--others', '--exclude-standard', '-z', '--', ...paths]);
    return [...new Set([...tracked.split('\0'), ...untracked.split('\0')].filter((p) => p !== ''))];
  }

  /** A file's bytes at `sha`, or undefined if it is not there. */
  async blob(sha: string, file: string): Promise<Buffer | undefined> {
    return must(await this.git.blob(`${sha}:${file}`));
  }

  /**
   * Commits what the run left in the worktree at `dir` onto `parent`: tracked files it changed
   * (params, lockfile, committed metrics, .gitignore) and new files git does not ignore, except
   * `exclude` (inputs copied in from the workspace) and `.mlcache/`.
   */
  async commitWorktree(dir: string, parent: string, message: string, exclude: readonly string[]): Promise<string> {
    const wt = (args: readonly string[]): Promise<string> => this.git.run(args, { cwd: dir }).then(must);
    await wt(['add', '-u']);
    const fresh = (await wt(['ls-files', '--others', '--exclude-standard', '-z']))
      .split('\0')
      .filter((p) => p !== '' && !exclude.some((x) => p === x || p.startsWith(`${x}/`)) && !/(^|\/)\.mlcache\//.test(p));
    if (fresh.length > 0) await wt(['add', '--', ...fresh]);
    const tree = (await wt(['write-tree'])).trim();
    return (await wt(['commit-tree', tree, '-p', parent, '-m', message])).trim();
  }
}
