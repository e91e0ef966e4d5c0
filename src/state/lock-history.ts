/**
 * The lockfiles of every git commit that has one (`gc --all-commits`, `push --all-commits`), read
 * from git objects without a checkout. A lockfile that does not parse is a located diagnostic
 * naming the commit.
 */
import path from 'node:path';
import type { Project } from '../project.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';
import { Lockfile } from './lockfile.js';

export async function lockfilesOfAllCommits(project: Project): Promise<Result<{ sha: string; lockfile: Lockfile }[], Diagnostic[]>> {
  const { simpleGit } = await import('simple-git');
  const git = simpleGit(project.root);
  const rel = path.relative(await git.revparse(['--show-toplevel']), project.lockPath).split(path.sep).join('/');
  const shas = (await git.raw(['rev-list', '--all', '--', rel])).split('\n').filter(Boolean);
  const found: { sha: string; lockfile: Lockfile }[] = [];
  for (const sha of shas) {
    const text = await git.show([`${sha}:${rel}`]).catch(() => undefined);
    if (text === undefined) continue;
    const parsed = Lockfile.parse(text, `${sha.slice(0, 7)}:${rel}`, project.displayCwd);
    if (!parsed.ok) return err(parsed.error);
    found.push({ sha, lockfile: parsed.value });
  }
  return ok(found);
}
