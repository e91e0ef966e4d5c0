/**
 * The pointer files (`*.dvc`) git knows of in a project: tracked, plus untracked and not ignored.
 * Its own module, free of fast-glob, so `status`'s up-to-date shortcut can ask without loading
 * the walker that data/sources.ts falls back to outside git.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

/** Sorted, deduplicated project-relative paths; undefined when git cannot answer (not a repository, no git). */
export function gitPointerFiles(root: string): string[] | undefined {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '*.dvc', ':!:.dvc/**'], { cwd: root, encoding: 'utf8' });
  if (git.status !== 0) return undefined;
  // Relative to the cwd (the project root), as ls-files answers; a deleted pointer is not one.
  const files = git.stdout.split('\0').filter((f) => f.endsWith('.dvc') && fs.existsSync(path.join(root, f)));
  return [...new Set(files)].sort();
}
