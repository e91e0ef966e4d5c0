/** GitReader.readMany (one `git cat-file --batch`) answers exactly what read (`git show`) does, on a real repository. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { GitReader } from '../../../src/metrics/git-reader.js';

let top: string;
const git = (...args: string[]) => spawnSync('git', args, { cwd: top, encoding: 'utf8' }).stdout.trim();

beforeAll(() => {
  top = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-batch-'));
  git('init', '-q', '-b', 'main');
  git('config', 'user.email', 't@example.com');
  git('config', 'user.name', 'T');
  // The project lives in a subfolder: paths are project-relative.
  fs.mkdirSync(path.join(top, 'proj', 'metrics'), { recursive: true });
  fs.writeFileSync(path.join(top, 'proj', 'metrics', 'a.json'), '{"acc": 0.5}\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'one');
  fs.writeFileSync(path.join(top, 'proj', 'metrics', 'a.json'), '{"acc": 0.75, "note": "é\\n"}\n');
  fs.writeFileSync(path.join(top, 'proj', 'b.txt'), '');
  git('add', '-A');
  git('commit', '-q', '-m', 'two');
});
afterAll(() => fs.rmSync(top, { recursive: true, force: true }));

it('matches read() for files, a missing file, an empty file and a folder, in order', async () => {
  const opened = await GitReader.open(path.join(top, 'proj'));
  if (!opened.ok) throw new Error(opened.error[0]!.message);
  const reader = opened.value;
  const one = git('rev-parse', 'HEAD~1');
  const reqs = [
    { rev: 'HEAD', rel: 'metrics/a.json' },
    { rev: one, rel: 'metrics/a.json' },
    { rev: one, rel: 'b.txt' },
    { rev: 'HEAD', rel: 'b.txt' },
    { rev: 'HEAD', rel: 'metrics' },
  ];
  const batch = await reader.readMany(reqs);
  expect(batch.slice(0, 4)).toEqual(await Promise.all(reqs.slice(0, 4).map((r) => reader.read(r.rev, r.rel))));
  expect(batch[0]).toEqual({ ok: true, text: '{"acc": 0.75, "note": "é\\n"}\n' });
  expect(batch[2]).toEqual({ ok: false, reason: `not in ${one}` });
  expect(batch[3]).toEqual({ ok: true, text: '' });
  expect(batch[4]).toEqual({ ok: false, reason: 'is a tree in HEAD, not a file' });
  expect(await reader.readMany([])).toEqual([]);
});
