/**
 * End-to-end rig: a temp dir holding a real git repo, files written from objects, and the built
 * CLI run as a child process the way users run it: bin/mlbuild, the launcher package.json names
 * (which starts `repro` and `status` from the startup snapshot in dist/snapshot/, anything else
 * through bin/mlbuild.js). No mocks.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll } from 'vitest';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = path.join(REPO_ROOT, 'bin', 'mlbuild.js');
/** The launcher (package.json "bin"): a /bin/sh script that execs node, so its pid is node's. */
export const LAUNCHER = path.join(REPO_ROOT, 'bin', 'mlbuild');

/**
 * How to start the CLI with `args`: through the launcher, as users do; a test that takes node off
 * the PATH (to hide git or sbatch) runs the JS entry with this node, as the launcher would have.
 */
export function cliCommand(args: readonly string[], env?: Record<string, string>): [string, string[]] {
  return env?.PATH !== undefined ? [process.execPath, [CLI, ...args]] : [LAUNCHER, [...args]];
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export class Project {
  readonly dir: string;

  constructor(files: Record<string, string> = {}) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-e2e-'));
    this.git('init', '-q', '-b', 'main');
    this.git('config', 'user.email', 'test@example.com');
    this.git('config', 'user.name', 'Test');
    this.write(files);
  }

  path(rel: string): string {
    return path.join(this.dir, rel);
  }

  write(files: Record<string, string>): void {
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(this.path(rel)), { recursive: true });
      fs.writeFileSync(this.path(rel), text);
    }
  }

  read(rel: string): string {
    return fs.readFileSync(this.path(rel), 'utf8');
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.path(rel));
  }

  remove(rel: string): void {
    fs.rmSync(this.path(rel), { recursive: true, force: true });
  }

  git(...args: string[]): string {
    const r = spawnSync('git', args, { cwd: this.dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`);
    return r.stdout;
  }

  commitAll(message: string): void {
    this.git('add', '-A');
    this.git('commit', '-q', '-m', message);
  }

  /** Runs the CLI to completion. */
  run(args: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
      const [cmd, argv] = cliCommand(args, opts.env);
      const child = spawn(cmd, argv, {
        cwd: opts.cwd ?? this.dir,
        env: { ...process.env, CI: 'true', NO_COLOR: '1', ...opts.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** Runs `repro --json` and returns the outcome of each stage by name. */
  async repro(args: string[] = [], opts: { env?: Record<string, string> } = {}): Promise<{ code: number | null; outcomes: Record<string, string>; doc: ReproDoc; stderr: string }> {
    const r = await this.run(['repro', '--json', ...args], opts);
    let doc: ReproDoc;
    try {
      doc = JSON.parse(r.stdout) as ReproDoc;
    } catch {
      throw new Error(`repro --json printed no JSON (exit ${r.code}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    }
    return { code: r.code, outcomes: Object.fromEntries(doc.stages.map((s) => [s.name, s.outcome])), doc, stderr: r.stderr };
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts `mlbuild repro` and resolves once its stdout contains `marker` (a handshake, not a sleep). */
export function startUntil(p: Project, args: string[], marker: string) {
  const child = spawn(LAUNCHER, ['repro', ...args], { cwd: p.dir, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const reached = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes(marker)) resolve();
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    void closed.then(() => reject(new Error(`exited before '${marker}':\n${stdout}\n${stderr}`)));
  });
  return { child, reached, closed, output: () => ({ stdout, stderr }) };
}

/** A long-running CLI command (serve, ui) that listens on a port it printed. */
export interface ListeningCli {
  readonly url: string;
  readonly child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts the CLI with `argv` in `cwd` and resolves once its stdout matches `address` (group 1 is
 * the URL): a handshake on what the server prints, not a sleep. Rejects when it exits first.
 */
export function startListening(cwd: string, argv: string[], address: RegExp): Promise<ListeningCli> {
  const child = spawn(process.execPath, [CLI, ...argv], { cwd, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = address.exec(stdout);
      if (m) resolve({ url: m[1]!, child, output: () => ({ stdout, stderr }), stop: () => (child.kill('SIGTERM'), closed) });
    });
    void closed.then((code) => reject(new Error(`mlbuild ${argv.join(' ')} exited (${code}) before listening:\n${stdout}\n${stderr}`)));
  });
}

export interface ReproDoc {
  version: number;
  ok: boolean;
  interrupted: boolean;
  stages: { name: string; outcome: string; reasons: string[]; reason_codes: string[]; message?: string }[];
}

export function cliBuilt(): void {
  if (!fs.existsSync(path.join(REPO_ROOT, 'dist', 'mlbuild.js'))) {
    throw new Error('dist/mlbuild.js is missing: run `npm run build` first (npm test does)');
  }
}

/**
 * The lifecycle every e2e file needs: check the CLI is built, and remove each project made during
 * a test after it. `push` registers a project built by hand; `make` builds and registers one.
 */
export function useProjects(): { push(p: Project): void; make(files?: Record<string, string>): Project } {
  let live: Project[] = [];
  beforeAll(cliBuilt);
  afterEach(() => {
    for (const p of live) p.cleanup();
    live = [];
  });
  return {
    push: (p) => void live.push(p),
    make: (files = {}) => {
      const p = new Project(files);
      live.push(p);
      return p;
    },
  };
}
