/**
 * Source inputs for the rebuild: deps no stage produces. Code and small files come from git with
 * the worktree; data that is not committed must be placed, and only by the hash HEAD's lockfile
 * recorded for it, so verify rebuilds from the inputs the lock describes:
 *   1. already in the worktree (committed): used as is; a hash that differs from the lock is left
 *      for the stage's verdict (the lockfile is stale), never "fixed" from the workspace;
 *   2. else from the local cache by its locked hash (it was an out once, or an earlier verify);
 *   3. else copied from the user's workspace after checking its hash matches the lock;
 *   4. else a located failure naming the path, both hashes and what to do.
 * A dep no committed entry records (a new stage) is copied from the workspace when there, since
 * that stage is reported stale anyway. Copies are reflinks where the file system has them; never
 * links, so a stage that writes into its input cannot touch the user's files or cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileHasher, FileRecord } from '../hashing/file-hasher.js';
import type { CacheStore } from '../cache/store.js';
import { CorruptObjectError } from '../cache/integrity.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';

export type InputSource = 'git' | 'cache' | 'workspace';

export interface PlacedInput {
  readonly path: string;
  readonly source: InputSource;
  /** The hash HEAD's lockfile records for it (absent for deps of stages with no entry). */
  readonly locked?: string;
}

export interface SourceDep {
  readonly path: string;
  readonly locked: FileRecord | undefined;
}

export interface InputPlaces {
  readonly worktreeRoot: string;
  readonly workspaceRoot: string;
  /** Hashes files in the worktree. */
  readonly worktreeFiles: FileHasher;
  /** Hashes files in the user's workspace (read only). */
  readonly workspaceFiles: FileHasher;
  /** The user's cache, restoring into the worktree. */
  readonly cache: CacheStore;
}

const copyInto = (from: string, to: string): void => {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true, mode: fs.constants.COPYFILE_FICLONE, dereference: true, errorOnExist: false, force: true });
};

export async function placeSourceInputs(deps: readonly SourceDep[], at: InputPlaces): Promise<Result<PlacedInput[], Diagnostic[]>> {
  const placed: PlacedInput[] = [];
  const problems: Diagnostic[] = [];
  for (const { path: rel, locked } of deps) {
    const base = locked ? { path: rel, locked: locked.hash } : { path: rel };
    if ((await at.worktreeFiles.hash(rel)) !== undefined) {
      placed.push({ ...base, source: 'git' });
      continue;
    }
    if (locked && (await at.cache.has([locked]))) {
      try {
        await at.cache.restore([locked]);
        at.worktreeFiles.invalidate(rel);
        placed.push({ ...base, source: 'cache' });
        continue;
      } catch (e) {
        // The restore checks what it places: a corrupt object is quarantined and named; the
        // workspace copy below may still serve.
        if (!(e instanceof CorruptObjectError)) throw e;
        at.worktreeFiles.invalidate(rel);
      }
    }
    const mine = await at.workspaceFiles.hash(rel);
    if (mine && (!locked || mine.hash === locked.hash)) {
      copyInto(path.join(at.workspaceRoot, rel), path.join(at.worktreeRoot, rel));
      at.worktreeFiles.invalidate(rel);
      placed.push({ ...base, source: 'workspace' });
      continue;
    }
    if (!locked) continue; // nowhere to be found and nothing recorded: the rebuild names the missing dep
    problems.push({
      severity: 'error',
      code: 'verify-input',
      message:
        `input '${rel}' is not committed to git, and neither the cache nor the workspace has the version HEAD's lockfile records ` +
        `(${locked.hash}${mine ? `; the workspace copy hashes to ${mine.hash}` : '; there is no workspace copy'})`,
      hint: `put the recorded version of '${rel}' in the workspace or the cache (e.g. restore the cache in CI, or \`git checkout\` the commit that made it and run \`mlbuild repro\`), or commit it`,
    });
  }
  return problems.length > 0 ? err(problems) : ok(placed);
}
