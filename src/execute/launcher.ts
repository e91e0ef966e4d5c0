/**
 * Launcher: starts one shell command as `/bin/sh -c CMD` in its own process group and reports its
 * pid, its output and how it ended. Three ways, same semantics:
 *
 * - native: a long-lived C helper (native/spawner.c, dist/mlbuild-spawner) posix_spawns the
 *   commands: no fork of any Node process, about a tenth of a millisecond of CPU per command;
 * - node: the same protocol served by a long-lived Node helper (spawner-process.ts,
 *   dist/spawner.js), which forks itself (~40 MB) per command: where no C compiler built the native one;
 * - direct: `child_process.spawn` from this process (libuv forks this process, then execs).
 *
 * The shared launcher (`sharedLauncher()`) uses the native helper from the first command when it
 * was built (commands wait in its queue the millisecond it takes to start; if it cannot start,
 * they go direct and the Node helper takes over); otherwise it starts direct and brings the Node
 * helper up once a run has launched a few commands (a one-stage rebuild never pays for a second
 * Node process).
 * `MLBUILD_SPAWNER=native|node|direct` forces one way (`helper` is the old name of `node`): tests,
 * benchmarks. If a helper dies, the commands it was running are reported as failed to start
 * (their groups are killed) and later launches go direct. It does not time out, kill, log or
 * sample: local-executor.ts does, by pid, for every way.
 */
import fs from 'node:fs';
import os from 'node:os';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeAnswer, encodeRequest, FrameReader, type Answer } from './spawner-frames.js';

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

/** How to start a spawner helper process. */
export interface SpawnerCommand {
  readonly kind: 'native' | 'node';
  readonly file: string;
  readonly args: readonly string[];
}

export const nativeSpawner = (binary: string): SpawnerCommand => ({ kind: 'native', file: binary, args: [] });
// A small heap: the Node helper holds a few in-flight jobs, and a small process forks fast.
export const nodeSpawner = (script: string): SpawnerCommand => ({ kind: 'node', file: process.execPath, args: ['--max-old-space-size=32', '--max-semi-space-size=1', script] });

interface Job {
  readonly onData: OnData;
  readonly pid: (pid: number | undefined) => void;
  readonly exit: (e: Exit) => void;
  knownPid?: number;
  /** Sent before the helper said it was ready: what to launch through the fallback if it never does. */
  retry?: { readonly cmd: string; readonly cwd: string; readonly env: Readonly<Record<string, string>> };
}

const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));
const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

