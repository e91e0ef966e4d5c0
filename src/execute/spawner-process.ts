/**
 * The Node spawner process (built to dist/spawner.js): a small, long-lived Node process that starts
 * stage commands on behalf of the main mlbuild process, so the main process never forks itself.
 * Forking copies the parent's page tables and leaves every page it later writes to fault once
 * (copy-on-write); libuv also blocks the forking thread until the child has exec'd. Paid by a
 * 40 MB helper on the other core instead of the 130 MB main process on its event loop.
 *
 * It is the fallback of the native spawner (native/spawner.c, dist/mlbuild-spawner: posix_spawn
 * from a tiny process, several times cheaper per command), used where no C compiler built that
 * one, and speaks the same binary protocol (spawner-frames.ts; native/spawner.c's header).
 * Each command runs as `/bin/sh -c` in its own process group (detached) with the job's whole
 * environment, exactly as the direct path in launcher.ts; the main process kills groups and samples
 * /proc by the pid it is sent.
 *
 * It exits when its stdin closes (the main process ended, however it ended). It ignores SIGINT and
 * SIGTERM: Ctrl-C reaches the whole foreground group, and the main process decides what to kill.
 * It does not decide anything else: no timeouts, no logs, no retries.
 */
import os from 'node:os';
import { spawn } from 'node:child_process';
import { decodeRequest, encodeAnswer, FrameReader, type Answer, type JobRequest } from './spawner-frames.js';

// Answers produced in one turn of the event loop (the pid of one job, the exits of others reaped
// together) go out in one write at its end: fewer syscalls here, fewer wake-ups of the main process.
let outgoing: Buffer[] = [];
const flush = (): void => {
  const bufs = outgoing;
  outgoing = [];
  process.stdout.write(bufs.length === 1 ? bufs[0]! : Buffer.concat(bufs));
};
const send = (a: Answer): void => {
  if (outgoing.length === 0) setImmediate(flush);
  outgoing.push(encodeAnswer(a));
};

const errnoOf = (e: NodeJS.ErrnoException): number =>
  e.errno !== undefined ? Math.abs(e.errno) : ((os.constants.errno as Record<string, number>)[e.code ?? ''] ?? 0);
const signalOf = (s: NodeJS.Signals | null): number => (s ? (os.constants.signals[s] ?? 0) : 0);

function start(req: JobRequest): void {
  let child;
  try {
    child = spawn('/bin/sh', ['-c', req.cmd], { cwd: req.cwd, env: req.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    // E2BIG throws before any process exists: answer it, never die of it (every other job in
    // flight would fail with this process).
    const x = e as NodeJS.ErrnoException;
    send({ t: 'F', id: req.id, errno: errnoOf(x), message: x.message });
    return;
  }
  let answered = false;
  child.on('error', (error: NodeJS.ErrnoException) => {
    if (answered) return;
    answered = true;
    send({ t: 'F', id: req.id, errno: errnoOf(error), message: error.message });
  });
  if (child.pid !== undefined) send({ t: 'P', id: req.id, pid: child.pid });
  child.stdout?.on('data', (data: Buffer) => send({ t: 'O', id: req.id, data }));
  child.stderr?.on('data', (data: Buffer) => send({ t: 'E', id: req.id, data }));
  child.on('close', (code, signal) => {
    if (answered) return;
    answered = true;
    send({ t: 'X', id: req.id, code, signal: signalOf(signal) });
  });
}

process.on('SIGINT', () => undefined);
process.stdout.on('error', () => process.exit(0)); // the main process is gone
process.on('SIGTERM', () => undefined);
const reader = new FrameReader();
process.stdin.on('data', (chunk: Buffer) => reader.push(chunk, (p) => start(decodeRequest(p))));
process.stdin.on('end', () => process.exit(0));
send({ t: 'R' });
