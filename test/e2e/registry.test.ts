import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { useProjects } from './rig.js';
import { publishVersion, readJson, writeGate } from './lifecycle-fixture.js';

const projects = useProjects();

interface ListEntry {
  name: string;
  stages: Record<string, string>;
  versions: { version: string; commit: string; active: boolean; stages: string[] }[];
}

describe('mlbuild model (GTO tags)', () => {
  it('registers, gates, promotes and rolls back in plain git tags, and gets a version back hash-checked from a remote', async () => {
    const p = projects.make();
    await publishVersion(p, { rows: 300, accuracy: 0.8, message: 'model v1' });
    const v1Commit = p.git('rev-parse', 'HEAD').trim();

    let r = await p.run(['model', 'register', 'sentiment', '--version', 'v1.0.0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Registered sentiment@v1\.0\.0: models\/selected \([0-9a-f]{16}\.dir\) at [0-9a-f]{7}/);
    const lockHash = /models\/selected\n\s+hash: ([0-9a-f]{16}\.dir)/.exec(p.read('mlbuild.lock'))?.[1];
    expect(lockHash).toBeDefined();
    // What GTO and plain git see: an annotated tag on the model's commit with GTO's message.
    expect(p.git('tag', '--list').split('\n').filter(Boolean)).toEqual(['sentiment@v1.0.0']);
    expect(p.git('rev-list', '-n', '1', 'sentiment@v1.0.0').trim()).toBe(v1Commit);
    expect(p.git('cat-file', '-t', 'sentiment@v1.0.0').trim()).toBe('tag');
    expect(p.git('tag', '-l', '--format=%(contents)', 'sentiment@v1.0.0').trimEnd()).toBe(`Registering artifact sentiment version v1.0.0\n\nmlbuild-path: models/selected\nmlbuild-hash: ${lockHash}`);

    r = await p.run(['model', 'register', 'sentiment']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/sentiment@v1\.0\.0 is already registered at [0-9a-f]{7}/);

    r = await p.run(['model', 'assign', 'sentiment', 'v1.0.0', '--stage', 'prod']);
    expect(r.code, r.stderr).toBe(0);
    expect(p.git('tag', '-l', '--format=%(contents)', 'sentiment#prod#1').trimEnd()).toBe('Assigning stage prod to artifact sentiment version v1.0.0');

    // v1.1.0: a worse model; the prod gate refuses it, naming metric and margin.
    writeGate(p, 0.01);
    await publishVersion(p, { rows: 60, accuracy: 0.75, C: 0.25, message: 'model v1.1' });
    r = await p.run(['model', 'register', 'sentiment', '--bump', 'minor']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('sentiment@v1.1.0');
    r = await p.run(['model', 'assign', 'sentiment', 'v1.1.0', '--stage', 'prod']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused by its gate: metrics/test.json: logreg.accuracy 0.75 (v1.1.0) is 0.05 below 0.8 (v1.0.0), more than the allowed 0.01');
    expect(p.git('tag', '--list')).not.toContain('sentiment#prod#2');
    r = await p.run(['model', 'assign', 'sentiment', 'v1.1.0', '--stage', 'staging']);
    expect(r.code, r.stderr).toBe(0);
    r = await p.run(['model', 'assign', 'sentiment', 'v1.1.0', '--stage', 'prod', '--force', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 'v1.1.0', stage: 'prod', previous: 'v1.0.0', tags: ['sentiment#prod#3'], gate: [{ metric: 'logreg.accuracy', candidate: 0.75, current: 0.8, passed: false }] });

    // Rollback = assign v1.0.0 again; the higher version is unassigned so GTO's semver view agrees.
    r = await p.run(['model', 'assign', 'sentiment', 'v1.0.0', '--stage', 'prod']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('sentiment#prod -> v1.0.0 (was v1.1.0)');
    expect(p.git('tag', '--list').split('\n').filter(Boolean).sort()).toEqual(['sentiment#prod!#4', 'sentiment#prod#1', 'sentiment#prod#3', 'sentiment#prod#5', 'sentiment#staging#2', 'sentiment@v1.0.0', 'sentiment@v1.1.0'].sort());
    expect(p.git('tag', '-l', '--format=%(contents)', 'sentiment#prod!#4').trimEnd()).toBe("Unassigning stage 'prod' to artifact 'sentiment' version 'v1.1.0'");

    r = await p.run(['model', 'list', '--json']);
    const [entry] = JSON.parse(r.stdout) as ListEntry[];
    expect(entry!.stages).toEqual({ prod: 'v1.0.0', staging: 'v1.1.0' });
    expect(entry!.versions.map((v) => v.version)).toEqual(['v1.1.0', 'v1.0.0']);

    r = await p.run(['model', 'show', 'sentiment', '--json']);
    const show = JSON.parse(r.stdout) as { history: Record<string, { action: string; version: string }[]>; versions: { version: string; metrics: Record<string, Record<string, number>>; stage: string; deps: { path: string }[] }[] };
    expect(show.history.prod!.map((e) => `${e.action} ${e.version}`)).toEqual(['assign v1.0.0', 'assign v1.1.0', 'unassign v1.1.0', 'assign v1.0.0']);
    expect(show.versions.find((v) => v.version === 'v1.0.0')).toMatchObject({ stage: 'publish', metrics: { 'metrics/test.json': { 'logreg.accuracy': 0.8, 'logreg.f1': 0.8 } } });
    r = await p.run(['model', 'show', 'sentiment']);
    expect(r.stdout).toMatch(/stages: prod=v1\.0\.0 staging=v1\.1\.0/);

    // get from the local cache, then from a remote after the cache is gone.
    r = await p.run(['model', 'get', 'sentiment#prod', '-o', 'served']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('from the local cache, hash checked');
    const manifest = readJson<{ flavour: string; files: { path: string }[] }>(p.path('served/mlbuild-model.json'));
    expect(manifest.flavour).toBe('logreg');
    const remote = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-remote-'));
    try {
      expect((await p.run(['remote', 'add', '-d', 'store', remote])).code).toBe(0);
      expect((await p.run(['push'])).code).toBe(0);
      // v1.0.0's objects are only in the cache from before: push every commit's lockfile.
      expect((await p.run(['push', '--all-commits'])).code).toBe(0);
      p.remove('.mlcache');
      r = await p.run(['model', 'get', 'sentiment@v1.0.0', '-o', 'from-remote']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain("from remote 'store', hash checked");
      expect(p.read('from-remote/features.tsv')).toBe(p.read('served/features.tsv'));
      r = await p.run(['model', 'get', 'sentiment@v1.0.0', '-o', 'from-remote']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('exists and is not empty');
      // A corrupted cache object is caught by the hash check, and nothing is left at the target.
      const wanted = fs.readFileSync(p.path('served/features.tsv'));
      const objects = p.path('.mlcache/objects');
      const files = fs.readdirSync(objects, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
      const obj = files.find((f) => fs.readFileSync(f).equals(wanted))!;
      fs.chmodSync(obj, 0o644);
      fs.appendFileSync(obj, 'tampered\n');
      r = await p.run(['model', 'get', 'sentiment@v1.0.0', '-o', 'tampered']);
      expect(r.code).toBe(1);
      // The restore checks each object as it places it: the tampered one is quarantined and named.
      expect(r.stderr).toMatch(/sentiment@v1\.0\.0: cache object [0-9a-f]{16} for '[^']+' is corrupt \(its content hashes to [0-9a-f]{16}\); moved it to /);
      expect(p.exists('tampered')).toBe(false);
      r = await p.run(['model', 'get', 'sentiment@v9.9.9']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("'sentiment' has no version v9.9.9 (versions: v1.1.0, v1.0.0)");
    } finally {
      fs.rmSync(remote, { recursive: true, force: true });
    }
  }, 180_000);

  it("lists a repository registered by GTO itself (DVC's example tags), with no pipeline", async () => {
    const p = projects.make({ 'README.md': 'fixture\n' });
    p.commitAll('one');
    const tag = (name: string, message: string) => p.git('tag', '-a', name, '-m', message);
    tag('text-classification@v1.0.0', 'Registering artifact text-classification version v1.0.0');
    tag('text-classification#prod#1', 'Assigning stage prod to artifact text-classification version v1.0.0');
    p.write({ 'README.md': 'two\n' });
    p.commitAll('two');
    tag('legacy@v0.2.0', 'Registering artifact legacy version v0.2.0');
    tag('legacy#staging', 'deprecated simple notation');
    p.git('tag', 'v1.0.0'); // a release tag: not GTO
    const r = await p.run(['model', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const list = JSON.parse(r.stdout) as ListEntry[];
    expect(list.map((e) => [e.name, e.stages])).toEqual([
      ['legacy', { staging: 'v0.2.0' }],
      ['text-classification', { prod: 'v1.0.0' }],
    ]);
    const text = await p.run(['model', 'list']);
    expect(text.stdout).toMatch(/text-classification\s+v1\.0\.0\s+prod=v1\.0\.0/);
    const show = await p.run(['model', 'show', 'text-classification']);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/prod\s+assign\s+v1\.0\.0\s+text-classification#prod#1/);
  });

  it('rejects bad names and versions with exit 2 and a hint', async () => {
    const p = projects.make({ 'README.md': 'x\n' });
    p.commitAll('x');
    let r = await p.run(['model', 'register', 'bad name!']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid model name 'bad name!'");
    r = await p.run(['model', 'register', 'ok', '--version', '1.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid version '1.0'");
  });
});
