/**
 * Watching a `repro` that another process runs in this project, from what the engine already
 * writes, with no IPC: the project lock (`.mlcache/lock`, its owner token; see
 * state/project-lock.ts) says a run is going on and since when; the journal's unresolved `run`
 * markers (state/journal.ts, read with its own reader) say which stages are running; the run
 * history (run-log.ts) says which finished, how long they took and whether they failed; each
 * running stage's log (`.mlcache/logs/<stage>.log`) is tailed with LogTail. Polled on a timer: a
 * poll that changes nothing emits nothing.
 *
 * It never writes. A lock held by another writer (gc, checkout) looks like a run with no stage
 * running, which is what it is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Journal } from '../state/journal.js';
import { ownerAlive, parseToken } from '../state/project-lock.js';
import { RunHistory } from '../state/run-history.js';
import { LogTail } from '../execute/log-tail.js';
import { logFileName } from '../run/stage-run.js';
import type { RunLog } from './run-log.js';

export interface RunningStage {
  readonly stage: string;
  /** When the ui first saw it running (ISO). */
  readonly since: string;
  /** Seconds its last successful run took (run history), if known. */
  readonly expected_s: number | null;
}

export interface FinishedStage {
  readonly stage: string;
  readonly ok: boolean;
  readonly wall_s: number;
  readonly exit_code: number | null;
}

export interface LiveSnapshot {
  /** A repro (or another writer) holds the project lock. */
  readonly active: boolean;
  readonly pid: number | null;
  /** When the lock was taken (ISO), while active. */
  readonly started: string | null;
  readonly running: readonly RunningStage[];
  /** Stages that ran to an end in this run, or the last one seen (from the run history), in order. */
  readonly finished: readonly FinishedStage[];
  /** Stages a run started and never finished, seen while no run is active (a killed repro). */
  readonly interrupted: readonly string[];
}

export type LiveEvent = { type: 'live'; snapshot: LiveSnapshot } | { type: 'log'; stage: string; text: string; end: number };

export class LiveRun {
  readonly #mlcacheDir: string;
  readonly #runs: RunLog;
  readonly #listeners = new Set<(e: LiveEvent) => void>();
  #timer: NodeJS.Timeout | undefined;
  #snapshot: LiveSnapshot = { active: false, pid: null, started: null, running: [], finished: [], interrupted: [] };
  #key = '';
  readonly #since = new Map<string, string>();
  readonly #tails = new Map<string, { tail: LogTail; bytes: number }>();
  #history: RunHistory;

  constructor(mlcacheDir: string, runs: RunLog) {
    this.#mlcacheDir = mlcacheDir;
    this.#runs = runs;
    this.#history = RunHistory.load(mlcacheDir);
    this.poll();
  }

  get snapshot(): LiveSnapshot {
    return this.#snapshot;
  }

  /** Starts polling (every `ms`); the timer does not keep the process alive. */
  start(ms: number): void {
    this.#timer ??= setInterval(() => this.poll(), ms);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  subscribe(fn: (e: LiveEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit(e: LiveEvent): void {
    for (const fn of this.#listeners) fn(e);
  }

  #owner(): { pid: number; started: string } | undefined {
    const file = path.join(this.#mlcacheDir, 'lock');
    try {
      // The lock's owner token (pid, start time, nonce), read by the module that writes it.
      const token = parseToken(fs.readFileSync(file, 'utf8'));
      const mtime = fs.statSync(file).mtime;
      return token && ownerAlive(token, mtime.getTime()) ? { pid: token.pid, started: mtime.toISOString() } : undefined;
    } catch {
      return undefined;
    }
  }

  /** One look at the files; emits `live` when what it sees changed and `log` for new output. */
  poll(): void {
    this.#runs.poll();
    const owner = this.#owner();
    const journal = Journal.openSync(this.#mlcacheDir);
    const unresolved = journal.interrupted();
    const wasActive = this.#snapshot.active;
    if (owner && !wasActive) this.#history = RunHistory.load(this.#mlcacheDir);
    const now = new Date().toISOString();
    const running: RunningStage[] = [];
    if (owner) {
      for (const stage of unresolved) {
        if (!this.#since.has(stage)) {
          this.#since.set(stage, now);
          this.#tails.set(stage, { tail: new LogTail(path.join(this.#mlcacheDir, 'logs', logFileName(stage))), bytes: 0 });
        }
        running.push({ stage, since: this.#since.get(stage)!, expected_s: this.#history.expectedSeconds(stage) ?? null });
      }
    }
    // Output first, so a client sees a stage's last lines before it is listed as finished.
    for (const [stage, t] of this.#tails) {
      const text = t.tail.read();
      t.bytes += Buffer.byteLength(text);
      // `end`: the byte offset in the log file after this text, so a client can join it to what it fetched.
      if (text !== '') this.#emit({ type: 'log', stage, text, end: t.bytes });
      if (!running.some((r) => r.stage === stage)) {
        this.#tails.delete(stage);
        this.#since.delete(stage);
      }
    }
    const finished = owner
      ? this.#runs.since(owner.started).map((r) => ({ stage: r.stage, ok: r.ok, wall_s: r.wall_s, exit_code: r.exit_code }))
      : [];
    const snapshot: LiveSnapshot = {
      active: owner !== undefined,
      pid: owner?.pid ?? null,
      started: owner?.started ?? null,
      running,
      finished: owner ? finished : this.#snapshot.finished,
      interrupted: owner ? [] : unresolved,
    };
    if (!owner && wasActive) this.#history = RunHistory.load(this.#mlcacheDir);
    const key = JSON.stringify({ ...snapshot, running: running.map((r) => r.stage) });
    this.#snapshot = snapshot;
    if (key !== this.#key) {
      this.#key = key;
      this.#emit({ type: 'live', snapshot });
    }
  }

  /** Seconds a stage is expected to take (its last successful run), if known. */
  expectedSeconds(stage: string): number | undefined {
    return this.#history.expectedSeconds(stage);
  }
}
