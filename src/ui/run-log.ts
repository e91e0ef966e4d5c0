/**
 * The run history as the ui sees it: every stage run recorded in `.mlcache/runs.jsonl` (see
 * state/run-history.ts, which writes it), tailed with LogTail so each poll reads only what was
 * appended. Keeps the last record per stage (for "failed" and "last run") and everything recorded
 * since a given moment (for a live repro's progress). It never writes.
 */
import path from 'node:path';
import { LogTail } from '../execute/log-tail.js';
import type { RunRecord } from '../state/run-history.js';

export class RunLog {
  readonly #tail: LogTail;
  #partial = '';
  readonly #last = new Map<string, RunRecord>();
  readonly #lastOk = new Map<string, RunRecord>();
  readonly #all: RunRecord[] = [];

  constructor(mlcacheDir: string) {
    this.#tail = new LogTail(path.join(mlcacheDir, 'runs.jsonl'));
  }

  /** Reads what was appended; returns the new records (a torn last line waits for the next poll). */
  poll(): RunRecord[] {
    const text = this.#partial + this.#tail.read();
    const nl = text.lastIndexOf('\n');
    this.#partial = text.slice(nl + 1);
    const fresh: RunRecord[] = [];
    for (const line of text.slice(0, nl + 1).split('\n')) {
      if (line.trim() === '') continue;
      try {
        const r = JSON.parse(line) as RunRecord;
        if (typeof r.stage === 'string' && typeof r.started === 'string') fresh.push(r);
      } catch {
        // A line from an interrupted write: skip it, as the journal does.
      }
    }
    for (const r of fresh) {
      this.#last.set(r.stage, r);
      if (r.ok) this.#lastOk.set(r.stage, r);
      this.#all.push(r);
    }
    return fresh;
  }

  last(stage: string): RunRecord | undefined {
    return this.#last.get(stage);
  }

  /** The last successful run of `stage`: what running it again is expected to cost. */
  lastOk(stage: string): RunRecord | undefined {
    return this.#lastOk.get(stage);
  }

  /** Records of runs that started at or after `isoTime`. */
  since(isoTime: string): RunRecord[] {
    const t = Date.parse(isoTime);
    return this.#all.filter((r) => Date.parse(r.started) >= t);
  }
}
