/**
 * One writer per project: `repro`, `gc` and `checkout` hold `.mlcache/lock` (created atomically by
 * link(2), holding the owner's pid). A second process waits, saying who it waits for, instead of failing
 * as DVC's lock does; a lock whose owner is dead is taken over. Read-only commands take no lock.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface ProjectLock {
  release(): void;
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

export async function acquireProjectLock(mlcacheDir: string, onWait: (ownerPid: number) => void, pollMs = 100): Promise<ProjectLock> {
  fs.mkdirSync(mlcacheDir, { recursive: true });
  const file = path.join(mlcacheDir, 'lock');
  let announced = false;
  for (;;) {
    // Written to a temp file and hard-linked into place, so the lock never exists without its pid.
    const tmp = `${file}.${process.pid}`;
    fs.writeFileSync(tmp, String(process.pid));
    try {
      fs.linkSync(tmp, file);
      fs.rmSync(tmp, { force: true });
      return {
        release: () => {
          try {
            if (fs.readFileSync(file, 'utf8') === String(process.pid)) fs.rmSync(file);
          } catch {
            // Already gone.
          }
        },
      };
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(file, 'utf8'));
    } catch {
      continue; // Released between our open and read: retry at once.
    }
    if (!Number.isInteger(owner) || owner <= 0 || !isAlive(owner)) {
      // A dead owner (killed with SIGKILL) cannot release it; a half-written lock is as stale.
      fs.rmSync(file, { force: true });
      continue;
    }
    if (!announced) {
      onWait(owner);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
