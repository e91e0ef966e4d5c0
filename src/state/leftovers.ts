/**
 * Leftovers of runs that died (SIGKILL, power loss): the temp files their atomic writes and cache
 * insertions never renamed into place. They are removed at the start of the next command that holds
 * the project lock and took it over from a dead owner (a clean exit leaves none, so a no-op run
 * pays nothing), and by `gc`. Only temp names whose pid is no longer running are removed: a read-only
 * command of a live process may be writing its own. It never touches anything but such temp names.
 *
 *   <root>/.mlbuild.lock.<pid>.<hex>.tmp, .mlcache/{,state/,params/}.<name>.<pid>.<hex>.tmp   atomic-write.ts
 *   .mlcache/objects/<2>/<hash>.tmp-<pid>-<rand>                          local-store.ts
 *   .mlcache/runs/<2>/<fp>.jsonl.tmp-<pid>, params files' <file>.tmp-<pid>   gc, params-write
 *   .mlcache/lock.<pid>.tmp, lock.takeover.<pid>.tmp                     project-lock.ts
 */
import fs from 'node:fs';
import path from 'node:path';

/** The pid a temp name was made by, or undefined when the name is not one of ours. */
export function tempOwner(name: string): number | undefined {
  const m = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/.exec(name) ?? /\.tmp-(\d+)(?:-[0-9a-z]+)?$/.exec(name) ?? /^lock(?:\.takeover)?\.(\d+)\.tmp$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

const alive = (pid: number): boolean => {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

function sweepDir(dir: string, removed: string[]): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = tempOwner(n);
    if (pid === undefined || alive(pid)) continue;
    const p = path.join(dir, n);
    try {
      fs.rmSync(p, { force: true });
      removed.push(p);
    } catch {
      // Not ours to fight over: leave it for gc.
    }
  }
}

const subdirs = (dir: string): string[] => {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => path.join(dir, e.name));
  } catch {
    return [];
  }
};

/**
 * Removes the temp files of dead processes directly in `.mlcache/` (one readdir of a small folder):
 * run by every acquisition of the project lock, since a run killed while creating the lock leaves
 * `lock.<pid>.tmp` and no lock, so no later run takes a lock over from it.
 */
export function removeTopLeftovers(mlcacheDir: string): string[] {
  const removed: string[] = [];
  sweepDir(mlcacheDir, removed);
  return removed;
}

/**
 * Removes the temp files of dead processes in the project root, its `.mlcache/` and the cache
 * `cacheDir` (the same folder unless experiments share the user's). Returns what it removed.
 */
export function removeLeftovers(root: string, mlcacheDir: string, cacheDir: string = mlcacheDir): string[] {
  const removed: string[] = [];
  sweepDir(root, removed);
  for (const dir of new Set([mlcacheDir, cacheDir])) {
    sweepDir(dir, removed);
    sweepDir(path.join(dir, 'params'), removed);
    sweepDir(path.join(dir, 'state'), removed);
    for (const sub of subdirs(path.join(dir, 'objects'))) sweepDir(sub, removed);
    for (const sub of subdirs(path.join(dir, 'runs'))) sweepDir(sub, removed);
  }
  return removed;
}
