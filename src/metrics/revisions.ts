/**
 * Reading a declared out (a metrics or plots file) as it is in the workspace or was at a git
 * revision, without checking anything out: a committed file through git objects, a cached out
 * through that revision's lockfile and the local cache. Shared by `metrics`, `params` and `plots`
 * so they agree on what a revision holds. Failures are reasons, never exceptions.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import { LOCKFILE_NAME } from '../project.js';
import { Lockfile } from '../state/lockfile.js';
import { objectPathIn } from '../cache/local-store.js';
import { type Result, err, ok } from '../util/result.js';
import { GitReader, type ReadResult } from './git-reader.js';

/** The revision name of the files on disk. */
export const WORKSPACE = 'workspace';

export function readWorkspaceFile(project: Project, rel: string): ReadResult {
  try {
    return { ok: true, text: fs.readFileSync(path.join(project.root, ...rel.split('/')), 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `not in ${WORKSPACE}` : `cannot read: ${code ?? String(e)}` };
  }
}

/** Reads the cached out `rel` as recorded in `rev`'s lockfile, from the local cache. */
async function readCachedAtRev(project: Project, git: GitReader, rev: string, rel: string): Promise<ReadResult> {
  const lockText = await git.read(rev, LOCKFILE_NAME);
  if (!lockText.ok) return { ok: false, reason: `cached out, and ${LOCKFILE_NAME} is ${lockText.reason}` };
  const lock = Lockfile.parse(lockText.text, project.lockPath, project.displayCwd);
  if (!lock.ok) return { ok: false, reason: `cannot parse ${LOCKFILE_NAME} at ${rev}: ${lock.error[0]?.message ?? 'invalid'}` };
  let hash: string | undefined;
  for (const name of lock.value.names()) {
    const rec = lock.value.get(name)?.outs.find((o) => o.path === rel);
    if (rec) hash = rec.hash;
  }
  if (hash === undefined) return { ok: false, reason: `not recorded in ${LOCKFILE_NAME} at ${rev}` };
  try {
    return { ok: true, text: fs.readFileSync(objectPathIn(project.mlcacheDir, hash), 'utf8') };
  } catch {
    return { ok: false, reason: `cache object ${hash} (from ${LOCKFILE_NAME} at ${rev}) is not in the cache` };
  }
}

/** The text of the out `{path, cache}` at `rev` (WORKSPACE: on disk; `git` is needed for any other). */
export function readOutAt(project: Project, git: GitReader | undefined, rev: string, out: { readonly path: string; readonly cache: boolean }): Promise<ReadResult> {
  if (rev === WORKSPACE || git === undefined) return Promise.resolve(readWorkspaceFile(project, out.path));
  return out.cache ? readCachedAtRev(project, git, rev, out.path) : git.read(rev, out.path);
}

/**
 * Opens git (when a revision other than the workspace is named) and checks every revision names a
 * commit; the error is the message for the user (exit 2).
 */
export async function openRevisions(project: Project, revs: readonly string[]): Promise<Result<{ git: GitReader | undefined }, string>> {
  if (revs.every((r) => r === WORKSPACE)) return ok({ git: undefined });
  const git = await GitReader.open(project.root);
  if (!(git instanceof GitReader)) return err(`${git.failed}; revisions are read from git`);
  for (const rev of revs) {
    if (rev !== WORKSPACE && !(await git.verify(rev))) return err(`unknown revision '${rev}': not a commit, branch or tag in this repository`);
  }
  return ok({ git });
}
