/**
 * JSON reporter: stdout carries exactly one JSON document at the end (schema documented in the
 * README, `version: 1`); stage output and warnings go to stderr so the document stays parseable.
 */
import type { Reporter, ReproEvent, RunSummary } from '../events.js';
import { formatDiagnostics, type Diagnostic } from '../diagnostic.js';
import { formatReason } from '../../run/reason.js';
import type { Terminal } from '../terminal.js';
import { PlainReporter } from './plain.js';

export class JsonReporter implements Reporter {
  private readonly stderrLines: PlainReporter;
  private readonly diags: Diagnostic[] = [];
  private printed = false;

  constructor(private readonly term: Terminal) {
    const errOnly: Terminal = { ...term, out: (t) => term.err(t) };
    this.stderrLines = new PlainReporter(errOnly, { explain: false, stageOutputToStderr: true });
  }

  on(e: ReproEvent): void {
    if (e.type === 'stage-output' || e.type === 'warning' || e.type === 'interrupted' || e.type === 'stage-failed' || e.type === 'stage-skipped') this.stderrLines.on(e);
  }

  diagnostics(ds: readonly Diagnostic[]): void {
    this.diags.push(...ds);
    if (ds.length === 0) return;
    this.term.err(formatDiagnostics(ds) + '\n');
    // An error ends the command before any stage: the document says so, so `--json` always parses.
    if (ds.some((d) => d.severity === 'error')) {
      this.term.out(JSON.stringify({ version: 1, ok: false, interrupted: false, stages: [], diagnostics: this.diagDocs() }, null, 2) + '\n');
      this.printed = true;
    }
  }

  private diagDocs(): unknown[] {
    return this.diags.map((d) => ({ severity: d.severity, code: d.code, message: d.message, location: d.location, hint: d.hint }));
  }

  finish(s: RunSummary): void {
    if (this.printed) return;
    const doc = {
      version: 1,
      ok: s.ok,
      interrupted: s.interrupted,
      elapsed_ms: Math.round(s.elapsedMs),
      stages: s.stages.map((st) => ({
        name: st.name,
        outcome: st.outcome,
        reasons: st.reasons.map(formatReason),
        reason_codes: st.reasons.map((r) => r.kind),
        ...(st.durationMs !== undefined ? { duration_ms: Math.round(st.durationMs) } : {}),
        ...(st.message ? { message: st.message } : {}),
        ...(st.failure ? { failure: st.failure } : {}),
        ...(st.restoredFrom ? { restored_from: st.restoredFrom } : {}),
        ...(st.expectedMs !== undefined ? { expected_ms: Math.round(st.expectedMs) } : {}),
      })),
      ...(this.diags.length > 0 ? { diagnostics: this.diagDocs() } : {}),
    };
    this.term.out(JSON.stringify(doc, null, 2) + '\n');
  }
}
