/**
 * Run history: one JSON line per stage run in `.mlcache/runs.jsonl` (wall time, CPU time, peak
 * memory, GPU-seconds, exit status), append-only and never read on the hot path; plus a small
 * `.mlcache/state/durations.json` (last successful wall time per stage) that planning reads to
 * prioritise the critical path and that `--dry` and the ETA use.
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

export class RunHistory {
  private dirty = false;

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

  record(r: RunRecord): void {
    fs.mkdirSync(this.mlcacheDir, { recursive: true });
    fs.appendFileSync(path.join(this.mlcacheDir, 'runs.jsonl'), JSON.stringify(r) + '\n');
    if (r.ok) {
      this.durations[r.stage] = Math.round(r.wall_s * 1000) / 1000;
      this.dirty = true;
    }
  }

  save(): void {
    if (!this.dirty) return;
    atomicWriteFileSync(path.join(this.mlcacheDir, 'state', 'durations.json'), JSON.stringify(this.durations) + '\n');
    this.dirty = false;
  }
}
