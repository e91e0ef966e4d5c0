/**
 * The run journal, `<mlcache>/journal.jsonl`: an append-only log that makes each finished stage
 * durable without rewriting the lockfile after every stage (which would be O(n^2) bytes for a
 * 1000-stage run). Crash safety follows snakemake's "incomplete" markers and ninja's build log:
 *
 *   {"mlbuild-journal":1}                      header (version)
 *   {"op":"run","stage":"train@0"}             markRunning: the stage is about to touch its outs
 *   {"op":"ok","stage":"train@0","entry":{…}}  appendSuccess: its new lock entry (clears "run")
 *   {"op":"done","stage":"train@0"}            markDone: finished without an entry (failed)
 *
 * On open, `ok` lines not yet folded into the lockfile come back as `pendingEntries()` (replay
 * them into the lockfile, save it, then `clear()`), and stages with a `run` but no later `ok`/`done`
 * come back as `interrupted()`. A torn last line (crash mid-append) is ignored and cut off, so the
 * next append starts on a fresh line. `clear()` compacts the file to its header plus the `run`
 * markers that are still unresolved, so an interruption is never forgotten until the stage
 * finishes.
 *
 * Opening only reads; the file is created (or a torn tail cut off) on the first write, so
 * read-only commands leave no trace. Appends are single `write(2)` calls on an O_APPEND
 * descriptor: they survive a process crash (SIGKILL, OOM) as soon as they return. They are not
 * fsynced by default (that would cost a disk flush per stage); pass `{ fsync: true }` to survive
 * power loss too. Non-finite numbers in param values are tagged so they round-trip through JSON.
 *
 * Batching (one write per event-loop turn, not one per line): `run` and `done` lines are written at
 * once, because a `run` marker must be on disk before the stage touches its outs. `ok` lines are
 * deferred to the end of the current turn (setImmediate) or to the next `run`/`done`/`flush()`,
 * whichever comes first, and go out with it in one write. A crash before a deferred `ok` reached
 * the file leaves that stage's `run` marker unresolved, so the next run treats it as interrupted
 * and reruns it: never a recorded entry for outs that are not there, at worst one stage's work
 * redone. The caller `flush()`es before it saves the lockfile at the end of a run.
 *
 * It does not write the lockfile, and does not guard against two mlbuild processes sharing a
 * project (the caller holds the project lock).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { StageName } from '../util/brand.js';
import { stageName } from '../util/brand.js';
import { atomicWriteFileSync } from '../util/atomic-write.js';
import type { LockEntry } from './lockfile.js';
import { parseTagged, stringifyTagged } from './tagged-json.js';

export const JOURNAL_FILE = 'journal.jsonl';
const HEADER = '{"mlbuild-journal":1}\n';

export interface JournalOptions {
  /** fsync after every append (power-loss durability). Default false. */
  readonly fsync?: boolean;
}

type Line =
  | { op: 'run'; stage: string }
  | { op: 'done'; stage: string }
  | { op: 'ok'; stage: string; entry: LockEntry };

export class Journal {
  readonly #file: string;
  readonly #fsync: boolean;
  /** Opened on the first write, so read-only commands (status) leave no trace. */
  #fd: number | undefined;
  #closed = false;
  /** Byte length of the intact prefix of the file as read (-1: missing or not a journal). */
  #intact = -1;
  #sizeOnDisk = 0;
  /** The journal's text when opened, so a run that wrote nothing leaves the file alone. */
  #diskText: string | undefined;
  /** Successful entries from a previous run not yet folded into the lockfile. */
  #pending = new Map<StageName, LockEntry>();
  /** Stages marked running (by a previous run, or this one) and not finished since. */
  readonly #running = new Set<StageName>();
  /** The subset of #running inherited from the previous run. */
  readonly #interrupted = new Set<StageName>();
  /** `ok` lines not yet written (see Batching above). */
  #deferred = '';
  #flushSoon: NodeJS.Immediate | undefined;

  private constructor(file: string, fsync: boolean) {
    this.#file = file;
    this.#fsync = fsync;
  }

  /**
   * Reads `<mlcacheDir>/journal.jsonl` (a missing file is an empty journal). Writes nothing: the
   * file is created, or its torn last line cut off, only when something is first recorded.
   */
  static async open(mlcacheDir: string, opts: JournalOptions = {}): Promise<Journal> {
    return Promise.resolve(Journal.openSync(mlcacheDir, opts));
  }

  static openSync(mlcacheDir: string, opts: JournalOptions = {}): Journal {
    const file = path.join(path.resolve(mlcacheDir), JOURNAL_FILE);
    const j = new Journal(file, opts.fsync ?? false);
    let text: string | undefined;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (text !== undefined) {
      j.#intact = j.#replay(text);
      j.#sizeOnDisk = Buffer.byteLength(text);
      j.#diskText = text;
    }
    return j;
  }

