/** `mlbuild repro`: wires the workspace, cache, executor, pool and reporter, then runs the use case. */
import { runCommand, makeReporter, type CommandResult, type GlobalOptions, type CommandContext } from '../context.js';
import { ok, err } from '../../util/result.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import { removeLeftovers } from '../../state/leftovers.js';
import { cacheDirOf } from '../../project.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { chooseExecutor, reproLocked, resolveGpus, type ReproArgs } from '../../run/session.js';
import type { Primed } from '../../run/fresh-snapshot.js';

const usage = (message: string, hint: string): Diagnostic => ({ severity: 'error', code: 'usage', message, hint });

/** `primed`: what the up-to-date check (run/up-to-date.ts) already proved unchanged. */
export function reproCommand(g: GlobalOptions, a: ReproArgs, primed?: Primed): Promise<number> {
  return runCommand(g, (ctx) => reproIn(ctx, a, primed));
}

async function reproIn({ project, term }: CommandContext, a: ReproArgs, primed: Primed | undefined): Promise<CommandResult> {
  const problems: Diagnostic[] = [];
  if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1)) problems.push(usage(`--jobs must be a whole number >= 1 (got ${a.jobs})`, 'e.g. -j 4'));
  if (!Number.isInteger(a.gpuSlots) || a.gpuSlots < 1) problems.push(usage(`--gpu-slots must be a whole number >= 1 (got ${a.gpuSlots})`, 'e.g. --gpu-slots 2'));
  const gpus = resolveGpus(a.gpus, process.env);
  if (!gpus.ok) problems.push(...gpus.error);
  const chosen = await chooseExecutor(project, a);
  if (!chosen.ok) problems.push(...chosen.error);
  if (problems.length > 0 || !gpus.ok || !chosen.ok) return err(problems);

  const reporter = makeReporter(term, { json: a.json, explain: a.explain });
  let waited = false;
  const lock = a.dry
    ? undefined
    : await acquireProjectLock(project.mlcacheDir, (pid) => {
        waited = true;
        reporter.on({ type: 'warning', message: `another mlbuild (pid ${pid}) is working on this project; waiting for it to finish` });
      });
  // A run that died (kill -9) left its temp files: the first run after it clears them.
  if (lock?.tookOver) removeLeftovers(project.root, project.mlcacheDir, cacheDirOf(project));
  try {
    // What was proved before another run changed things proves nothing now.
    const proved = waited || lock?.tookOver ? undefined : primed;
    return ok((await reproLocked(project, a, gpus.value, chosen.value, reporter, undefined, proved)).code);
  } finally {
    lock?.release();
  }
}

