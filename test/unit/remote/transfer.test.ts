/** Transfer between two real local caches through a DirectoryRemote (real files; no fakes needed). */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FileHasher, type FileRecord } from '../../../src/hashing/file-hasher.js';
import { StatCache } from '../../../src/hashing/stat-cache.js';
import { loadHasher, type Hasher } from '../../../src/hashing/xxhash.js';
import { LocalStore, objectKey } from '../../../src/cache/local-store.js';
import { DirectoryRemote } from '../../../src/remote/directory-remote.js';
import { Transfer, emptyResult, type TransferEvent } from '../../../src/remote/transfer.js';
import { makeTmp, rmTmp, writeTree } from '../hashing/tmp.js';

let hasher: Hasher;
let tmp: string;
beforeAll(async () => {
  hasher = await loadHasher();
});
beforeEach(() => {
  tmp = makeTmp();
});
afterEach(() => rmTmp(tmp));

function cacheAt(name: string): { store: LocalStore; files: FileHasher; root: string } {
  const root = path.join(tmp, name);
  fs.mkdirSync(root, { recursive: true });
  const files = new FileHasher({ root, hasher, statCache: StatCache.inMemory({ root }) });
  return { store: new LocalStore({ root, mlcacheDir: path.join(root, '.mlcache'), files }), files, root };
}

async function saved(c: ReturnType<typeof cacheAt>, tree: Record<string, string>, outs: string[]): Promise<FileRecord[]> {
  writeTree(c.root, tree);
  const records = await Promise.all(outs.map(async (o) => (await c.files.hash(o))!));
  await c.store.save(records);
  return records;
}

describe('Transfer', () => {
  it('pushes each object once and fetches them verified into another cache', async () => {
    const a = cacheAt('a');
    const remoteDir = path.join(tmp, 'remote');
    fs.mkdirSync(remoteDir);
    const records = await saved(a, { 'model/w.bin': 'weights', 'model/cfg.json': '{}', 'summary.txt': 'weights' }, ['model', 'summary.txt']);
    const wanted = records.map((record) => ({ record, neededBy: record.path }));
    const events: TransferEvent[] = [];
    const up = new Transfer(a.store, new DirectoryRemote('r', remoteDir, remoteDir), hasher, 2, { on: (e) => void events.push(e) });
    const r1 = await up.push(wanted);
    // w.bin and summary.txt share content: 2 file objects + 1 manifest.
    expect(r1).toMatchObject({ transferred: 3, present: 0, failed: [], missing: [] });
    expect(events[0]).toEqual({ type: 'transfer-start', direction: 'push', files: 3, bytes: 7 + 2 + fs.statSync(a.store.objectPath(records[0]!.hash)).size, present: 0 });
    const r2 = await new Transfer(a.store, new DirectoryRemote('r', remoteDir, remoteDir), hasher, 2).push(wanted);
    expect(r2).toMatchObject({ transferred: 0, present: 3 });

    const b = cacheAt('b');
    const down = await new Transfer(b.store, new DirectoryRemote('r', remoteDir, remoteDir), hasher, 4).fetch(wanted);
    expect(down).toMatchObject({ transferred: 3, failed: [], missing: [] });
    expect(await b.store.has(records)).toBe(true);
  });

  it('finds what the remote lacks by listing crowded folders and asking about lone objects', async () => {
    const a = cacheAt('a');
    const remoteDir = path.join(tmp, 'remote');
    fs.mkdirSync(remoteDir);
    const tree = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`d/f${i}.txt`, `file ${i}\n`]));
    const [rec] = await saved(a, tree, ['d']);
    const wanted = [{ record: rec!, neededBy: 'd' }];
    const transfer = () => new Transfer(a.store, new DirectoryRemote('r', remoteDir, remoteDir), hasher, 4);
    expect(await transfer().push(wanted)).toMatchObject({ transferred: 601, present: 0 });
    // Remove two objects of crowded folders (found by listing) and the manifest.
    const entries = a.store.readManifest(rec!.hash)!;
    const crowded = entries.filter((e) => entries.filter((x) => x.hash.slice(0, 2) === e.hash.slice(0, 2)).length >= 4).slice(0, 2);
    expect(crowded.length).toBe(2);
    for (const h of [...crowded.map((e) => e.hash), rec!.hash]) fs.rmSync(path.join(remoteDir, objectKey(h)));
    expect(await transfer().push(wanted)).toMatchObject({ transferred: 3, present: 598 });
    expect(await transfer().push(wanted)).toMatchObject({ transferred: 0, present: 601 });
  });

  it('rejects an object whose bytes do not hash to its name; the local cache never holds it', async () => {
    const a = cacheAt('a');
    const remoteDir = path.join(tmp, 'remote');
    fs.mkdirSync(remoteDir);
    const [rec] = await saved(a, { 'x.txt': 'hello\n' }, ['x.txt']);
    const wanted = [{ record: rec!, neededBy: "x.txt (stage 's')" }];
    await new Transfer(a.store, new DirectoryRemote('r', remoteDir, remoteDir), hasher, 1).push(wanted);
    const obj = path.join(remoteDir, objectKey(rec!.hash));
    fs.chmodSync(obj, 0o644);
    fs.writeFileSync(obj, 'HELLO\n');
    const b = cacheAt('b');
    const r = await new Transfer(b.store, new DirectoryRemote('r', remoteDir, remoteDir), hasher, 1).fetch(wanted, emptyResult());
    expect(r.failed).toEqual([{ object: objectKey(rec!.hash), neededBy: "x.txt (stage 's')", message: expect.stringContaining(`corrupt remote object ${objectKey(rec!.hash)} rejected: its content hashes to`) as string }]);
    expect(fs.existsSync(b.store.objectPath(rec!.hash))).toBe(false);
    expect(fs.readdirSync(path.dirname(b.store.objectPath(rec!.hash)))).toEqual([]);
    // Missing on the remote is its own kind of failure.
    fs.rmSync(obj, { force: true });
    const gone = await new Transfer(b.store, new DirectoryRemote('r', remoteDir, remoteDir), hasher, 1).fetch(wanted);
    expect(gone.missing).toEqual([{ object: objectKey(rec!.hash), neededBy: "x.txt (stage 's')", message: "not on remote 'r'" }]);
  });
});
