/**
 * The launcher (bin/mlbuild) and the V8 startup snapshot it starts `repro` and `status` from
 * (dist/snapshot/, cli/snapshot-entry.ts), through the built CLI: the answers are exactly those of
 * `node bin/mlbuild.js`, changes made right after a record are seen, a declined check hands over to
 * the full command, and a blob that may not fit the node on PATH is never used. Which way the
 * launcher went is read from `sh -x`'s trace of its exec line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, LAUNCHER, REPO_ROOT, useProjects, type Project, type RunResult } from './rig.js';
import { QUICK, SNAP, settled as settledProject } from './snapshot-fixture.js';

const projects = useProjects();

interface Traced extends RunResult {
  /** Whether the launcher exec'd node with the startup snapshot. */
  readonly blob: boolean;
}

/** Runs `launcher args` under `sh -x` in `cwd`; stderr without the trace lines. */
function traced(launcher: string, args: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<Traced> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-x', launcher, ...args], { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...QUICK, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => {
      const lines = stderr.split('\n');
      const execs = lines.filter((l) => l.startsWith('+ exec '));
      expect(execs).toHaveLength(1);
      resolve({ code, stdout, blob: execs[0]!.includes('--snapshot-blob'), stderr: lines.filter((l) => !l.startsWith('+ ')).join('\n') });
    });
  });
}

/** Elapsed times are the only thing two answers may differ in. */
const timeless = (s: string): string => s.replace(/in \d+ms/g, 'in Nms').replace(/"elapsed_ms": [\d.]+/g, '"elapsed_ms": N');

/** A built, committed project whose fresh snapshot proves everything up to date. */
const settled = (): Promise<Project> => settledProject(projects.make, { commit: true });

