/**
 * RevisionFiles.prefetch (one `git cat-file --batch` for many files at many revisions) on a real
 * repository: `list` and `read` answer exactly what they answer without it, committed files and
 * missing ones then cost no git process, folders are still listed by git, and paths inside cached
 * outs are left to the lockfile and the cache.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GitReader } from '../../../src/metrics/git-reader.js';
import { RevisionFiles } from '../../../src/metrics/revisions.js';
import type { Project } from '../../../src/project.js';

let top: string;
let project: Project;
const git = (...args: string[]) => spawnSync('git', args, { cwd: top, encoding: 'utf8' }).stdout.trim();

beforeAll(() => {
  top = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-prefetch-'));
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 't@example.com');
  git('config', 'user.name', 'T');
  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(top, rel)), { recursive: true });
    fs.writeFileSync(path.join(top, rel), text);
  };
  write('metrics.json', '{"acc": 0.5}\n');
  write('reports/a.json', '{"f1": 0.1}\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'one');
  write('metrics.json', '{"acc": 0.75}\n');
  write('reports/b.yaml', 'f1: 0.2\n');
  write('late.json', '{"x": 1}\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'two');
  project = { root: top, pipelineFile: path.join(top, 'pipeline.yaml'), lockPath: path.join(top, 'mlbuild.lock'), mlcacheDir: path.join(top, '.mlcache'), displayCwd: top };
});
afterAll(() => fs.rmSync(top, { recursive: true, force: true }));

/** The real GitReader, counting the git processes its one-file calls start and what readMany is asked. */
async function countingReader(): Promise<{ reader: GitReader; calls: { read: number; list: number }; batched: string[] }> {
  const opened = await GitReader.open(top);
  if (!opened.ok) throw new Error(opened.error[0]!.message);
  const reader = opened.value;
  const calls = { read: 0, list: 0 };
  const batched: string[] = [];
  const read = reader.read.bind(reader);
  const list = reader.list.bind(reader);
  const readMany = reader.readMany.bind(reader);
  reader.read = (rev, rel) => (calls.read++, read(rev, rel));
  reader.list = (rev, rels) => (calls.list++, list(rev, rels));
  reader.readMany = (reqs) => (batched.push(...reqs.map((r) => `${r.rev}:${r.rel}`)), readMany(reqs));
  return { reader, calls, batched };
}

const PATHS = ['metrics.json', 'late.json', 'reports', 'reports/a.json', 'missing.json', 'model/metrics.json'];

async function everything(files: RevisionFiles, revs: readonly string[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const rev of revs) for (const rel of PATHS) out.push([rev, rel, await files.list(rev, rel), await files.read(rev, rel)]);
  return out;
}

it('list and read answer the same with and without prefetch; prefetched files cost no git process', async () => {
  const revs = [git('rev-parse', 'HEAD~1'), git('rev-parse', 'HEAD')];
  const plain = await countingReader();
  const expected = await everything(new RevisionFiles(project, plain.reader, ['model']), revs);

  const fast = await countingReader();
  const files = new RevisionFiles(project, fast.reader, ['model']);
  await files.prefetch(revs, PATHS);
  // The path inside the cached out `model` is read through the lockfile, never as a git object.
  expect(fast.batched).toEqual(revs.flatMap((rev) => PATHS.filter((p) => !p.startsWith('model/')).map((p) => `${rev}:${p}`)));
  expect(await everything(files, revs)).toEqual(expected);
  expect(expected[0]).toEqual([revs[0], 'metrics.json', ['metrics.json'], { ok: true, text: '{"acc": 0.5}\n' }]);
  expect(expected[1]).toEqual([revs[0], 'late.json', [], { ok: false, reason: `not in ${revs[0]}` }]);
  expect((expected[8] as unknown[])[2]).toEqual(['reports/a.json', 'reports/b.yaml']);
  // Per revision, git is asked only about the folder `reports` (listed, and read as the test asks)
  // and the lockfile (for the cached out); every file came from the batch.
  expect(fast.calls).toEqual({ read: 4, list: 2 });
  expect(plain.calls.read + plain.calls.list).toBeGreaterThan(10);

  // A second prefetch of the same files asks git for nothing.
  await files.prefetch(revs, PATHS);
  expect(fast.batched).toHaveLength(revs.length * (PATHS.length - 1));
});