  #fdForWrite(): number {
    if (this.#closed) throw new Error('Internal error: journal used after close()');
    if (this.#fd !== undefined) return this.#fd;
    if (this.#intact <= 0) {
      // New, or not ours (a foreign file yields no entries): start a fresh journal.
      fs.mkdirSync(path.dirname(this.#file), { recursive: true });
      fs.writeFileSync(this.#file, HEADER);
    } else if (this.#intact < this.#sizeOnDisk) {
      fs.truncateSync(this.#file, this.#intact); // drop a torn last line
    }
    this.#fd = fs.openSync(this.#file, 'a');
    return this.#fd;
  }

  /** Folds the lines into the in-memory state; returns the byte length of the intact prefix. */
  #replay(text: string): number {
    if (!text.startsWith(HEADER)) return 0;
    let pos = HEADER.length;
    let bytes = HEADER.length;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break; // torn (or no) last line
      const raw = text.slice(pos, nl);
      let line: Line;
      try {
        line = parseTagged(raw) as Line;
      } catch {
        break; // corrupt: keep what came before it
      }
      if (typeof line !== 'object' || line === null || typeof line.stage !== 'string') break;
      const name = stageName(line.stage);
      if (line.op === 'run') {
        this.#running.add(name);
        this.#interrupted.add(name);
      } else if (line.op === 'ok') {
        this.#running.delete(name);
        this.#interrupted.delete(name);
        this.#pending.set(name, line.entry);
      } else if (line.op === 'done') {
        this.#running.delete(name);
        this.#interrupted.delete(name);
      } // unknown ops (a newer mlbuild) are skipped
      bytes += Buffer.byteLength(raw) + 1;
      pos = nl + 1;
    }
    return bytes;
  }

  /** Writes the deferred lines and `line` (if any) in one write. */
  #write(text: string): void {
    const fd = this.#fdForWrite();
    const all = this.#deferred + text;
    if (all === '') return;
    fs.writeSync(fd, all);
    // Cleared only once written: after a failed write (ENOSPC) the lines are tried again with the next one.
    this.#deferred = '';
    if (this.#fsync) fs.fsyncSync(fd);
  }

  #append(line: Line): void {
    this.#write(stringifyTagged(line) + '\n');
  }

  /** Writes the deferred `ok` lines now (before the lockfile is saved, or the process exits). */
  flush(): void {
    if (this.#flushSoon !== undefined) clearImmediate(this.#flushSoon);
    this.#flushSoon = undefined;
    if (this.#deferred !== '') this.#write('');
  }

  /** Records that a stage finished successfully with this lock entry (and is no longer running). */
  async appendSuccess(name: StageName, e: LockEntry): Promise<void> {
    this.appendSuccessSync(name, e);
    return Promise.resolve();
  }

  /** Deferred to the end of this event-loop turn (see Batching above); `flush()` writes it at once. */
  appendSuccessSync(name: StageName, e: LockEntry): void {
    if (this.#closed) throw new Error('Internal error: journal used after close()');
    this.#deferred += stringifyTagged({ op: 'ok', stage: name, entry: e }) + '\n';
    this.#running.delete(name);
    this.#interrupted.delete(name);
    this.#flushSoon ??= setImmediate(() => {
      this.#flushSoon = undefined;
      try {
        this.flush();
      } catch {
        // Kept: the next `run`/`done` line or the caller's flush() writes them, or reports why not.
      }
    });
  }

  /** Records that a stage is about to run (before its outs are removed). */
  async markRunning(name: StageName): Promise<void> {
    this.markRunningSync(name);
    return Promise.resolve();
  }

  markRunningSync(name: StageName): void {
    this.#append({ op: 'run', stage: name });
    this.#running.add(name);
  }

  /** Records that a stage finished without a new entry (failed or skipped after markRunning). */
  async markDone(name: StageName): Promise<void> {
    this.markDoneSync(name);
    return Promise.resolve();
  }

  markDoneSync(name: StageName): void {
    this.#append({ op: 'done', stage: name });
    this.#running.delete(name);
    this.#interrupted.delete(name);
  }

  /** Entries a previous (crashed) run finished but did not fold into the lockfile. */
  pendingEntries(): Map<StageName, LockEntry> {
    return new Map(this.#pending);
  }

  /** Stages a previous run started and never finished (sorted). Not reset by clear(). */
  interrupted(): StageName[] {
    return [...this.#interrupted].sort();
  }

  /**
   * Call once the lockfile holds every pending and successful entry: rewrites the journal as its
   * header plus `run` markers for stages still unresolved, and forgets the pending entries.
   */
  async clear(): Promise<void> {
    this.clearSync();
    return Promise.resolve();
  }

  clearSync(): void {
    if (this.#closed) throw new Error('Internal error: journal used after close()');
    // Deferred `ok` lines are in the lockfile by now (the caller's contract): the new file needs none.
    if (this.#flushSoon !== undefined) clearImmediate(this.#flushSoon);
    this.#flushSoon = undefined;
    this.#deferred = '';
    let text = HEADER;
    for (const s of [...this.#running].sort()) text += JSON.stringify({ op: 'run', stage: s }) + '\n';
    this.#pending = new Map();
    if (this.#fd === undefined && this.#intact < 0 && text === HEADER) return; // nothing on disk, nothing to keep
    if (this.#fd === undefined && text === this.#diskText) return; // a no-op run: the file already says this
    // Replace atomically (a crash here keeps either the old or the new journal, never neither);
    // later appends go to the new file. Flushed only with `fsync`, like the appends: the lockfile
    // saved just before holds every entry, so an old journal coming back after a power loss
    // replays the same entries (and the next lockfile fsync commits this rename anyway).
    atomicWriteFileSync(this.#file, text, { fsync: this.#fsync });
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = fs.openSync(this.#file, 'a');
  }

  /** Writes what is deferred and closes the descriptor; the file stays for the next run. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    if (this.#fd !== undefined) fs.closeSync(this.#fd);
    this.#fd = undefined;
    this.#closed = true;
  }
}
