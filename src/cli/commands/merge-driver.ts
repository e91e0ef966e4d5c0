/**
 * `mlbuild merge-driver %O %A %B %P`: the git merge driver for `mlbuild.lock` (installed by
 * `mlbuild init`). git hands it three temp files (ancestor, ours, theirs) and expects the result
 * in %A, exit 0 for a clean merge and non-zero for a conflict. The per-stage logic lives in
 * state/lock-merge.ts; this file only reads, writes and explains.
 *
 * When a side is not a lockfile this version can read (already holds conflict markers, a newer
 * schema), it falls back to git's own line merge (`git merge-file`) so nothing is lost and git
 * still shows a conflict.
 */
import fs from 'node:fs';
import { gitExit } from '../../git/git.js';
import { Lockfile } from '../../state/lockfile.js';
import { mergeLockfiles } from '../../state/lock-merge.js';
import { formatDiagnostics, type Diagnostic } from '../../report/diagnostic.js';
import { processTerminal, type Terminal } from '../../report/terminal.js';
import { atomicWriteFile } from '../../util/atomic-write.js';
import { EXIT_FAILED, EXIT_OK } from '../../exit-codes.js';
import { LOCKFILE_NAME } from '../../project.js';
import { runTerminalCommand, type CommandResult } from '../context.js';
import { type Result, ok, err } from '../../util/result.js';

export interface MergeDriverArgs {
  base: string;
  ours: string;
  theirs: string;
  /** The lockfile's path in the repository (git's %P), for messages. */
  pathname: string | undefined;
  markerSize: number | undefined;
}

function readSide(file: string): Result<string, Diagnostic> {
  try {
    return ok(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    return err({ severity: 'error', code: 'unreadable-file', message: `cannot read '${file}': ${(e as Error).message}`, hint: 'git runs the driver as `mlbuild merge-driver %O %A %B %P`: pass the three files git names' });
  }
}

/**
 * A conflict is not an error: git expects a non-zero exit and the marked file, and the driver says
 * which entries to resolve. Only unreadable inputs are diagnostics (exit 2).
 */
export function mergeDriverCommand(a: MergeDriverArgs, term: Terminal = processTerminal()): Promise<number> {
  return runTerminalCommand((t) => mergeIn(a, t), term);
}

async function mergeIn(a: MergeDriverArgs, term: Terminal): Promise<CommandResult> {
  const name = a.pathname ?? LOCKFILE_NAME;
  const read = [a.base, a.ours, a.theirs].map((f) => readSide(f));
  const unreadable = read.flatMap((r) => (r.ok ? [] : [r.error]));
  if (unreadable.length > 0) return err(unreadable);
  const texts = read.map((r) => (r.ok ? r.value : ''));
  const [base, ours, theirs] = await Promise.all(([a.base, a.ours, a.theirs] as const).map((f, i) => Lockfile.parse(texts[i]!, f, process.cwd())));
  if (!base!.ok || !ours!.ok || !theirs!.ok) {
    for (const side of [base!, ours!, theirs!]) if (!side.ok) term.err(formatDiagnostics(side.error) + '\n');
    term.err(`${name}: not every side is a lockfile mlbuild can read; falling back to a line merge (resolve by hand, or delete the conflicting entries and run \`mlbuild repro\`)\n`);
    // merge-file's exit code is the number of conflicts (negative on error): a value, not a failure.
    const r = await gitExit(process.cwd(), ['merge-file', '-L', 'ours', '-L', 'base', '-L', 'theirs', ...(a.markerSize ? [`--marker-size=${a.markerSize}`] : []), '--', a.ours, a.base, a.theirs]);
    if (!r.ok) return r;
    if (r.value.stderr !== '') term.err(r.value.stderr);
    return ok(r.value.code === 0 ? EXIT_OK : EXIT_FAILED);
  }
  const merged = mergeLockfiles(base!.value, ours!.value, theirs!.value, {
    ours: 'ours',
    theirs: 'theirs',
    ...(a.markerSize ? { markerSize: a.markerSize } : {}),
  });
  await atomicWriteFile(a.ours, merged.text);
  if (merged.conflicts.length === 0) return ok(EXIT_OK);
  for (const stage of merged.conflicts) term.err(`${name}: stage '${stage}' was changed differently on both sides\n`);
  term.err(
    `${name}: ${merged.conflicts.length} conflicting ${merged.conflicts.length === 1 ? 'entry' : 'entries'} marked in the file; keep one side of each ` +
      `(or delete the entry and run \`mlbuild repro\` to record it afresh), then \`git add ${name}\`\n`,
  );
  return ok(EXIT_FAILED);
}
