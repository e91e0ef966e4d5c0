/**
 * The spawner process (built to dist/spawner.js): a small, long-lived Node process that starts
 * stage commands on behalf of the main mlbuild process, so the main process never forks itself.
 * Forking copies the parent's page tables and leaves every page it later writes to fault once
 * (copy-on-write); libuv also blocks the forking thread until the child has exec'd. Paid by a
 * 40 MB helper on the other core instead of the 130 MB main process on its event loop, that is
 * most of a stage's overhead in a 1000-stage build (see bench/RESULTS.md).
 *
 * Protocol: newline-delimited JSON. stdin receives `{id, cmd, cwd, set, unset}` (env changes); stdout answers
 * `{t:'ready'}` once, then per job `{t:'pid', id, pid}`, `{t:'out', id, s, d}` (output chunk,
 * base64 so the log keeps the exact bytes) and `{t:'exit', id, code, signal, error?}`. Each
 * command runs as `/bin/sh -c` in its own process group (detached), exactly as the direct path
 * in launcher.ts; the main process kills groups and samples /proc by the pid it is sent.
 *
 * It exits when its stdin closes (the main process ended, however it ended). It ignores SIGINT and
 * SIGTERM: Ctrl-C reaches the whole foreground group, and the main process decides what to kill.
 * It does not decide anything else: no timeouts, no logs, no retries.
 */
import { spawn } from 'node:child_process';

interface Request {
  readonly id: number;
  readonly cmd: string;
  readonly cwd: string;
  /** The command's environment, as changes to this process's own (inherited from mlbuild). */
  readonly set: Record<string, string>;
  readonly unset: readonly string[];
}

// Messages produced in one turn of the event loop (the pid of one job, the exits of others reaped
// together) go out in one write at its end: fewer syscalls here, fewer wake-ups of the main process.
let outgoing = '';
const flush = (): void => {
  const text = outgoing;
  outgoing = '';
  process.stdout.write(text);
};
const send = (msg: object): void => {
  if (outgoing === '') setImmediate(flush);
  outgoing += JSON.stringify(msg) + '\n';
};

function start(req: Request): void {
  const env: Record<string, string | undefined> = { ...process.env, ...req.set };
  for (const k of req.unset) delete env[k];
  let child;
  try {
    child = spawn('/bin/sh', ['-c', req.cmd], { cwd: req.cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // E2BIG or a NUL byte throws before any process exists: answer it, never die of it (every
    // other job in flight would fail with this process).
    const x = e as NodeJS.ErrnoException;
    send({ t: 'exit', id: req.id, code: null, signal: null, error: x.message, ...(x.code !== undefined ? { errno: x.code } : {}) });
    return;
  }
  let answered = false;
  const exit = (msg: object): void => {
    if (answered) return;
    answered = true;
    send({ t: 'exit', id: req.id, ...msg });
  };
  child.on('error', (error: NodeJS.ErrnoException) => exit({ code: 127, signal: null, error: error.message, ...(error.code !== undefined ? { errno: error.code } : {}) }));
  if (child.pid !== undefined) send({ t: 'pid', id: req.id, pid: child.pid });
  const forward = (s: 'stdout' | 'stderr') => (d: Buffer) => send({ t: 'out', id: req.id, s, d: d.toString('base64') });
  child.stdout?.on('data', forward('stdout'));
  child.stderr?.on('data', forward('stderr'));
  child.on('close', (code, signal) => exit({ code, signal }));
}

process.on('SIGINT', () => undefined);
process.stdout.on('error', () => process.exit(0)); // the main process is gone
process.on('SIGTERM', () => undefined);
let buffered = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    if (line) start(JSON.parse(line) as Request);
  }
});
process.stdin.on('end', () => process.exit(0));
send({ t: 'ready' });
