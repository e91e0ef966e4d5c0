/**
 * What every command needs before it does its own work: the project, the terminal, the reporter
 * matching the output mode, and the one path by which a command's diagnostics reach stderr and
 * become its exit code.
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

export function makeReporter(term: Terminal, mode: { json: boolean; explain: boolean }): Reporter {
  if (mode.json) return new JsonReporter(term);
  if (term.isTTY) return new PrettyReporter(term, { explain: mode.explain });
  return new PlainReporter(term, { explain: mode.explain });
}

/**
 * Codes of failures found while doing the work (the remote, the cache, git), not in what the user
 * wrote: they exit 1. Every other diagnostic is bad input (a file, a flag) and exits 2 (so does
 * `verify-git`: verify outside git history, or with no commit to rebuild, is a usage error).
 */
const RUNTIME_CODES: ReadonlySet<DiagnosticCode> = new Set<DiagnosticCode>([
  'corrupt-object',
  'git-failed',
  'git-missing',
  'model-load',
  'no-plot-data',
  'not-built',
  'registry-refused',
  'remote-unavailable',
  'symlink-loop',
  'uncommitted-changes',
  'verify-input',
  'write-failed',
]);

/** The exit code for a command that stopped on `ds`: 1 when any is a runtime failure, else 2. */
export const exitCodeFor = (ds: readonly Diagnostic[]): number => (ds.some((d) => d.severity === 'error' && RUNTIME_CODES.has(d.code)) ? EXIT_FAILED : EXIT_USAGE);

/** What a command body returns: its exit code, or the diagnostics that stopped it. */
export type CommandResult = Result<number, Diagnostic[]>;

/**
 * Where every command ends: prints the diagnostics of a failed body on stderr and picks the exit
 * code (`exitCodeFor`); a body that succeeded gives its own (e.g. 1 for `status --check` finding
 * something stale). No command prints `error: ...` itself.
 */
export function finishCommand(term: Terminal, r: CommandResult): number {
  if (r.ok) return r.value;
  printDiagnostics(term, r.error);
  return exitCodeFor(r.error);
}

/** The one error path of a command that needs no project (init, model, serve, add, merge-driver). */
export async function runTerminalCommand(body: (term: Terminal) => Promise<CommandResult>, term: Terminal = processTerminal()): Promise<number> {
  return finishCommand(term, await body(term));
}

/**
 * The one error path of a project command: opens the context (no pipeline file: exit 2 with its
 * diagnostic), runs the body and ends it through `finishCommand`.
 */
export function runCommand(g: GlobalOptions, body: (ctx: CommandContext) => Promise<CommandResult>, term: Terminal = processTerminal()): Promise<number> {
  return runTerminalCommand(async (t) => {
    const ctx = openContext(g, t);
    return ctx.ok ? body(ctx.value) : ctx;
  }, term);
}

export { STOP_SIGNALS, whileInterruptible } from '../run/interrupt.js';
