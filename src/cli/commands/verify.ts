/**
 * `mlbuild verify [TARGET...] [--json] [-j N] [--keep]`: wires the rebuild's reporter, executor and
 * pool, runs the verify use case (verify/verify.ts) and prints its report. Exit 0 when every stage
 * reproduced, 1 when one did not (or is stale, or failed to rebuild), 130 when interrupted: the
 * report's own codes. What stops it before a report (usage and config errors: 2; input data that is
 * missing or corrupt: 1) are diagnostics, printed and mapped to the exit code by cli/context.ts.
 */
import { runCommand, makeReporter, whileInterruptible, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { resolveGpus } from '../../run/session.js';
import { verify } from '../../verify/verify.js';
import { renderVerifyText, verifyJson } from '../../verify/render.js';
import { LocalExecutor } from '../../execute/local-executor.js';
import { localCapacity } from '../../schedule/resources.js';
import { PlainReporter } from '../../report/reporters/plain.js';
import type { Terminal } from '../../report/terminal.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK } from '../../exit-codes.js';

export interface VerifyArgs {
  targets: string[];
  json: boolean;
  jobs: number | undefined;
  keep: boolean;
  saveCache: boolean;
}

export function verifyCommand(g: GlobalOptions, a: VerifyArgs): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const problems: Diagnostic[] = [];
    if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1)) {
      problems.push({ severity: 'error', code: 'usage', message: `--jobs must be a whole number >= 1 (got ${a.jobs})`, hint: 'e.g. -j 4' });
    }
    const gpus = resolveGpus(undefined, process.env);
    if (!gpus.ok) problems.push(...gpus.error);
    // --json owes stdout its document even when verify stops before a report; stderr gets the diagnostics.
    const fail = (ds: readonly Diagnostic[]): CommandResult => {
      if (a.json) term.out(JSON.stringify({ version: 1, ok: false, interrupted: false, stages: [], diagnostics: ds }, null, 2) + '\n');
      return err([...ds]);
    };
    if (problems.length > 0 || !gpus.ok) return fail(problems);

    // With --json, stdout holds only the document: the rebuild's progress goes to stderr.
    const errOnly: Terminal = { ...term, out: (t) => term.err(t), isTTY: false };
    const reporter = a.json ? new PlainReporter(errOnly, { explain: false, stageOutputToStderr: true }) : makeReporter(term, { json: false, explain: false });
    return whileInterruptible(reporter, async (signal): Promise<CommandResult> => {
      const result = await verify(
        project,
        {
          targets: a.targets,
          keep: a.keep,
          saveCache: a.saveCache,
          capacity: localCapacity(a.jobs, gpus.value.ids, 1),
          gpusKnown: gpus.value.known,
        },
        {
          reporter,
          executor: new LocalExecutor(),
          signal,
          onStart: ({ head, worktree }) => (a.json ? errOnly : term).out(`Verifying HEAD ${head.slice(0, 7)}: rebuilding every stage from scratch in ${worktree}\n`),
        },
      );
      if (!result.ok) return fail(result.error);
      const report = result.value;
      if (a.json) {
        term.out(JSON.stringify(verifyJson(report), null, 2) + '\n');
      } else {
        const text = renderVerifyText(report);
        term.out(text.out);
        if (text.err) term.err(text.err);
      }
      return ok(report.interrupted ? EXIT_INTERRUPTED : report.ok ? EXIT_OK : EXIT_FAILED);
    });
  });
}
