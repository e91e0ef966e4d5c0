/**
 * Pretty reporter for a terminal: the plain lines, plus one live status line at the bottom
 * (done/total, running stages, elapsed, ETA when history gives one), redrawn in place.
 */
import type { ReproEvent, RunSummary } from '../events.js';
import type { Diagnostic } from '../diagnostic.js';
import { formatDuration, type Terminal } from '../terminal.js';
import { PlainReporter, type PlainOptions } from './plain.js';
import { StatusLine } from '../status-line.js';

export class PrettyReporter extends PlainReporter {
  private total = 0;
  private done = 0;
  /** Running stages with their start time and expected duration (from history). */
  private readonly running = new Map<string, { at: number; expectedMs: number | undefined }>();
  private readonly startedAt = performance.now();
  private readonly status: StatusLine;
  private timer: NodeJS.Timeout | undefined;

  constructor(term: Terminal, opts: PlainOptions) {
    super(term, opts);
    this.status = new StatusLine(term);
  }

  private clearStatus(): void {
    this.status.clear();
  }

  private drawStatus(): void {
    if (this.total === 0) return;
    const elapsed = formatDuration(performance.now() - this.startedAt);
    const names = [...this.running.keys()];
    let text = `[${this.done}/${this.total}] ${elapsed}`;
    const now = performance.now();
    const left = [...this.running.values()].map((r) => (r.expectedMs === undefined ? undefined : Math.max(0, r.at + r.expectedMs - now)));
    if (left.length > 0 && left.every((l) => l !== undefined)) text += ` ETA ~${formatDuration(Math.max(...(left as number[])))}`;
    if (names.length > 0) text += ` running: ${names.join(', ')}`;
    this.status.show(text);
  }

  protected override line(text: string): void {
    this.clearStatus();
    super.line(text);
  }

  protected override errLine(text: string): void {
    this.clearStatus();
    super.errLine(text);
  }

  override on(e: ReproEvent): void {
    switch (e.type) {
      case 'start':
        this.total = e.total;
        this.timer = setInterval(() => this.drawStatus(), 250);
        this.timer.unref();
        break;
      case 'stage-started':
        this.running.set(e.stage, { at: performance.now(), expectedMs: e.expectedMs });
        break;
      case 'stage-fresh':
      case 'stage-frozen':
      case 'stage-restored':
      case 'stage-skipped':
        this.done++;
        break;
      case 'stage-succeeded':
      case 'stage-failed':
        this.running.delete(e.stage);
        this.done++;
        break;
      default:
        break;
    }
    super.on(e);
    if (e.type !== 'stage-output') this.drawStatus();
  }

  override diagnostics(ds: readonly Diagnostic[]): void {
    this.clearStatus();
    super.diagnostics(ds);
  }

  override finish(s: RunSummary): void {
    if (this.timer) clearInterval(this.timer);
    this.clearStatus();
    super.finish(s);
  }
}
