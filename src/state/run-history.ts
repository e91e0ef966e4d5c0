/**
 * Run history: one JSON line per stage run in `.mlcache/runs.jsonl` (wall time, CPU time, peak
 * memory, GPU-seconds, exit status), append-only and never read on the hot path; plus a small
 * `.mlcache/state/durations.json` (last successful wall time per stage) that planning reads to
 * prioritise the critical path and that `--dry` and the ETA use.
 *
 * Lines are appended in batches (at most a second after the first of them, or per 256 runs, and at
 * `save()`), not one open + write + close per stage: a crash loses at most the last second of
 * history lines, which nothing needs for correctness (the journal and the lockfile record what
 * ran), and the ui, which tails the file, sees a finished run within a second.
 */
import fs from 'node:fs';
import path from 'node:path';
import { atomicWriteFileSync } from '../util/atomic-write.js';

export interface RunRecord {
  readonly stage: string;
  readonly started: string;
  readonly wall_s: number;
  readonly cpu_s: number | null;
  readonly peak_rss_mb: number | null;
  readonly gpu_s: number;
  readonly gpus: readonly string[];
  readonly exit_code: number | null;
  readonly signal: string | null;
  readonly ok: boolean;
}

/** A batch of history lines is written once it is this old (ms) or this long (lines). */
const FLUSH_MS = 1000;
const FLUSH_LINES = 256;

export class RunHistory {
  private dirty = false;
  private lines: string[] = [];
  private firstBuffered = 0;
  private dirMade = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly mlcacheDir: string,
    private readonly durations: Record<string, number>,
  ) {}

  static load(mlcacheDir: string): RunHistory {
    let durations: Record<string, number> = {};
    try {
      durations = JSON.parse(fs.readFileSync(path.join(mlcacheDir, 'state', 'durations.json'), 'utf8')) as Record<string, number>;
    } catch {
      // No history yet (or unreadable): plan without it.
    }
    return new RunHistory(mlcacheDir, durations);
  }

  /** Seconds the last successful run of `stage` took, if known. */
  expectedSeconds(stage: string): number | undefined {
    return this.durations[stage];
  }

  record(r: RunRecord, now = performance.now()): void {
    if (this.lines.length === 0) {
      this.firstBuffered = now;
      // A long stage may run next: the batch still reaches the file within a second.
      this.timer = setTimeout(() => {
        try {
          this.flush();
        } catch {
          // Kept for the next flush (save() at the end of the run reports nothing either: history only).
        }
      }, FLUSH_MS);
      this.timer.unref();
    }
    this.lines.push(JSON.stringify(r) + '\n');
    if (r.ok) {
      this.durations[r.stage] = Math.round(r.wall_s * 1000) / 1000;
      this.dirty = true;
    }
    if (this.lines.length >= FLUSH_LINES || now - this.firstBuffered >= FLUSH_MS) this.flush();
  }

  /** Appends the buffered lines to `runs.jsonl` (one write). */
  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    if (!this.dirMade) fs.mkdirSync(this.mlcacheDir, { recursive: true });
    this.dirMade = true;
    fs.appendFileSync(path.join(this.mlcacheDir, 'runs.jsonl'), this.lines.join(''));
    this.lines = [];
  }

  /** Writes the buffered history lines and, if any stage succeeded, `durations.json`. */
  save(): void {
    this.flush();
    if (!this.dirty) return;
    // A cache of what the next run measures again: atomic, not flushed (an fsync on the main thread at the end of every run).
    atomicWriteFileSync(path.join(this.mlcacheDir, 'state', 'durations.json'), JSON.stringify(this.durations) + '\n', { fsync: false });
    this.dirty = false;
  }
}
