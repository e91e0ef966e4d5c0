/**
 * A remote that is a directory: an NFS or other shared mount, or any local path. Its layout is the
 * cache's (`objects/`, `runs/`). Every write goes to a temp name beside the target and is renamed
 * into place, so a reader on another machine sees a whole object or none.
 *
 * The root must exist: a missing mount point is an error, not an empty folder created on the
 * local disk where nobody else would see the pushed objects.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { tmpName } from '../cache/local-store.js';
import { RemoteUnavailable, type Remote } from './remote.js';

export class DirectoryRemote implements Remote {
  readonly defaultJobs = 4;
  private rootChecked = false;

  constructor(
    readonly name: string,
    readonly description: string,
    private readonly root: string,
  ) {}

  private abs(key: string): string {
    if (!this.rootChecked) {
      let st: fs.Stats | undefined;
      try {
        st = fs.statSync(this.root);
      } catch {
        st = undefined;
      }
      if (!st?.isDirectory()) {
        throw new RemoteUnavailable(
          `remote '${this.name}': directory '${this.root}' does not exist`,
          'mount the shared file system there, or create the directory, or point the remote elsewhere with `mlbuild remote modify NAME url PATH`',
        );
      }
      this.rootChecked = true;
    }
    return path.join(this.root, ...key.split('/'));
  }

  exists(key: string): Promise<boolean> {
    return Promise.resolve(fs.existsSync(this.abs(key)));
  }

  async upload(key: string, src: string, size: number, onBytes: (n: number) => void): Promise<void> {
    const dest = this.abs(key);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = tmpName(dest);
    try {
      await fsp.copyFile(src, tmp);
      await fsp.chmod(tmp, 0o444);
      await fsp.rename(tmp, dest);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    onBytes(size);
  }

  async download(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    const abs = this.abs(key);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(abs, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    return fh.createReadStream({ highWaterMark: 1 << 20 });
  }

  async readText(key: string): Promise<string | undefined> {
    try {
      return await fsp.readFile(this.abs(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async writeText(key: string, text: string): Promise<void> {
    const dest = this.abs(key);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    const tmp = tmpName(dest);
    await fsp.writeFile(tmp, text);
    await fsp.rename(tmp, dest);
  }

  async *list(prefix: string): AsyncIterable<string> {
    const base = this.abs(prefix);
    let entries: fs.Dirent[];
    try {
      entries = await fsp.readdir(base, { withFileTypes: true, recursive: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      if (!e.isFile() || e.name.includes('.tmp-')) continue;
      const rel = path.relative(this.root, path.join(e.parentPath, e.name)).split(path.sep).join('/');
      yield rel;
    }
  }
}
