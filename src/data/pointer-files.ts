/**
 * The pointer files (`*.dvc`) git knows of in a project: tracked, plus untracked and not ignored.
 * Its own module, free of fast-glob, so `status`'s up-to-date shortcut can ask without loading
 * the walker that data/sources.ts falls back to outside git.
 */
import fs from 'node:fs';
import path from 'node:path';
import { gitSync } from '../git/git.js';

/** Sorted, deduplicated project-relative paths; undefined when git cannot answer (not a repository, no git). */
export function gitPointerFiles(root: string): string[] | undefined {
  // Synchronous: pointerFor is called from a stage run's synchronous missing-dep callback (git/git.ts says why).
  const git = gitSync(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '*.dvc', ':!:.dvc/**']);
  if (!git.ok) return undefined;
  // Relative to the cwd (the project root), as ls-files answers; a deleted pointer is not one.
  const files = git.value.split('\0').filter((f) => f.endsWith('.dvc') && fs.existsSync(path.join(root, f)));
  return [...new Set(files)].sort();
}
