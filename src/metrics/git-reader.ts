/**
 * Reading files as they were at a git revision, through git objects (`git show REV:path`), without
 * checking anything out. simple-git is imported lazily: only `metrics diff` / `params diff` need it.
 */
import path from 'node:path';
import type { SimpleGit } from 'simple-git';

export type ReadResult = { ok: true; text: string } | { ok: false; reason: string };
export type ReadBytes = { ok: true; bytes: Buffer } | { ok: false; reason: string };

export class GitReader {
  private constructor(
    private readonly git: SimpleGit,
    /** The git top-level folder. */
    readonly top: string,
    /** The project root relative to the top-level, POSIX, '' when they are the same. */
    private readonly prefix: string,
  ) {}

  /** A reader for the repository holding `root`, or the reason there is none. */
  static async open(root: string): Promise<GitReader | { failed: string }> {
    const { simpleGit } = await import('simple-git');
    let top: string;
    try {
      top = (await simpleGit(root).revparse(['--show-toplevel'])).trim();
    } catch {
      return { failed: `${root} is not inside a git repository` };
    }
    const prefix = path.relative(top, root).split(path.sep).join('/');
    return new GitReader(simpleGit(top), top, prefix);
  }

  /** The path of a project-relative file relative to the git top-level. */
  gitPath(rel: string): string {
    return this.prefix === '' ? rel : `${this.prefix}/${rel}`;
  }

  /** Whether `rev` names a commit. */
  async verify(rev: string): Promise<boolean> {
    try {
      // With --quiet git prints nothing on failure, and simple-git only throws when stderr is not empty.
      const sha = await this.git.raw(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
      return /^[0-9a-f]{40,64}$/.test(sha.trim());
    } catch {
      return false;
    }
  }

  /** A project-relative file's text at `rev`; a missing file gives `not in REV`. */
  async read(rev: string, rel: string): Promise<ReadResult> {
    try {
      return { ok: true, text: await this.git.show([`${rev}:${this.gitPath(rel)}`]) };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/does not exist|exists on disk, but not in/.test(msg)) return { ok: false, reason: `not in ${rev}` };
      return { ok: false, reason: msg.trim().split('\n')[0] ?? msg };
    }
  }

  /** A project-relative file's bytes at `rev` (images); a missing file gives `not in REV`. */
  async readBytes(rev: string, rel: string): Promise<ReadBytes> {
    try {
      return { ok: true, bytes: await this.git.showBuffer([`${rev}:${this.gitPath(rel)}`]) };
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/does not exist|exists on disk, but not in/.test(msg)) return { ok: false, reason: `not in ${rev}` };
      return { ok: false, reason: msg.trim().split('\n')[0] ?? msg };
    }
  }

  /** Project-relative paths of the files under `rels` (files or folders) at `rev`. */
  async list(rev: string, rels: readonly string[]): Promise<string[]> {
    const out = await this.git.raw(['ls-tree', '-r', '--name-only', '--full-tree', rev, '--', ...rels.map((r) => this.gitPath(r))]);
    const cut = this.prefix === '' ? 0 : this.prefix.length + 1;
    return out
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.slice(cut));
  }
}
