/**
 * Plain reporter: one line per decision, for pipes, CI logs and `--explain`. Stage output is
 * prefixed with the stage name so interleaved parallel stages stay readable. The pretty reporter
 * extends it with a live status line.
 */
import type { Reporter, ReproEvent, RunSummary } from '../events.js';
import { formatDiagnostics, type Diagnostic } from '../diagnostic.js';
import { formatReason } from '../../run/reason.js';
import { formatDuration, type Terminal } from '../terminal.js';
import type { StageName } from '../../util/brand.js';

export interface PlainOptions {
  /** Also print fresh stages and the reasons of restores. */
  readonly explain: boolean;
  /** Where stage output goes: the normal stream, or stderr when stdout carries JSON. */
  readonly stageOutputToStderr?: boolean;
}

const RESTORED_FROM = { cache: 'cache', 'run-cache': 'run-cache', remote: 'remote cache', 'remote-run-cache': 'remote run-cache' } as const;

export class PlainReporter implements Reporter {
  /** Unterminated trailing text of each stage's stream, so lines are never split across prefixes. */
  private readonly partial = new Map<string, string>();

  constructor(
    protected readonly term: Terminal,
    protected readonly opts: PlainOptions,
  ) {}

  protected line(text: string): void {
    this.term.out(text + '\n');
  }

  protected errLine(text: string): void {
    this.term.err(text + '\n');
  }

  on(e: ReproEvent): void {
    switch (e.type) {
      case 'start':
        break;
      case 'stage-fresh':
        if (e.adopted) this.line(`Stage '${e.stage}' adopted from dvc.lock (its deps, params and outs match), skipping`);
        else if (this.opts.explain) this.line(`Stage '${e.stage}' didn't change, skipping`);
        break;
      case 'stage-frozen':
        if (this.opts.explain) this.line(`Stage '${e.stage}' is frozen, skipping`);
        break;
      case 'stage-restored':
        this.line(
          `Stage '${e.stage}' restored from the ${RESTORED_FROM[e.source]}` +
            (e.reasons.length > 0 || e.note ? ` (${[...e.reasons.map(formatReason), ...(e.note ? [e.note] : [])].join('; ')})` : ''),
        );
        break;
      case 'stage-started':
        this.line(
          `Running stage '${e.stage}'` +
            (e.reasons.length > 0 ? `: ${e.reasons.map(formatReason).join('; ')}` : '') +
            (e.gpuIds.length > 0 ? ` [GPU ${e.gpuIds.join(',')}]` : ''),
        );
        break;
      case 'stage-submitted':
        this.line(`Stage '${e.stage}' submitted as ${e.job}`);
        break;
      case 'stage-output':
        this.output(e.stage, e.stream, e.chunk);
        break;
      case 'stage-succeeded':
        this.flushPartial(e.stage);
        this.line(`Stage '${e.stage}' succeeded in ${formatDuration(e.durationMs)}`);
        break;
      case 'stage-failed':
        this.flushPartial(e.stage);
        this.errLine(`Stage '${e.stage}' failed: ${e.message}${e.logPath ? ` (log: ${e.logPath})` : ''}`);
        break;
      case 'stage-skipped':
        if (e.blockedBy) this.errLine(`Stage '${e.stage}' skipped: upstream '${e.blockedBy}' failed`);
        break;
      case 'stage-would-run':
        this.line(
          `${e.restore ? 'Would restore' : 'Would run'} stage '${e.stage}': ${e.reasons.map(formatReason).join('; ')}` +
            (e.expectedMs !== undefined ? ` (~${formatDuration(e.expectedMs)} last time)` : ''),
        );
        break;
      case 'warning':
        this.errLine(`warning: ${e.message}`);
        break;
      case 'interrupted':
        this.errLine(`Interrupted (${e.signal}): stopping running stages; completed stages are recorded`);
        break;
    }
  }

  private output(stage: StageName, stream: 'stdout' | 'stderr', chunk: string): void {
    const key = `${stage}\0${stream}`;
    const text = (this.partial.get(key) ?? '') + chunk;
    const lines = text.split('\n');
    this.partial.set(key, lines.pop()!);
    const write = stream === 'stderr' || this.opts.stageOutputToStderr ? (t: string) => this.errLine(t) : (t: string) => this.line(t);
    for (const l of lines) write(`[${stage}] ${l}`);
  }

  private flushPartial(stage: StageName): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const key = `${stage}\0${stream}`;
      const rest = this.partial.get(key);
      if (rest) this.output(stage, stream, '\n');
      this.partial.delete(key);
    }
  }

  diagnostics(ds: readonly Diagnostic[]): void {
    if (ds.length > 0) this.term.err(formatDiagnostics(ds) + '\n');
  }

  finish(s: RunSummary): void {
    if (s.dry) {
      const run = s.stages.filter((x) => x.outcome === 'would-run').length;
      const restore = s.stages.filter((x) => x.outcome === 'would-restore').length;
      let text = run + restore === 0 ? 'Nothing to do: every stage is up to date' : `Dry run: ${run} would run, ${restore} would be restored, ${s.stages.length - run - restore} unchanged`;
      if (run > 0 && s.expectedMs) {
        const { total, unknown } = s.expectedMs;
        text += `; expected ${formatDuration(total)} of stage time from past runs`;
        if (unknown > 0) text += ` (+${unknown} stage${unknown === 1 ? '' : 's'} never run before)`;
      }
      this.line(text);
      return;
    }
    const count = (o: string): number => s.stages.filter((x) => x.outcome === o).length;
    const parts = [
      `${count('succeeded')} ran`,
      `${count('restored')} restored`,
      `${count('fresh') + count('frozen')} unchanged`,
    ];
    const failed = count('failed');
    const skipped = count('skipped') + count('not-run');
    if (failed) parts.push(`${failed} failed`);
    if (skipped) parts.push(`${skipped} not run`);
    const verdict = s.interrupted ? 'Interrupted' : s.ok ? 'Done' : 'Failed';
    const text = `${verdict}: ${parts.join(', ')} in ${formatDuration(s.elapsedMs)}`;
    if (s.ok) this.line(text);
    else this.errLine(text);
  }
}
