/**
 * Atomic file replacement: write a temp file next to the target (same directory, so the rename
 * never crosses a file system), fsync it, then rename it over the target. A reader sees either the
 * old bytes or the new bytes, never a partial file, and a crash leaves at worst a stray
 * `.<name>.<pid>.<random>.tmp` (which we try to remove on every error path).
 *
 * It does not lock: two writers racing on one path both succeed and the last rename wins.
 * The parent directory is created if needed (`mkdir -p`). After the rename the directory itself
 * is fsynced (best effort; some file systems refuse to open directories) so the rename survives a
 * power loss, not only a process crash. Caches that can be rebuilt may pass `{ fsync: false }`:
 * still atomic, just not flushed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** Name of the temporary sibling used while writing `target`; exported for tests. */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  return path.join(dir, `.${base}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** True for names produced by {@link tempPathFor} (so `gc` or tests can recognise leftovers). */
export function isTempName(name: string): boolean {
  return /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(name);
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Best effort: not every platform/file system allows fsync on a directory.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, 'r');
    await fh.sync();
  } catch {
    // Best effort, as above.
  } finally {
    await fh?.close();
  }
}

export interface AtomicWriteOptions {
  /** Flush the file and its directory to disk (default true). */
  readonly fsync?: boolean;
}

/** Writes `data` to `target` atomically (see module comment). Strings are written as UTF-8. */
export async function atomicWriteFile(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const sync = opts.fsync ?? true;
  const dir = path.dirname(target);
  await fsp.mkdir(dir, { recursive: true });
  const tmp = tempPathFor(target);
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(tmp, 'wx', 0o666);
    await fh.writeFile(data);
    if (sync) await fh.sync();
    await fh.close();
    fh = undefined;
    await fsp.rename(tmp, target);
  } catch (e) {
    if (fh) await fh.close().catch(() => undefined);
    await fsp.rm(tmp, { force: true }).catch(() => undefined);
    throw e;
  }
  if (sync) await fsyncDir(dir);
}

/** Synchronous twin of {@link atomicWriteFile}, for exit paths and hot loops. */
export function atomicWriteFileSync(target: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const sync = opts.fsync ?? true;
  const dir = path.dirname(target);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, 'wx', 0o666);
    fs.writeFileSync(fd, data);
    if (sync) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (e) {
    if (fd !== undefined) {
      try {
        fs.closeSync(fd);
      } catch {
        // already failing; keep the original error
      }
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (sync) fsyncDirSync(dir);
}
