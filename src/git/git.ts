/**
 * Git: the one place mlbuild starts git. Every other module asks this one (`git`, `gitSync`,
 * `GitRepo`), so every git failure has one shape: `Result<T, Diagnostic[]>`, where the expected
 * failures are diagnostics that say what to do: git not installed (`git-missing`), a folder outside
 * any repository (`not-git`), a revision that names no commit (`unknown-revision`), and any other
 * refusal (`git-failed`, naming the command, the folder and git's own first line).
 *
 * How git runs, and why:
 * - One-shot commands go through simple-git, the project's git dependency: its queue bounds the git
 *   processes one repository runs at once (a GitRepo keeps one instance; the ui and `exp show` ask
 *   for many answers together), and its argument checks refuse the options that run programs
 *   (`--upload-pack`, `-c core.sshCommand`, ...) should one arrive inside a value we did not write
 *   (a `.dvc` file's `repo.url`; callers also put `--` or `--end-of-options` before such values).
 *   We configure it so that any non-zero exit is a failure (by default a failure with an empty
 *   stderr, e.g. `rev-parse --verify --quiet`, passes as success), and each call that needs one of
 *   its "unsafe" settings for arguments we wrote (`-c core.hooksPath`, a merge driver) names it. It
 *   is imported on first use, so commands that never call git never load it.
 * - Bulk blob reads (`GitRepo.blobs`) keep one `git cat-file --batch` per call, fed on stdin:
 *   `metrics diff`, `exp show`, the ui and `gc --all-commits` read hundreds of files across
 *   revisions, where a process per file dominates. simple-git cannot feed stdin, so this is a
 *   plain `spawn`, here and nowhere else.
 * - `gitSync` exists for one caller that must stay synchronous: the pointer listing behind
 *   `DataSources.pointerFor`, which a stage run calls from a synchronous callback when a dep is
 *   missing. It is never on the `repro` no-op path.
 *
 * A step refused after earlier steps of the same operation succeeded (a `write-tree` after `open`)
 * is no user error: callers that cannot go on throw it as `GitFailed` (`must`), which the CLI prints
 * as diagnostics with exit 1.
 *
 * It knows nothing of mlbuild's files (metrics/git-reader.ts, exp/repo.ts, registry/git-tags.ts and
 * util/git-worktree.ts give git calls their meaning), and it never touches the user's working
 * tree, index or refs by itself: callers choose the commands.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { GitError, SimpleGit, SimpleGitFactory, SimpleGitOptions } from 'simple-git';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';

/** simple-git's safety checks a command may lift, for arguments mlbuild wrote itself. */
export type GitUnsafe = keyof NonNullable<SimpleGitOptions['unsafe']>;

export interface GitOptions {
  /** Variables added to mlbuild's own environment for this command. */
  readonly env?: Readonly<Record<string, string>>;
  /** `-c key=value` settings for this command. */
  readonly config?: readonly string[];
  /** Stops git when it has printed nothing for this long. */
  readonly timeoutMs?: number;
  readonly allow?: readonly GitUnsafe[];
}

/** A finished git command whose exit code the caller reads itself (`merge-file`, `config --get`). */
export interface GitExit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** What `git cat-file --batch` says about one object name. */
export type BlobAnswer = { readonly kind: 'blob'; readonly bytes: Buffer } | { readonly kind: 'missing' } | { readonly kind: 'not-blob'; readonly type: string };

// The user's own environment may hold EDITOR, PAGER, GIT_SSH_COMMAND...: simple-git flags those once
// an environment is passed explicitly, but they are the user's choices, not injected values.
const ENV_CHECKS: readonly GitUnsafe[] = [
  'allowUnsafeEditor',
  'allowUnsafeAskPass',
  'allowUnsafeConfigPaths',
  'allowUnsafeConfigEnvCount',
  'allowUnsafeDiffExternal',
  'allowUnsafePager',
  'allowUnsafeGitProxy',
  'allowUnsafeTemplateDir',
  'allowUnsafeSshCommand',
];

const INSTALL_HINT = 'install git (e.g. `apt-get install git`) or put the folder holding it on PATH';

