/**
 * ensureDir: `mkdir -p` that remembers the directories it made (or found) in this process, so a
 * 1000-stage run does not ask the kernel 1000 times for `.mlcache/logs` or `objects/ab`. Only for
 * directories mlbuild owns or the parents of declared outs, which nothing is expected to delete
 * during a run (it never removes them itself). If something else removes one anyway, a write there
 * fails with ENOENT, and `retryingDir` re-creates the directory and retries once.
 */
import fs from 'node:fs';

const made = new Set<string>();

export function ensureDir(dir: string): void {
  if (made.has(dir)) return;
  fs.mkdirSync(dir, { recursive: true });
  made.add(dir);
}

/** Runs `write`; on ENOENT (the directory was removed behind our back) re-creates `dir` and retries once. */
export function retryingDir<T>(dir: string, write: () => T): T {
  try {
    return write();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    made.delete(dir);
    ensureDir(dir);
    return write();
  }
}
