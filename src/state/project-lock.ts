/**
 * One writer per project: `repro`, `exp run`, `gc`, `checkout`, `push`/`pull` hold `.mlcache/lock`.
 * A second process waits, saying who it waits for, instead of failing as DVC's lock does.
 *
 * The lock file holds an owner token `pid start-time nonce`, written to a temp file and hard-linked
 * into place, so the lock never exists without its token. An owner counts as alive only when its
 * pid exists *and* started at the recorded time (from /proc where there is one), so a pid reused by
 * an unrelated process does not keep a dead owner's lock. A stale lock is taken over under a second,
 * short-lived lock (`lock.takeover`): the taker re-reads the lock and removes it only if it still
 * holds the same dead token, so two waiters that both saw the dead owner cannot remove each other's
 * fresh lock. Read-only commands take no lock. It does not clean up after dead runs (leftovers.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { removeTopLeftovers } from './leftovers.js';

export interface ProjectLock {
  release(): void;
  /** The lock was taken over from a dead owner: its temp files may be lying around (leftovers.ts). */
  readonly tookOver: boolean;
}

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), where /proc exists. */
export function processStartTime(pid: number | 'self'): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export interface OwnerToken {
  readonly pid: number;
  /** Start time of the owner process; '-' where it cannot be known. */
  readonly started: string;
  readonly nonce: string;
}

export function parseToken(text: string): OwnerToken | undefined {
  const [pid, started, nonce] = text.trim().split(' ');
  const n = Number(pid);
  // The old format held only a pid: still honoured, with an unknown start time.
  if (!Number.isInteger(n) || n <= 0) return undefined;
  return { pid: n, started: started ?? '-', nonce: nonce ?? '' };
}

const pidExists = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** When `pid` started, in ms since the epoch (/proc's boot time plus its start ticks at USER_HZ 100). */
function startedAtMs(pid: number): number | undefined {
  const ticks = processStartTime(pid);
  if (ticks === undefined) return undefined;
  try {
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    return btime ? Number(btime[1]) * 1000 + Number(ticks) * 10 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True while the process the token names is running: a reused pid with another start time is not
 * it. A token without a start time (older mlbuild) is judged by the lock file's age instead: a
 * process that started after the lock was written cannot own it.
 */
export function ownerAlive(t: OwnerToken, lockMtimeMs?: number): boolean {
  if (!pidExists(t.pid)) return false;
  if (t.started === '-') {
    const at = lockMtimeMs === undefined ? undefined : startedAtMs(t.pid);
    // A second of slack for the coarse tick and boot-time arithmetic.
    return at === undefined || at <= lockMtimeMs! + 1000;
  }
  const now = processStartTime(t.pid);
  return now === undefined || now === t.started;
}

const myToken = (): string => `${process.pid} ${processStartTime('self') ?? '-'} ${randomBytes(6).toString('hex')}`;

/** Links a fresh file holding `token` to `file`; false when `file` exists. */
function tryCreate(file: string, token: string): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, token);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    return false;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

const readText = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** A takeover lock older than this whose owner is dead is itself stale (it is held for microseconds). */
const TAKEOVER_STALE_MS = 10_000;

/** Removes `file` if it still holds `seen` (a dead owner's token), under the takeover lock; false when another holds that. */
export function takeOver(file: string, seen: string): boolean {
  const guard = `${file}.takeover`;
  if (!tryCreate(guard, myToken())) {
    const held = readText(guard);
    const t = held === undefined ? undefined : parseToken(held);
    let age = 0;
    try {
      age = Date.now() - fs.statSync(guard).mtimeMs;
    } catch {
      return true;
    }
    if ((t === undefined || !ownerAlive(t)) && age > TAKEOVER_STALE_MS) fs.rmSync(guard, { force: true });
    return false;
  }
  try {
    if (readText(file) === seen) fs.rmSync(file, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
  return true;
}

export async function acquireProjectLock(mlcacheDir: string, onWait: (ownerPid: number) => void, pollMs = 100): Promise<ProjectLock> {
  fs.mkdirSync(mlcacheDir, { recursive: true });
  const file = path.join(mlcacheDir, 'lock');
  const token = myToken();
  let announced = false;
  let tookOver = false;
  for (;;) {
    if (tryCreate(file, token)) {
      removeTopLeftovers(mlcacheDir);
      return {
        tookOver,
        release: () => {
          // Only the owner ever changes a live lock, so read-then-remove cannot remove another's.
          if (readText(file) === token) fs.rmSync(file, { force: true });
        },
      };
    }
    const seen = readText(file);
    if (seen === undefined) continue; // released between our link and read: retry at once
    const owner = parseToken(seen);
    let mtime: number | undefined;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if (owner === undefined || !ownerAlive(owner, mtime)) {
      // A dead owner (SIGKILL) cannot release it; a torn or foreign lock is as stale.
      if (!takeOver(file, seen)) await new Promise((r) => setTimeout(r, pollMs / 10));
      tookOver = true;
      continue;
    }
    if (!announced) {
      onWait(owner.pid);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