const describe = (args: readonly string[]): string => `git ${args.find((a) => !a.startsWith('-') && !a.includes('=')) ?? args[0] ?? ''}`.trim();

/** The command as the user may retype it; a long argument list (paths, shas) is cut. */
const shown = (args: readonly string[]): string => {
  const full = `git ${args.join(' ')}`;
  return full.length <= 200 ? full : `${full.slice(0, 200)}…`;
};

const firstLine = (text: string): string => text.split('\n').map((l) => l.replace(/^(fatal|error): /, '').trim()).find((l) => l !== '') ?? '';

export function gitMissing(args: readonly string[]): Diagnostic {
  return { severity: 'error', code: 'git-missing', message: `git is not installed or not on PATH (mlbuild needs it for \`${describe(args)}\`)`, hint: INSTALL_HINT };
}

export function notGit(dir: string, why?: string): Diagnostic {
  return {
    severity: 'error',
    code: 'not-git',
    message: `${dir} is not inside a git repository${why ? `; ${why}` : ''}`,
    hint: 'run `git init` there and commit the project first',
  };
}

export function unknownRevision(rev: string, top: string): Diagnostic {
  return {
    severity: 'error',
    code: 'unknown-revision',
    message: `unknown revision '${rev}': not a commit, branch or tag in this repository (${top})`,
    hint: 'name a commit, branch or tag that exists: `git log --oneline`, `git branch -a` and `git tag` list them',
  };
}

/** A diagnostic for git's refusal of `args` in `cwd`, from its stderr. */
function refusal(cwd: string, args: readonly string[], code: number | undefined, stderr: string): Diagnostic {
  if (/not a git repository/i.test(stderr)) return notGit(cwd);
  const line = firstLine(stderr);
  return {
    severity: 'error',
    code: 'git-failed',
    message: `\`${describe(args)}\` failed in ${cwd}${code !== undefined ? ` (exit ${code})` : ''}${line ? `: ${line}` : ''}`,
    hint: `run \`${shown(args)}\` in ${cwd} to see git's whole message`,
  };
}

let loaded: Promise<{ simpleGit: SimpleGitFactory; GitError: typeof GitError }> | undefined;

/** The exit a GitError carries when our error plugin made it. */
const EXIT = Symbol('mlbuild git exit');
type WithExit = Error & { [EXIT]?: GitExit };

/** A simple-git instance running in `cwd` with `o`, or why there can be none. Commands through one instance share its queue. */
async function instance(cwd: string, o: GitOptions): Promise<Result<SimpleGit, Diagnostic[]>> {
  if (!fs.existsSync(cwd)) return err([{ severity: 'error', code: 'git-failed', message: `cannot run git in ${cwd}: the folder does not exist` }]);
  const { simpleGit, GitError } = await (loaded ??= import('simple-git').then((m) => ({ simpleGit: m.simpleGit, GitError: m.GitError })));
  const allow = [...(o.allow ?? []), ...(o.env ? ENV_CHECKS : [])];
  const options: Partial<SimpleGitOptions> = {
    baseDir: cwd,
    config: [...(o.config ?? [])],
    unsafe: Object.fromEntries(allow.map((a) => [a, true])),
    // Any non-zero exit is a failure carrying its code (simple-git alone passes one with an empty
    // stderr); a GitError, because simple-git rewraps any other error into a bare message.
    errors: (error, result) => {
      if (typeof result.exitCode !== 'number' || result.exitCode <= 0) return error;
      const stderr = Buffer.concat(result.stdErr).toString('utf8');
      const e: WithExit = new GitError(undefined, stderr || `exit ${result.exitCode}`);
      e[EXIT] = { code: result.exitCode, stdout: Buffer.concat(result.stdOut).toString('utf8'), stderr };
      return e;
    },
    ...(o.timeoutMs !== undefined ? { timeout: { block: o.timeoutMs } } : {}),
  };
  const git = simpleGit(options);
  if (o.env) git.env({ ...process.env, ...o.env });
  return ok(git);
}

/** Maps what simple-git threw to a diagnostic. */
function failure(e: unknown, cwd: string, args: readonly string[]): Diagnostic {
  const msg = e instanceof Error ? e.message : String(e);
  if (/spawn \S*git ENOENT/.test(msg)) return gitMissing(args);
  return refusal(cwd, args, undefined, msg);
}