describe('bin/mlbuild and the startup snapshot', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(REPO_ROOT, 'dist/snapshot/mlbuild.blob'))) throw new Error('dist/snapshot/mlbuild.blob is missing: `npm run build` makes it');
  });

  it('answers a no-op repro and status from the blob, byte for byte as node bin/mlbuild.js does', async () => {
    const p = await settled();
    const snap = fs.statSync(p.path(SNAP), { bigint: true }).mtimeNs;
    for (const args of [['repro'], ['repro', '--json'], ['repro', '-j', '2'], ['status'], ['status', '--json'], ['status', '--check'], ['-f', 'pipeline.yaml', 'status']]) {
      const fast = await traced(LAUNCHER, args, p.dir);
      const plain = await p.run(args, { env: { ...QUICK, PATH: process.env.PATH ?? '' } }); // PATH given: the rig runs bin/mlbuild.js
      expect({ args, blob: fast.blob }).toEqual({ args, blob: true });
      expect([fast.code, timeless(fast.stdout), fast.stderr]).toEqual([plain.code, timeless(plain.stdout), plain.stderr]);
      expect(fast.code).toBe(0);
    }
    // Answered, not re-recorded: the fresh snapshot is the one the settling run wrote.
    expect(fs.statSync(p.path(SNAP), { bigint: true }).mtimeNs).toBe(snap);
    // A touched pipeline file with the same content: the blob hashes it (loading the hasher) and still answers.
    const old = Date.now() / 1000 - 30;
    fs.utimesSync(p.path('pipeline.yaml'), old, old);
    const touched = await traced(LAUNCHER, ['repro'], p.dir);
    expect([touched.blob, touched.code]).toEqual([true, 0]);
    expect(touched.stdout).toMatch(/^Done: 0 ran, 0 restored, 2 unchanged in \d+ms\n$/);
    expect(fs.statSync(p.path(SNAP), { bigint: true }).mtimeNs).toBe(snap);
    // Other commands never take the blob.
    const dag = await traced(LAUNCHER, ['dag'], p.dir);
    expect([dag.code, dag.blob]).toEqual([0, false]);
    expect(dag.stdout).toContain('prepare');
  });

  it('an edit in the same second as the last record, same size and mtime, is seen through the blob', async () => {
    const p = await settled();
    const raw = p.path('data/raw.txt');
    const tick = Math.floor(fs.statSync(raw).mtimeMs / 1000);
    // The record and the edit share one whole-second mtime, as on a file system with a 1 s clock.
    fs.utimesSync(raw, tick, tick);
    expect((await p.repro([], { env: QUICK })).outcomes).toEqual({ prepare: 'fresh', train: 'fresh' });
    const before = fs.statSync(raw);
    fs.writeFileSync(raw, 'd\nc\n');
    fs.utimesSync(raw, tick, tick);
    const after = fs.statSync(raw);
    expect([after.size, after.mtimeMs, after.ino]).toEqual([before.size, before.mtimeMs, before.ino]);
    const status = await traced(LAUNCHER, ['status', '--check'], p.dir);
    expect([status.blob, status.code]).toEqual([true, 1]);
    expect(status.stdout).toContain('prepare:');
    // Without the env knob: the default 2 s racy window, an edit right after the record.
    const r = await traced(LAUNCHER, ['repro', '--json'], p.dir, { MLBUILD_RACY_WINDOW_MS: undefined });
    expect(r.blob).toBe(true);
    expect((JSON.parse(r.stdout) as { stages: { name: string; outcome: string }[] }).stages.map((s) => [s.name, s.outcome])).toEqual([
      ['prepare', 'succeeded'],
      ['train', 'succeeded'],
    ]);
    expect(p.read('model.txt')).toBe('lr=0.1\nc\nd\n');
    fs.writeFileSync(raw, 'e\nf\n'); // right after that run: racy, re-checked by content
    const again = await traced(LAUNCHER, ['repro'], p.dir, { MLBUILD_RACY_WINDOW_MS: undefined });
    expect(again.stdout).toContain('Done: 2 ran');
    expect(p.read('model.txt')).toBe('lr=0.1\ne\nf\n');
  });

  it('a changed dep found by the blob is run by the full command in the same process, with the same result as from scratch', async () => {
    const p = await settled();
    p.write({ 'params.yaml': 'train:\n  lr: 0.3\n', 'data/raw.txt': 'q\np\n' });
    const r = await traced(LAUNCHER, ['repro', '--json'], p.dir);
    expect([r.blob, r.code]).toEqual([true, 0]);
    expect((JSON.parse(r.stdout) as { stages: { outcome: string }[] }).stages.map((s) => s.outcome)).toEqual(['succeeded', 'succeeded']);
    expect(p.read('model.txt')).toBe('lr=0.3\np\nq\n');
    // A usage error after the blob declined is still the full command's: exit 2, its message.
    const bad = await traced(LAUNCHER, ['repro', '--jobs', 'x'], p.dir);
    expect([bad.blob, bad.code]).toEqual([true, 2]);
    expect(bad.stderr).toContain('--jobs');
  });

  describe('a blob that may not fit the node on PATH is not used', () => {
    let copy: string;
    let bin: string;
    let blob: string;
    beforeAll(() => {
      // A copy of the built CLI, so its dist/snapshot/node link can be pointed elsewhere.
      copy = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-launcher-'));
      for (const f of ['bin', 'dist', 'package.json']) fs.cpSync(path.join(REPO_ROOT, f), path.join(copy, f), { recursive: true, verbatimSymlinks: true });
      bin = path.join(copy, 'path-bin');
      fs.mkdirSync(bin);
      blob = path.join(copy, 'dist/snapshot/mlbuild.blob');
    });
    afterAll(() => fs.rmSync(copy, { recursive: true, force: true }));

    const linkNode = (target: string): void => {
      fs.rmSync(path.join(copy, 'dist/snapshot/node'));
      fs.symlinkSync(target, path.join(copy, 'dist/snapshot/node'));
    };
    const onPath = (): Record<string, string> => ({ PATH: `${bin}:${process.env.PATH ?? ''}` });

    it('another node binary (a copy, or a version manager shim), or one newer than the blob', async () => {
      const p = await settled();
      // A shim named node: not the binary that built the blob.
      fs.writeFileSync(path.join(bin, 'node'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} "$@"\n`, { mode: 0o755 });
      const shim = await traced(path.join(copy, 'bin/mlbuild'), ['status'], p.dir, onPath());
      expect([shim.blob, shim.code, shim.stdout]).toEqual([false, 0, 'Data and pipelines are up to date.\n']);
      // Another binary of the same version, made after the blob: -nt refuses it, whatever it is.
      fs.rmSync(path.join(bin, 'node'));
      fs.copyFileSync(process.execPath, path.join(bin, 'node'));
      fs.chmodSync(path.join(bin, 'node'), 0o755);
      linkNode(path.join(bin, 'node'));
      const newer = await traced(path.join(copy, 'bin/mlbuild'), ['repro'], p.dir, onPath());
      expect([newer.blob, newer.code]).toEqual([false, 0]);
      expect(newer.stdout).toMatch(/^Done: 0 ran, 0 restored, 2 unchanged in \d+ms\n$/);
      // The same binary, older than the blob: taken (the control for the two refusals above).
      const old = fs.statSync(blob).mtimeMs / 1000 - 60;
      fs.utimesSync(path.join(bin, 'node'), old, old);
      const taken = await traced(path.join(copy, 'bin/mlbuild'), ['repro'], p.dir, onPath());
      expect([taken.blob, taken.code]).toEqual([true, 0]);
      linkNode(fs.realpathSync(process.execPath));
    });

    it('NODE_OPTIONS (V8 flags the blob was not built with make node exit 14), MLBUILD_SNAPSHOT=0, or no blob', async () => {
      const p = await settled();
      const launcher = path.join(copy, 'bin/mlbuild');
      const opts = await traced(launcher, ['repro'], p.dir, { NODE_OPTIONS: '--max-old-space-size=300' });
      expect([opts.blob, opts.code]).toEqual([false, 0]);
      expect(opts.stdout).toMatch(/^Done: 0 ran/);
      const off = await traced(launcher, ['status'], p.dir, { MLBUILD_SNAPSHOT: '0' });
      expect([off.blob, off.code, off.stdout]).toEqual([false, 0, 'Data and pipelines are up to date.\n']);
      fs.renameSync(blob, blob + '.away');
      try {
        const none = await traced(launcher, ['status'], p.dir);
        expect([none.blob, none.code, none.stdout]).toEqual([false, 0, 'Data and pipelines are up to date.\n']);
      } finally {
        fs.renameSync(blob + '.away', blob);
      }
    });

    it('found through the symbolic links npm makes (node_modules/.bin), as npx runs it', async () => {
      const p = await settled();
      fs.mkdirSync(p.path('node_modules/.bin'), { recursive: true });
      fs.symlinkSync(copy, p.path('node_modules/mlbuild'));
      fs.symlinkSync('../mlbuild/bin/mlbuild', p.path('node_modules/.bin/mlbuild'));
      const r = await traced(p.path('node_modules/.bin/mlbuild'), ['status'], p.dir);
      expect([r.blob, r.code, r.stdout]).toEqual([true, 0, 'Data and pipelines are up to date.\n']);
      const help = await traced(p.path('node_modules/.bin/mlbuild'), ['--version'], p.dir);
      expect([help.blob, help.code, help.stdout]).toEqual([false, 0, `${(JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`]);
    });
  });

  it('node bin/mlbuild.js still runs everything itself', async () => {
    const p = await settled();
    const r = await p.run(['status'], { env: { ...QUICK, PATH: process.env.PATH ?? '' } });
    expect([r.code, r.stdout]).toEqual([0, 'Data and pipelines are up to date.\n']);
    expect(CLI.endsWith('bin/mlbuild.js')).toBe(true);
  });
});
