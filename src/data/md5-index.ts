/**
 * DVC hashes of content mlbuild already knows by xxh64: `.mlcache/state/md5-index.json`, mapping
 * `<kind>:<xxh64>` to the md5 of the same bytes (files) or listing (`.dir`). It lets `status`
 * compare data with a `.dvc` pointer or `dvc.lock` through the stat cache instead of re-reading
 * the data with md5, and lets a push to a DVC remote name objects without rehashing them. Entries
 * are facts about content, so they never go stale; a lost index only costs rehashing.
 *
 * `md5Of` computes (and learns) the md5 of a workspace path. It writes nothing but the index.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { FileHasher, FileRecord } from '../hashing/file-hasher.js';
import { md5OfFile, md5OfTree, type Md5Kind } from '../hashing/md5.js';
import { atomicWriteFileSync } from '../util/atomic-write.js';

export class Md5Index {
  private dirty = false;
  /** `<kind>:<md5>` -> xxh64, for fetches that know only the md5. */
  private readonly reverse = new Map<string, string>();

  private constructor(
    private readonly file: string | undefined,
    private readonly map: Map<string, string>,
  ) {
    for (const [k, md5] of map) this.reverse.set(`${k.slice(0, k.indexOf(':'))}:${md5}`, k.slice(k.indexOf(':') + 1));
  }

  static load(mlcacheDir: string | undefined): Md5Index {
    const file = mlcacheDir ? path.join(mlcacheDir, 'state', 'md5-index.json') : undefined;
    const map = new Map<string, string>();
    if (file) {
      try {
        for (const [k, v] of Object.entries(JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>)) map.set(k, v);
      } catch {
        // No index yet (or a torn one): start empty.
      }
    }
    return new Md5Index(file, map);
  }

  get(xxh: string, kind: Md5Kind): string | undefined {
    return this.map.get(`${kind}:${xxh}`);
  }

  /** The xxh64 of content whose md5 is `md5`, if some earlier hash or fetch saw it. */
  xxhOf(md5: string, kind: Md5Kind): string | undefined {
    return this.reverse.get(`${kind}:${md5}`);
  }

  set(xxh: string, kind: Md5Kind, md5: string): void {
    const k = `${kind}:${xxh}`;
    if (this.map.get(k) === md5) return;
    this.map.set(k, md5);
    this.reverse.set(`${kind}:${md5}`, xxh);
    this.dirty = true;
  }

  save(): void {
    if (!this.dirty || !this.file) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    atomicWriteFileSync(this.file, JSON.stringify(Object.fromEntries([...this.map].sort(([a], [b]) => (a < b ? -1 : 1)))));
    this.dirty = false;
  }
}

/** A workspace path's xxh64 record and its md5 of `kind`; undefined when the path does not exist. */
export async function md5Of(files: FileHasher, index: Md5Index, root: string, p: string, kind: Md5Kind): Promise<{ record: FileRecord; md5: string } | undefined> {
  const record = await files.hash(p);
  if (!record) return undefined;
  const known = index.get(record.hash, kind);
  if (known) return { record, md5: known };
  const abs = path.isAbsolute(p) ? p : path.join(root, p);
  let md5: string;
  if (record.hash.endsWith('.dir')) {
    const entries = files.manifestSync(p) ?? [];
    md5 = md5OfTree(
      entries.map((e) => {
        let m = index.get(e.hash, kind);
        if (!m) {
          m = md5OfFile(path.join(abs, e.relpath), kind);
          index.set(e.hash, kind, m);
        }
        return { relpath: e.relpath, md5: m };
      }),
    );
  } else {
    md5 = md5OfFile(abs, kind);
  }
  index.set(record.hash, kind, md5);
  return { record, md5 };
}