async function exec(git: Result<SimpleGit, Diagnostic[]>, cwd: string, args: readonly string[]): Promise<Result<GitExit, Diagnostic[]>> {
  if (!git.ok) return git;
  try {
    return ok({ code: 0, stdout: await git.value.raw([...args]), stderr: '' });
  } catch (e) {
    const exit = (e as WithExit)[EXIT];
    return exit ? ok(exit) : err([failure(e, cwd, args)]);
  }
}

const orRefusal = (r: Result<GitExit, Diagnostic[]>, cwd: string, args: readonly string[]): Result<string, Diagnostic[]> =>
  !r.ok ? r : r.value.code === 0 ? ok(r.value.stdout) : err([refusal(cwd, args, r.value.code, r.value.stderr)]);

/** Runs `git ARGS` in `cwd`: its stdout, or a diagnostic when it fails or exits non-zero. */
export async function git(cwd: string, args: readonly string[], o: GitOptions = {}): Promise<Result<string, Diagnostic[]>> {
  return orRefusal(await exec(await instance(cwd, o), cwd, args), cwd, args);
}

/** Runs `git ARGS` in `cwd` and returns its exit code as a value; only a git that cannot start is an error. */
export async function gitExit(cwd: string, args: readonly string[], o: GitOptions = {}): Promise<Result<GitExit, Diagnostic[]>> {
  return exec(await instance(cwd, o), cwd, args);
}

/**
 * `git ARGS` in `cwd`, synchronously: only for callers inside a synchronous path (see the module
 * comment). Same diagnostics as `git`.
 */
export function gitSync(cwd: string, args: readonly string[]): Result<string, Diagnostic[]> {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) return err([(r.error as NodeJS.ErrnoException).code === 'ENOENT' && fs.existsSync(cwd) ? gitMissing(args) : failure(r.error, cwd, args)]);
  return r.status === 0 ? ok(r.stdout) : err([refusal(cwd, args, r.status ?? undefined, r.stderr)]);
}

/** The git top-level folder holding `dir`, or why there is none. */
export async function topLevel(dir: string, why?: string): Promise<Result<string, Diagnostic[]>> {
  const r = await gitExit(dir, ['rev-parse', '--show-toplevel']);
  if (!r.ok) return r;
  if (r.value.code !== 0) return err([/not a git repository/i.test(r.value.stderr) ? notGit(dir, why) : refusal(dir, ['rev-parse', '--show-toplevel'], r.value.code, r.value.stderr)]);
  return ok(r.value.stdout.trim());
}

/**
 * One repository, seen from a folder inside it (a project root): commands run at the top-level,
 * and project-relative paths are turned into top-level-relative ones with `path`.
 */
export class GitRepo {
  private constructor(
    /** The git top-level folder. */
    readonly top: string,
    /** The folder it was opened from, relative to the top-level, POSIX, '' when they are the same. */
    readonly prefix: string,
    private readonly config: readonly string[],
  ) {}

  /** The repository holding `dir`; `why` finishes the not-a-repository message ("experiments are stored as git refs"). */
  static async open(dir: string, why?: string): Promise<Result<GitRepo, Diagnostic[]>> {
    const top = await topLevel(dir, why);
    if (!top.ok) return top;
    const real = (p: string): string => {
      try {
        return fs.realpathSync(p);
      } catch {
        return p;
      }
    };
    const prefix = path.relative(real(top.value), real(dir)).split(path.sep).join('/');
    return ok(new GitRepo(top.value, prefix, []));
  }

  /** The same repository with `-c` settings on every command (a commit identity, say). */
  withConfig(config: readonly string[]): GitRepo {
    return new GitRepo(this.top, this.prefix, [...this.config, ...config]);
  }

  /** A folder-relative (project-relative) path as a top-level-relative one. */
  path(rel: string): string {
    return this.prefix === '' ? rel : `${this.prefix}/${rel}`;
  }

  /** The instance plain commands at the top-level share, so simple-git's queue bounds them. */
  private shared: Promise<Result<SimpleGit, Diagnostic[]>> | undefined;

