/**
 * Located diagnostics: every user-facing error about an input file names file:line:col, shows the
 * source line with a caret under the offending span, and says how to fix it. This module formats
 * them; it does not decide what is an error (config/ and graph/ do).
 */
import type { Terminal } from './terminal.js';

export interface SourceLocation {
  /** Path as shown to the user (relative to the cwd when possible). */
  readonly file: string;
  /** 1-based line and column. */
  readonly line: number;
  readonly col: number;
  /** Length of the span to underline (>= 1). */
  readonly length: number;
  /** The full text of the source line, without its newline. */
  readonly sourceLine: string;
}

/** Every code a diagnostic may carry: `--json` consumers match on these, so each is listed here once. */
export type DiagnosticCode =
  | 'bad-artifact-name'
  | 'bad-dvc-config'
  | 'bad-foreach'
  | 'bad-interpolation'
  | 'bad-metrics-file'
  | 'bad-model'
  | 'bad-override'
  | 'bad-params-file'
  | 'bad-pointer'
  | 'bad-registry-config'
  | 'bad-remote-url'
  | 'bad-sample'
  | 'bad-stage-name'
  | 'bad-value'
  | 'cannot-listen'
  | 'corrupt-object'
  | 'cycle'
  | 'duplicate-out'
  | 'duplicate-stage'
  | 'empty-expansion'
  | 'file-too-big'
  | 'git-failed'
  | 'git-missing'
  | 'lock-invalid'
  | 'lock-syntax'
  | 'lock-version'
  | 'missing-data'
  | 'missing-dep'
  | 'missing-file'
  | 'missing-key'
  | 'missing-param'
  | 'model-load'
  | 'no-default-remote'
  | 'no-pipeline'
  | 'no-plot-data'
  | 'no-remote'
  | 'not-built'
  | 'not-git'
  | 'outside-project'
  | 'overlapping-out'
  | 'plots-dir-overlaps-out'
  | 'registry'
  | 'registry-refused'
  | 'remote-unavailable'
  | 'resources'
  | 'sweep-too-big'
  | 'symlink-loop'
  | 'uncommitted-changes'
  | 'undefined-var'
  | 'unknown-experiment'
  | 'unknown-group'
  | 'unknown-key'
  | 'unknown-option'
  | 'unknown-remote'
  | 'unknown-revision'
  | 'unknown-target'
  | 'unknown-template'
  | 'unreadable-file'
  | 'unsupported-key'
  | 'unsupported-option'
  | 'unsupported-params-file'
  | 'unsupported-vars-file'
  | 'usage'
  | 'verify-git'
  | 'verify-input'
  | 'write-failed'
  | 'wrong-type'
  | 'yaml'
  | 'yaml-alias-limit'
  | 'yaml-syntax';

export interface Diagnostic {
  readonly severity: 'error' | 'warning';
  /** Stable machine-readable code, e.g. `unknown-key`, `cycle`, `undefined-var`. */
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly location?: SourceLocation;
  /** One sentence telling the user how to fix it. */
  readonly hint?: string;
  /** Further locations (e.g. the other stage of a duplicate out). */
  readonly related?: readonly { readonly message: string; readonly location: SourceLocation }[];
}

/** Builds a SourceLocation from a whole text and a 0-based offset range. */
export function locate(file: string, text: string, offset: number, endOffset?: number): SourceLocation {
  const clamped = Math.max(0, Math.min(offset, text.length));
  const lineStart = text.lastIndexOf('\n', clamped - 1) + 1;
  let lineEnd = text.indexOf('\n', clamped);
  if (lineEnd === -1) lineEnd = text.length;
  let line = 1;
  for (let i = 0; i < lineStart; i++) if (text.charCodeAt(i) === 10) line++;
  const sourceLine = text.slice(lineStart, lineEnd).replace(/\r$/, '');
  const end = Math.min(endOffset ?? clamped + 1, lineEnd);
  return { file, line, col: clamped - lineStart + 1, length: Math.max(1, end - clamped), sourceLine };
}

function formatLocation(loc: SourceLocation): string[] {
  const num = String(loc.line);
  const pad = ' '.repeat(num.length);
  const caretPad = loc.sourceLine.slice(0, loc.col - 1).replace(/[^\t]/g, ' ');
  const width = Math.max(1, Math.min(loc.length, loc.sourceLine.length - (loc.col - 1)));
  return [`  ${num} | ${loc.sourceLine}`, `  ${pad} | ${caretPad}${'^'.repeat(width)}`];
}

/** Renders one diagnostic as plain text (no colour; reporters add colour if they want). */
export function formatDiagnostic(d: Diagnostic): string {
  const lines: string[] = [];
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.col}: ` : '';
  lines.push(`${where}${d.severity}: ${d.message}`);
  if (d.location) lines.push(...formatLocation(d.location));
  for (const r of d.related ?? []) {
    lines.push(`  ${r.location.file}:${r.location.line}:${r.location.col}: note: ${r.message}`);
    lines.push(...formatLocation(r.location));
  }
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join('\n');
}

export function formatDiagnostics(ds: readonly Diagnostic[]): string {
  return ds.map(formatDiagnostic).join('\n\n');
}

export const errorCount = (ds: readonly Diagnostic[]): number => ds.filter((d) => d.severity === 'error').length;

/** Prints `ds` on stderr, with a count when several are errors. */
export function printDiagnostics(term: Terminal, ds: readonly Diagnostic[]): void {
  const errors = ds.filter((d) => d.severity === 'error').length;
  term.err(formatDiagnostics(ds) + '\n');
  if (errors > 1) term.err(`\n${errors} errors\n`);
}
