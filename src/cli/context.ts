/**
 * What every command needs before it does its own work: the project, the terminal, the reporter
 * matching the output mode, and one way to print located diagnostics and exit 2.
 */
import { findProject, type Project } from '../project.js';
import { processTerminal, type Terminal } from '../report/terminal.js';
import { printDiagnostics, type Diagnostic, type DiagnosticCode } from '../report/diagnostic.js';
import { EXIT_FAILED, EXIT_USAGE } from '../exit-codes.js';
import type { Reporter } from '../report/events.js';
import { PlainReporter } from '../report/reporters/plain.js';
import { PrettyReporter } from '../report/reporters/pretty.js';
import { JsonReporter } from '../report/reporters/json.js';
import { type Result, ok } from '../util/result.js';

export interface GlobalOptions {
  readonly file: string | undefined;
  readonly cwd: string;
}

export interface CommandContext {
  readonly project: Project;
  readonly term: Terminal;
}

export function openContext(g: GlobalOptions, term: Terminal = processTerminal()): Result<CommandContext, Diagnostic[]> {
  const project = findProject(g.cwd, g.file);
  if (!project.ok) return project;
  return ok({ project: project.value, term });
}

export { printDiagnostics };

export function makeReporter(term: Terminal, mode: { json: boolean; explain: boolean }): Reporter {
  if (mode.json) return new JsonReporter(term);
  if (term.isTTY) return new PrettyReporter(term, { explain: mode.explain });
  return new PlainReporter(term, { explain: mode.explain });
}

/** Runs a command body with its context, or prints why there is none (no pipeline file) and exits 2. */
export async function withContext(g: GlobalOptions, body: (ctx: CommandContext) => Promise<number>): Promise<number> {
  const ctx = openContext(g);
  if (!ctx.ok) {
    printDiagnostics(processTerminal(), ctx.error);
    return 2;
  }
  return body(ctx.value);
}

/**
 * Codes of failures found while doing the work (the remote, the cache, git), not in what the user
 * wrote: they exit 1. Every other diagnostic is bad input (a file, a flag) and exits 2.
 */
const RUNTIME_CODES: ReadonlySet<DiagnosticCode> = new Set<DiagnosticCode>(['remote-unavailable', 'corrupt-object', 'verify-input', 'verify-git', 'write-failed', 'symlink-loop', 'git-failed', 'git-missing']);

/** The exit code for a command that stopped on `ds`: 1 when any is a runtime failure, else 2. */
export const exitCodeFor = (ds: readonly Diagnostic[]): number => (ds.some((d) => d.severity === 'error' && RUNTIME_CODES.has(d.code)) ? EXIT_FAILED : EXIT_USAGE);

/** What a command body returns: its exit code, or the diagnostics that stopped it. */
export type CommandResult = Result<number, Diagnostic[]>;

/**
 * The one error path of a converted command: the body returns its exit code or its diagnostics,
 * and this prints the diagnostics and picks the exit code. (Commands not yet converted use
 * `withContext` and print their own.)
 */
export function runCommand(g: GlobalOptions, body: (ctx: CommandContext) => Promise<CommandResult>): Promise<number> {
  return withContext(g, async (ctx) => {
    const r = await body(ctx);
    if (r.ok) return r.value;
    printDiagnostics(ctx.term, r.error);
    return exitCodeFor(r.error);
  });
}

export { STOP_SIGNALS, whileInterruptible } from '../run/interrupt.js';
