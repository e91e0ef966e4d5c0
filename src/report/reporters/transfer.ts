/**
 * Reporters of `push`, `fetch` and `pull`: a live line on a terminal (files, bytes, rate), plain
 * start and end lines for pipes and CI, or one JSON document (`--json`). Errors name the object
 * and the out or run-cache entry that needed it.
 */
import { StatusLine } from '../status-line.js';
import type { TransferEvent, TransferListener, TransferResult } from '../../remote/transfer.js';
import { formatDiagnostics, type Diagnostic } from '../diagnostic.js';
import { formatBytes, formatDuration, type Terminal } from '../terminal.js';

export type TransferCommand = 'push' | 'fetch' | 'pull';

export interface TransferSummary {
  readonly command: TransferCommand;
  readonly remote: string;
  readonly url: string;
  readonly result: TransferResult;
  readonly elapsedMs: number;
  /** pull: the outs put back into the workspace. */
  readonly restored?: readonly string[];
  /** pull: outs the cache still lacks after the fetch. */
  readonly notRestored?: readonly string[];
}

export interface TransferReporter extends TransferListener {
  warning(message: string): void;
  /** Problems met on the way that do not stop the transfer (printed on stderr). */
  diagnostics(ds: readonly Diagnostic[]): void;
  /**
   * The command stopped on `ds` before transferring: stderr gets them from the command's one error
   * path (cli/context.ts); the JSON reporter still owes stdout its document.
   */
  stopped(ds: readonly Diagnostic[]): void;
  finish(s: TransferSummary): void;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
const rate = (bytes: number, ms: number): string => `${formatBytes(ms > 0 ? Math.round((bytes * 1000) / ms) : 0)}/s`;
const PAST: Record<TransferCommand, string> = { push: 'Pushed', fetch: 'Fetched', pull: 'Fetched' };

export const transferOk = (s: TransferSummary): boolean => s.result.failed.length === 0 && s.result.missing.length === 0 && (s.notRestored?.length ?? 0) === 0;

export class PlainTransferReporter implements TransferReporter {
  protected started = performance.now();
  protected plan: { files: number; bytes: number } = { files: 0, bytes: 0 };

  constructor(
    protected readonly term: Terminal,
    protected readonly command: TransferCommand,
    protected readonly remote: string,
  ) {}

  on(e: TransferEvent): void {
    if (e.type !== 'transfer-start' || e.files === 0) return;
    this.plan = { files: this.plan.files + e.files, bytes: this.plan.bytes + e.bytes };
    const verb = e.direction === 'push' ? `Pushing ${plural(e.files, 'file')} (${formatBytes(e.bytes)}) to` : `Fetching ${plural(e.files, 'file')} (${formatBytes(e.bytes)}) from`;
    this.line(`${verb} '${this.remote}'${e.present ? `; ${e.present} already there` : ''}`);
  }

  protected line(text: string): void {
    this.term.out(text + '\n');
  }

  protected errLine(text: string): void {
    this.term.err(text + '\n');
  }

  warning(message: string): void {
    this.errLine(`warning: ${message}`);
  }

  diagnostics(ds: readonly Diagnostic[]): void {
    if (ds.length > 0) this.term.err(formatDiagnostics(ds) + '\n');
  }

  stopped(): void {
    // Nothing on stdout: the diagnostics are the whole story.
  }

  finish(s: TransferSummary): void {
    const r = s.result;
    for (const f of r.failed) this.errLine(`error: ${f.message} (needed by ${f.neededBy})`);
    for (const m of r.missing) this.errLine(`error: ${m.object} ${m.message} (needed by ${m.neededBy})`);
    for (const p of s.restored ?? []) this.line(`restored ${p}`);
    for (const p of s.notRestored ?? []) this.errLine(`error: ${p} is not in the cache and could not be fetched`);
    const parts = [`${PAST[s.command]} ${plural(r.transferred, 'object')} (${formatBytes(r.bytes)}) ${s.command === 'push' ? 'to' : 'from'} '${s.remote}' in ${formatDuration(s.elapsedMs)} (${rate(r.bytes, s.elapsedMs)})`];
    if (r.present) parts.push(`${r.present} already there`);
    if (r.runEntries) parts.push(plural(r.runEntries, 'run-cache entry').replace(/entrys$/, 'entries'));
    if (s.restored) parts.push(`${plural(s.restored.length, 'out')} restored`);
    const problems = r.failed.length + r.missing.length + (s.notRestored?.length ?? 0);
    if (problems) parts.push(`${problems} failed`);
    const text = parts.join('; ');
    if (problems) this.errLine(text);
    else this.line(text);
  }
}

/** The plain lines, plus a live progress line redrawn at most ten times a second. */
export class PrettyTransferReporter extends PlainTransferReporter {
  private readonly status = new StatusLine(this.term);
  private lastDraw = 0;

  override on(e: TransferEvent): void {
    if (e.type === 'transfer-start') {
      this.clear();
      super.on(e);
      return;
    }
    const now = performance.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const elapsed = now - this.started;
    const text = `[${this.command} ${this.remote}] ${e.files}/${this.plan.files} files  ${formatBytes(e.bytes)}/${formatBytes(this.plan.bytes)}  ${rate(e.bytes, elapsed)}`;
    this.status.show(text);
  }

  private clear(): void {
    this.status.clear();
  }

  protected override line(text: string): void {
    this.clear();
    super.line(text);
  }

  protected override errLine(text: string): void {
    this.clear();
    super.errLine(text);
  }
}

/** One document on stdout at the end (`version: 1`); warnings and diagnostics go to stderr. */
export class JsonTransferReporter implements TransferReporter {
  private readonly diags: Diagnostic[] = [];

  constructor(
    private readonly term: Terminal,
    private readonly command: TransferCommand,
  ) {}

  on(): void {}

  warning(message: string): void {
    this.term.err(`warning: ${message}\n`);
  }

  diagnostics(ds: readonly Diagnostic[]): void {
    this.diags.push(...ds);
    if (ds.length > 0) this.term.err(formatDiagnostics(ds) + '\n');
  }

  stopped(ds: readonly Diagnostic[]): void {
    this.term.out(JSON.stringify({ version: 1, command: this.command, ok: false, diagnostics: [...this.diags, ...ds] }, null, 2) + '\n');
  }

  finish(s: TransferSummary): void {
    const r = s.result;
    const doc = {
      version: 1,
      command: s.command,
      ok: transferOk(s),
      remote: s.remote,
      url: s.url,
      transferred: { objects: r.transferred, bytes: r.bytes },
      present: r.present,
      run_entries: r.runEntries,
      elapsed_ms: Math.round(s.elapsedMs),
      bytes_per_second: s.elapsedMs > 0 ? Math.round((r.bytes * 1000) / s.elapsedMs) : 0,
      errors: [...r.failed.map((f) => ({ kind: 'corrupt-or-failed', ...f })), ...r.missing.map((m) => ({ kind: 'missing', ...m, message: `${m.object} ${m.message}` }))].map((e) => ({
        kind: e.kind,
        object: e.object,
        needed_by: e.neededBy,
        message: e.message,
      })),
      ...(s.restored ? { restored: s.restored, not_restored: s.notRestored ?? [] } : {}),
    };
    this.term.out(JSON.stringify(doc, null, 2) + '\n');
  }
}

export function makeTransferReporter(term: Terminal, command: TransferCommand, remote: string, json: boolean): TransferReporter {
  if (json) return new JsonTransferReporter(term, command);
  return term.isTTY ? new PrettyTransferReporter(term, command, remote) : new PlainTransferReporter(term, command, remote);
}
