/**
 * Reading project files as they were at a git revision, through git objects, without checking
 * anything out: the reads `metrics`, `params`, `plots`, `exp show`, `model` and the ui make. Git
 * itself runs through git/git.ts; this module turns its answers into per-file reasons ("not in
 * REV"), which the diff tables keep beside the values.
 */
import type { Diagnostic } from '../report/diagnostic.js';
import { GitRepo, type BlobAnswer } from '../git/git.js';
import { type Result, ok } from '../util/result.js';

export type ReadResult = { ok: true; text: string } | { ok: false; reason: string };
export type ReadBytes = { ok: true; bytes: Buffer } | { ok: false; reason: string };

const reasonOf = (a: Exclude<BlobAnswer, { kind: 'blob' }>, rev: string): string => (a.kind === 'missing' ? `not in ${rev}` : `is a ${a.type} in ${rev}, not a file`);

export class GitReader {
  private constructor(readonly repo: GitRepo) {}

  /** The git top-level folder. */
  get top(): string {
    return this.repo.top;
  }

  /** A reader for the repository holding `root`; `why` ends the not-a-repository message. */
  static async open(root: string, why?: string): Promise<Result<GitReader, Diagnostic[]>> {
    const repo = await GitRepo.open(root, why);
    return repo.ok ? ok(new GitReader(repo.value)) : repo;
  }

  /** The path of a project-relative file relative to the git top-level. */
  gitPath(rel: string): string {
    return this.repo.path(rel);
  }

  /** The commit `rev` names, or the `unknown-revision` diagnostic. */
  verify(rev: string): Promise<Result<string, Diagnostic[]>> {
    return this.repo.commit(rev);
  }

  /** A project-relative file's text at `rev`; a missing file gives `not in REV`. */
  async read(rev: string, rel: string): Promise<ReadResult> {
    const [r] = await this.readAll([{ rev, rel }]);
    return r!;
  }

  /**
   * Many project-relative files at many revisions through one `git cat-file --batch`, in the order
   * asked: for the ui's metrics over hundreds of commits, where a process per file would dominate.
   */
  readMany(reqs: readonly { rev: string; rel: string }[]): Promise<ReadResult[]> {
    return this.readAll(reqs);
  }

  private async readAll(reqs: readonly { rev: string; rel: string }[]): Promise<ReadResult[]> {
    const got = await this.repo.blobs(reqs.map((r) => `${r.rev}:${this.gitPath(r.rel)}`));
    if (!got.ok) return reqs.map(() => ({ ok: false, reason: got.error[0]!.message }));
    return got.value.map((a, i) => (a.kind === 'blob' ? { ok: true, text: a.bytes.toString('utf8') } : { ok: false, reason: reasonOf(a, reqs[i]!.rev) }));
  }

  /** A project-relative file's bytes at `rev` (images); a missing file gives `not in REV`. */
  async readBytes(rev: string, rel: string): Promise<ReadBytes> {
    const got = await this.repo.blobs([`${rev}:${this.gitPath(rel)}`]);
    if (!got.ok) return { ok: false, reason: got.error[0]!.message };
    const a = got.value[0]!;
    return a.kind === 'blob' ? { ok: true, bytes: a.bytes } : { ok: false, reason: reasonOf(a, rev) };
  }

  /** Project-relative paths of the files under `rels` (files or folders) at `rev`. */
  async list(rev: string, rels: readonly string[]): Promise<Result<string[], Diagnostic[]>> {
    const out = await this.repo.run(['ls-tree', '-r', '--name-only', '--full-tree', '-z', rev, '--', ...rels.map((r) => this.gitPath(r))]);
    if (!out.ok) return out;
    const cut = this.repo.prefix === '' ? 0 : this.repo.prefix.length + 1;
    return ok(
      out.value
        .split('\0')
        .filter((l) => l !== '')
        .map((l) => l.slice(cut)),
    );
  }
}
