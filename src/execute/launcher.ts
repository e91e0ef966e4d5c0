/**
 * Launcher: starts one shell command as `/bin/sh -c CMD` in its own process group and reports its
 * pid, its output and how it ended. Two ways, same semantics:
 *
 * - direct: `child_process.spawn` from this process (libuv forks this process, then execs);
 * - spawner: a long-lived helper process (spawner-process.ts, dist/spawner.js) forks instead, so
 *   this process's event loop neither forks a large heap nor takes the copy-on-write faults after.
 *
 * The shared launcher (`sharedLauncher()`) starts direct and brings the helper up only once a run
 * has launched a few commands (a one-stage rebuild never pays for a second Node process), then
 * uses it as soon as it says it is ready. `MLBUILD_SPAWNER=direct|helper` forces one way (tests,
 * benchmarks). If the helper dies, the commands it was running are reported as failed to start
 * (their groups are killed) and later launches go direct. It does not time out, kill, log or
 * sample: local-executor.ts does, by pid, for both ways.
 */
import fs from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface Exit {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The shell could not be started. */
  readonly error?: Error;
}

export interface Launched {
  /** The shell's pid (its process group), once it runs; undefined when it could not start. */
  readonly pid: Promise<number | undefined>;
  readonly exited: Promise<Exit>;
}

export type OnData = (stream: 'stdout' | 'stderr', data: Buffer) => void;

export interface Launcher {
  launch(cmd: string, cwd: string, env: Readonly<Record<string, string>>, onData: OnData): Launched;
}

