/**
 * The lockfiles of every git commit that has one (`gc --all-commits`, `push --all-commits`), read
 * from git objects without a checkout: one `rev-list` and one `cat-file --batch` for all of them
 * (git/git.ts). A lockfile that does not parse is a located diagnostic naming the commit.
 */
import path from 'node:path';
import type { Project } from '../project.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';
import { GitRepo } from '../git/git.js';
import { Lockfile } from './lockfile.js';

export async function lockfilesOfAllCommits(project: Project): Promise<Result<{ sha: string; lockfile: Lockfile }[], Diagnostic[]>> {
  const repo = await GitRepo.open(project.root, '--all-commits reads the lockfile of every commit');
  if (!repo.ok) return repo;
  const rel = repo.value.path(path.relative(project.root, project.lockPath).split(path.sep).join('/'));
  const listed = await repo.value.run(['rev-list', '--all', '--', rel]);
  if (!listed.ok) return listed;
  const shas = listed.value.split('\n').filter(Boolean);
  const blobs = await repo.value.blobs(shas.map((sha) => `${sha}:${rel}`));
  if (!blobs.ok) return blobs;
  const found: { sha: string; lockfile: Lockfile }[] = [];
  for (const [i, sha] of shas.entries()) {
    const blob = blobs.value[i]!;
    if (blob.kind !== 'blob') continue;
    const parsed = await Lockfile.parse(blob.bytes.toString('utf8'), `${sha.slice(0, 7)}:${rel}`, project.displayCwd);
    if (!parsed.ok) return err(parsed.error);
    found.push({ sha, lockfile: parsed.value });
  }
  return ok(found);
}
