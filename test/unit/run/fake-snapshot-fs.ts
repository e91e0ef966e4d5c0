/** A fake file system for the fresh snapshot's tests: stats with nanosecond times, a clock, and content. */
import type { SnapStat, SnapshotIo } from '../../../src/run/fresh-snapshot.js';

export class FakeFs implements SnapshotIo {
  readonly files = new Map<string, { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint; dir: boolean; content?: string }>();
  nowMs = 1_000_000;
  #ino = 100n;
  statCalls = 0;

  /** Writes a file (or folder) now: mtime and ctime are the clock, a new inode unless `inPlace`. */
  put(abs: string, content = '', opts: { dir?: boolean; inPlace?: boolean } = {}): void {
    const old = this.files.get(abs);
    const ns = BigInt(this.nowMs) * 1_000_000n;
    const ino = opts.inPlace && old ? old.ino : this.#ino++;
    this.files.set(abs, { ino, size: BigInt(content.length), mtimeNs: ns, ctimeNs: ns, dir: opts.dir ?? false, content });
    const parent = abs.slice(0, abs.lastIndexOf('/'));
    const p = this.files.get(parent);
    if (p && !old) p.mtimeNs = p.ctimeNs = ns; // a new entry changes its folder
  }

  remove(abs: string): void {
    this.files.delete(abs);
    const p = this.files.get(abs.slice(0, abs.lastIndexOf('/')));
    if (p) p.mtimeNs = p.ctimeNs = BigInt(this.nowMs) * 1_000_000n;
  }

  stat(abs: string): SnapStat | undefined {
    this.statCalls++;
    const f = this.files.get(abs);
    if (!f) return undefined;
    return { dev: 1n, ino: f.ino, size: f.size, mtimeNs: f.mtimeNs, ctimeNs: f.ctimeNs, isDirectory: () => f.dir, isFile: () => !f.dir };
  }

  readdir(abs: string): string[] {
    const prefix = abs + '/';
    return [...this.files.keys()].filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/')).map((k) => k.slice(prefix.length));
  }

  readFile(abs: string): Uint8Array | undefined {
    const f = this.files.get(abs);
    return f ? Buffer.from(f.content ?? '') : undefined;
  }

  hashBytes(b: Uint8Array): string {
    return 'h:' + Buffer.from(b).toString();
  }
}

/**
 * The two-stage project both snapshot tests use: `prep` reads data/ (a folder) and writes mid.txt;
 * `train` reads mid.txt (and, where a test says so, params.yaml) and writes model.bin.
 */
export function project(): FakeFs {
  const fs = new FakeFs();
  fs.put('/p', '', { dir: true });
  fs.put('/p/data', '', { dir: true });
  fs.put('/p/data/a.csv', 'aaa');
  fs.put('/p/data/b.csv', 'bbb');
  fs.put('/p/mid.txt', 'mid');
  fs.put('/p/model.bin', 'model');
  fs.put('/p/pipeline.yaml', 'stages: ...');
  fs.put('/p/mlbuild.lock', 'lock');
  return fs;
}