export const directLauncher: Launcher = {
  launch(cmd, cwd, env, onData) {
    let child: ChildProcess;
    try {
      child = spawn('/bin/sh', ['-c', cmd], { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      // Thrown before any process exists (E2BIG, a NUL byte): an exit like any other, not a throw.
      return { pid: Promise.resolve(undefined), exited: Promise.resolve({ exitCode: null, signal: null, error: e as Error }) };
    }
    const exited = new Promise<Exit>((resolve) => {
      child.on('error', (error) => resolve({ exitCode: 127, signal: null, error }));
      child.on('close', (exitCode, signal) => resolve({ exitCode, signal }));
    });
    child.stdout?.on('data', (d: Buffer) => onData('stdout', d));
    child.stderr?.on('data', (d: Buffer) => onData('stderr', d));
    return { pid: Promise.resolve(child.pid), exited };
  },
};

interface Job {
  readonly onData: OnData;
  readonly pid: (pid: number | undefined) => void;
  readonly exit: (e: Exit) => void;
  knownPid?: number;
}

type Message =
  | { t: 'ready' }
  | { t: 'pid'; id: number; pid: number }
  | { t: 'out'; id: number; s: 'stdout' | 'stderr'; d: string }
  | { t: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null; error?: string; errno?: string };

/** Talks to one spawner process. `ready` is false until it said so, and again once it died. */
export class SpawnerLauncher implements Launcher {
  readonly #child: ChildProcess;
  readonly #jobs = new Map<number, Job>();
  /** The environment the helper was started with. */
  readonly #base: Record<string, string>;
  #next = 1;
  #buffered = '';
  ready = false;
  dead = false;

  constructor(script: string) {
    // A small heap: the helper holds a few in-flight jobs, and a small process forks fast.
    this.#base = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
    this.#child = spawn(process.execPath, ['--max-old-space-size=32', '--max-semi-space-size=1', script], { env: this.#base, stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.stdout!.setEncoding('utf8');
    this.#child.stdout!.on('data', (chunk: string) => this.#receive(chunk));
    this.#child.on('error', () => this.#died());
    this.#child.on('exit', () => this.#died());
    this.#child.stdin!.on('error', () => this.#died());
    this.#idle();
  }

  /** No job in flight: the helper must not keep this process alive (it exits when our end closes). */
  #idle(): void {
    this.#child.unref();
    (this.#child.stdout as unknown as { unref?: () => void }).unref?.();
    (this.#child.stdin as unknown as { unref?: () => void }).unref?.();
  }

  #busy(): void {
    this.#child.ref();
    (this.#child.stdout as unknown as { ref?: () => void }).ref?.();
  }

  #receive(chunk: string): void {
    this.#buffered += chunk;
    let nl: number;
    while ((nl = this.#buffered.indexOf('\n')) >= 0) {
      const line = this.#buffered.slice(0, nl);
      this.#buffered = this.#buffered.slice(nl + 1);
      if (line) this.#handle(JSON.parse(line) as Message);
    }
  }

  #handle(m: Message): void {
    if (m.t === 'ready') {
      this.ready = !this.dead;
      return;
    }
    const job = this.#jobs.get(m.id);
    if (!job) return;
    if (m.t === 'pid') {
      job.knownPid = m.pid;
      job.pid(m.pid);
    } else if (m.t === 'out') job.onData(m.s, Buffer.from(m.d, 'base64'));
    else {
      this.#jobs.delete(m.id);
      if (this.#jobs.size === 0) this.#idle();
      job.pid(undefined); // no-op when the pid came first
      job.exit({ exitCode: m.code, signal: m.signal, ...(m.error !== undefined ? { error: Object.assign(new Error(m.error), m.errno !== undefined ? { code: m.errno } : {}) } : {}) });
    }
  }

  #died(): void {
    if (this.dead) return;
    this.dead = true;
    this.ready = false;
    for (const [id, job] of this.#jobs) {
      this.#jobs.delete(id);
      // Without the helper nobody reaps or reports them: stop them rather than leave them unowned.
      if (job.knownPid !== undefined) {
        try {
          process.kill(-job.knownPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      job.pid(undefined);
      job.exit({ exitCode: 127, signal: null, error: new Error('the spawner process exited while the command ran') });
    }
  }

  launch(cmd: string, cwd: string, env: Readonly<Record<string, string>>, onData: OnData): Launched {
    const id = this.#next++;
    let pid!: (pid: number | undefined) => void;
    let exit!: (e: Exit) => void;
    const launched: Launched = {
      pid: new Promise((resolve) => (pid = resolve)),
      exited: new Promise((resolve) => (exit = resolve)),
    };
    if (this.dead) {
      pid(undefined);
      exit({ exitCode: 127, signal: null, error: new Error('the spawner process is not running') });
      return launched;
    }
    this.#jobs.set(id, { onData, pid, exit });
    this.#busy();
    // Only what differs from the environment the helper inherited: most of it is the same every time.
    const set: Record<string, string> = {};
    for (const k in env) if (this.#base[k] !== env[k]) set[k] = env[k]!;
    const unset: string[] = [];
    for (const k in this.#base) if (!(k in env)) unset.push(k);
    this.#child.stdin!.write(JSON.stringify({ id, cmd, cwd, set, unset }) + '\n');
    return launched;
  }
}

/** dist/spawner.js beside the bundle (the code may sit in dist/ or in dist/chunks/); undefined when run from source. */
function spawnerScript(): string | undefined {
  for (const rel of ['./spawner.js', '../spawner.js']) {
    const file = fileURLToPath(new URL(rel, import.meta.url));
    if (file.endsWith('/dist/spawner.js') && fs.existsSync(file)) return file;
  }
  return undefined;
}

/** Launches after which the shared launcher starts its helper (the first ones go direct meanwhile). */
const HELPER_AFTER = 4;

class AdaptiveLauncher implements Launcher {
  #launches = 0;
  #helper: SpawnerLauncher | undefined;

  constructor(
    private readonly mode: 'auto' | 'direct' | 'helper',
    private readonly script: string | undefined,
  ) {}

  launch(cmd: string, cwd: string, env: Readonly<Record<string, string>>, onData: OnData): Launched {
    this.#launches++;
    if (this.script && this.mode !== 'direct' && !this.#helper && (this.mode === 'helper' || this.#launches >= HELPER_AFTER)) {
      this.#helper = new SpawnerLauncher(this.script);
    }
    const h = this.#helper;
    // Forced: wait for the helper (it queues the request); auto: go direct until it is ready.
    if (h && !h.dead && (h.ready || this.mode === 'helper')) return h.launch(cmd, cwd, env, onData);
    return directLauncher.launch(cmd, cwd, env, onData);
  }
}

let shared: Launcher | undefined;

/** The process-wide launcher (one helper per mlbuild process, shared by every executor). */
export function sharedLauncher(): Launcher {
  if (!shared) {
    const v = process.env.MLBUILD_SPAWNER;
    const mode = v === 'direct' || v === 'helper' ? v : 'auto';
    shared = new AdaptiveLauncher(mode, spawnerScript());
  }
  return shared;
}