function startError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * Talks to one spawner process (native or Node, spawner-frames.ts's protocol). `ready` is false
 * until it said so, and again once it died. Requests sent before it is ready wait in its stdin; if
 * it dies before it was ever ready (a binary that cannot run), they go to `fallback`.
 */
export class SpawnerLauncher implements Launcher {
  readonly #child: ChildProcess;
  readonly #jobs = new Map<number, Job>();
  readonly #reader = new FrameReader();
  #next = 1;
  ready = false;
  /** It said it was ready at least once. */
  started = false;
  dead = false;

  constructor(
    readonly command: SpawnerCommand,
    private readonly fallback?: Launcher,
  ) {
    this.#child = spawn(command.file, command.args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.#child.stdout!.on('data', (chunk: Buffer) => this.#reader.push(chunk, (p) => this.#handle(decodeAnswer(p))));
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

  #handle(a: Answer): void {
    if (a.t === 'R') {
      this.ready = !this.dead;
      this.started = true;
      for (const job of this.#jobs.values()) delete job.retry;
      return;
    }
    const job = this.#jobs.get(a.id);
    if (!job) return;
    if (a.t === 'P') {
      job.knownPid = a.pid;
      job.pid(a.pid);
    } else if (a.t === 'O' || a.t === 'E') job.onData(a.t === 'O' ? 'stdout' : 'stderr', a.data);
    else {
      this.#jobs.delete(a.id);
      if (this.#jobs.size === 0) this.#idle();
      job.pid(undefined); // no-op when the pid came first
      if (a.t === 'X') job.exit({ exitCode: a.code, signal: a.signal === 0 ? null : (SIGNAL_NAMES.get(a.signal) ?? null) });
      else job.exit({ exitCode: 127, signal: null, error: startError(a.message, ERRNO_NAMES.get(a.errno) ?? 'EINVAL') });
    }
  }

  #died(): void {
    if (this.dead) return;
    this.dead = true;
    this.ready = false;
    for (const [id, job] of this.#jobs) {
      this.#jobs.delete(id);
      if (job.retry && this.fallback) {
        // It never started anything: run the command another way.
        const l = this.fallback.launch(job.retry.cmd, job.retry.cwd, job.retry.env, job.onData);
        void l.pid.then(job.pid);
        void l.exited.then(job.exit);
        continue;
      }
      // Without the helper nobody reaps or reports them: stop them rather than leave them unowned.
      if (job.knownPid !== undefined) {
        try {
          process.kill(-job.knownPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      job.pid(undefined);
      job.exit({ exitCode: 127, signal: null, error: new Error(`the ${this.command.kind} spawner process exited while the command ran`) });
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
    const request = this.dead ? undefined : encodeRequest({ id, cwd, cmd, env });
    if (!request) {
      pid(undefined);
      exit(
        this.dead
          ? { exitCode: 127, signal: null, error: new Error(`the ${this.command.kind} spawner process is not running`) }
          : // What Node's spawn throws for the same input (exec takes C strings).
            { exitCode: null, signal: null, error: startError('the command, its cwd or its environment contains a NUL byte', 'ERR_INVALID_ARG_VALUE') },
      );
      return launched;
    }
    this.#jobs.set(id, { onData, pid, exit, ...(this.ready ? {} : { retry: { cmd, cwd, env } }) });
    this.#busy();
    this.#child.stdin!.write(request);
    return launched;
  }
}

/** A launcher whose every launch fails with `message` (a forced way that does not exist here). */
function unavailable(message: string): Launcher {
  return {
    launch: () => ({ pid: Promise.resolve(undefined), exited: Promise.resolve({ exitCode: 127, signal: null, error: startError(message, 'ENOENT') }) }),
  };
}

export interface SpawnerFiles {
  /** dist/mlbuild-spawner, when the build compiled it. */
  readonly native?: string;
  /** dist/spawner.js. */
  readonly node?: string;
}

/** The helpers beside the bundle (the code may sit in dist/ or in dist/chunks/); none when run from source. */
function spawnerFiles(): SpawnerFiles {
  const find = (name: string, usable: (f: string) => boolean): string | undefined => {
    for (const rel of [`./${name}`, `../${name}`]) {
      const file = fileURLToPath(new URL(rel, import.meta.url));
      if (file.endsWith(`/dist/${name}`) && usable(file)) return file;
    }
    return undefined;
  };
  const executable = (f: string): boolean => {
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const native = find('mlbuild-spawner', executable);
  const node = find('spawner.js', (f) => fs.existsSync(f));
  return { ...(native ? { native } : {}), ...(node ? { node } : {}) };
}

/** Launches after which the shared launcher starts the Node helper (the first ones go direct meanwhile). */
const NODE_HELPER_AFTER = 4;

export type SpawnerMode = 'auto' | 'native' | 'node' | 'direct';

/** MLBUILD_SPAWNER's value as a mode (anything else: auto). */
export function spawnerMode(v: string | undefined): SpawnerMode {
  if (v === 'helper') return 'node';
  return v === 'native' || v === 'node' || v === 'direct' ? v : 'auto';
}

/** A helper process as AdaptiveLauncher sees it. */
export interface Helper extends Launcher {
  /** It said it is ready (requests sent before wait in its queue). */
  readonly ready: boolean;
  /** It said it was ready at least once (one that died before it did could not run here). */
  readonly started: boolean;
  /** It exited: launches fail fast. */
  readonly dead: boolean;
}

/** Picks the way each launch goes (see the module comment); `make` starts helpers (tests pass fakes). */
export class AdaptiveLauncher implements Launcher {
  #launches = 0;
  #helper: Helper | undefined;
  #missing: Launcher | undefined;
  /** The native helper died before it was ever ready (e.g. built against another libc). */
  #nativeBroken = false;

  constructor(
    private readonly mode: SpawnerMode,
    private readonly files: SpawnerFiles,
    private readonly direct: Launcher = directLauncher,
    private readonly make: (c: SpawnerCommand, fallback?: Launcher) => Helper = (c, fallback) => new SpawnerLauncher(c, fallback),
  ) {}

  launch(cmd: string, cwd: string, env: Readonly<Record<string, string>>, onData: OnData): Launched {
    this.#launches++;
    const { mode, files } = this;
    if (mode === 'auto' && this.#helper?.dead && !this.#helper.started && !this.#nativeBroken && files.native) {
      // Its queued commands went direct; from now on the Node helper's rules apply.
      this.#nativeBroken = true;
      this.#helper = undefined;
    }
    const native = this.#nativeBroken ? undefined : files.native;
    if (!this.#helper && !this.#missing && mode !== 'direct') {
      if (mode === 'native' && !native) {
        this.#missing = unavailable('MLBUILD_SPAWNER=native, but dist/mlbuild-spawner was not built (no C compiler when `npm run build` ran?)');
      } else if (native && (mode === 'native' || mode === 'auto')) {
        // Forced: no fallback, so a broken native helper shows instead of hiding behind another way.
        this.#helper = this.make(nativeSpawner(native), mode === 'auto' ? this.direct : undefined);
      } else if (files.node && (mode === 'node' || this.#launches >= NODE_HELPER_AFTER)) {
        this.#helper = this.make(nodeSpawner(files.node));
      }
    }
    if (this.#missing) return this.#missing.launch(cmd, cwd, env, onData);
    const h = this.#helper;
    // Native or forced: queue in the helper until it is ready; auto with Node: direct until then.
    if (h && !h.dead && (h.ready || mode !== 'auto' || native)) return h.launch(cmd, cwd, env, onData);
    return this.direct.launch(cmd, cwd, env, onData);
  }
}

let shared: Launcher | undefined;

/** The process-wide launcher (one helper per mlbuild process, shared by every executor). */
export function sharedLauncher(): Launcher {
  if (!shared) {
    shared = new AdaptiveLauncher(spawnerMode(process.env.MLBUILD_SPAWNER), spawnerFiles());
  }
  return shared;
}