  /** `git ARGS` at the top-level (or in `cwd`, another work tree of this repository). */
  async run(args: readonly string[], o: { cwd?: string } = {}): Promise<Result<string, Diagnostic[]>> {
    if (o.cwd !== undefined) return git(o.cwd, args, { config: this.config });
    return orRefusal(await this.exit(args), this.top, args);
  }

  /** `git ARGS` at the top-level, its exit code a value. */
  async exit(args: readonly string[]): Promise<Result<GitExit, Diagnostic[]>> {
    this.shared ??= instance(this.top, { config: this.config });
    return exec(await this.shared, this.top, args);
  }

  /** The full sha of the commit `rev` names; `unknown-revision` when it names none. */
  async commit(rev: string): Promise<Result<string, Diagnostic[]>> {
    const r = await this.exit(['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    if (!r.ok) return r;
    const sha = r.value.stdout.trim();
    return r.value.code === 0 && /^[0-9a-f]{40,64}$/.test(sha) ? ok(sha) : err([unknownRevision(rev, this.top)]);
  }

  /** The bytes of the blob `spec` (`REV:top-level-path`); undefined when there is none. */
  async blob(spec: string): Promise<Result<Buffer | undefined, Diagnostic[]>> {
    const r = await this.blobs([spec]);
    if (!r.ok) return r;
    const a = r.value[0]!;
    return ok(a.kind === 'blob' ? a.bytes : undefined);
  }

  /**
   * Many objects (`REV:top-level-path` or a sha each) through one `git cat-file --batch`, answered in
   * the order asked. A name git cannot take on one line (holding a newline) is answered missing.
   */
  async blobs(specs: readonly string[]): Promise<Result<BlobAnswer[], Diagnostic[]>> {
    if (specs.length === 0) return ok([]);
    const sendable = specs.filter((s) => !/[\n\r]/.test(s));
    const args = ['cat-file', '--batch'];
    const child = spawn('git', [...this.config.flatMap((c) => ['-c', c]), ...args], { cwd: this.top, stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => chunks.push(d));
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => {}); // a git that failed to start or died: the exit says why
    const closed = new Promise<{ code: number | null; error?: NodeJS.ErrnoException }>((resolve) => {
      child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, error: e }));
      child.on('close', (code) => resolve({ code }));
    });
    child.stdin.end(sendable.map((s) => `${s}\n`).join(''));
    const done = await closed;
    if (done.error) return err([done.error.code === 'ENOENT' ? gitMissing(args) : failure(done.error, this.top, args)]);
    if (done.code !== 0) return err([refusal(this.top, args, done.code ?? undefined, stderr)]);
    const out = Buffer.concat(chunks);
    const answers: BlobAnswer[] = [];
    let pos = 0;
    for (const s of specs) {
      if (/[\n\r]/.test(s)) {
        answers.push({ kind: 'missing' });
        continue;
      }
      const nl = out.indexOf(10, pos);
      if (nl < 0) return err([refusal(this.top, args, 0, `cat-file --batch answered ${answers.length} of ${sendable.length} objects`)]);
      const header = out.subarray(pos, nl).toString('utf8');
      pos = nl + 1;
      const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
      if (!m) {
        // `<name> missing` or `<name> ambiguous`: no object to read.
        answers.push({ kind: 'missing' });
        continue;
      }
      const size = Number(m[2]);
      const body = out.subarray(pos, pos + size);
      pos += size + 1;
      answers.push(m[1] === 'blob' ? { kind: 'blob', bytes: body } : { kind: 'not-blob', type: m[1]! });
    }
    return ok(answers);
  }
}

/**
 * A git failure in the middle of an operation whose earlier git calls succeeded (a `write-tree`
 * refused after `open`): the repository or the machine broke under us, not bad input. Callers that
 * cannot go on without the answer throw it through `must`; the CLI prints its diagnostics and
 * exits 1, as for a full disk. Expected failures never travel this way.
 */
export class GitFailed extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join('; '));
    this.name = 'GitFailed';
  }
}

/** The value of `r`, or a thrown GitFailed (see there). */
export function must<T>(r: Result<T, Diagnostic[]>): T {
  if (r.ok) return r.value;
  throw new GitFailed(r.error);
}
