/**
 * `mlbuild status`: each stale stage and why, without running or writing anything. `--check` turns
 * staleness into exit 1 for CI; `--json` prints a stable document.
 */
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import { openPlanned, openState } from '../../run/workspace.js';
import { assess } from '../../run/assess.js';
import { formatReason } from '../../run/reason.js';
import { LocalStore } from '../../cache/local-store.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';

export interface StatusArgs {
  targets: string[];
  json: boolean;
  check: boolean;
  /** Missing outs and data do not count (see AssessOptions.allowMissing). */
  allowMissing: boolean;
  /** `-c/--cloud`: compare the local cache with a remote (commands/transfer.ts). */
  cloud?: boolean;
  remote?: string | undefined;
}

export async function statusCommand(g: GlobalOptions, a: StatusArgs): Promise<number> {
  if (a.cloud) return (await import('./transfer.js')).cloudStatusCommand(g, { targets: a.targets, json: a.json, check: a.check, remote: a.remote, jobs: undefined });
  return withContext(g, async ({ project, term }) => {
    const state = await openState(project, false);
    if (!state.ok) {
      printDiagnostics(term, state.error);
      return EXIT_USAGE;
    }
    const s = state.value;
    // With --allow-missing, data that is not there yet is no error either.
    const opened = await openPlanned(project, a.targets, (abs) => a.allowMissing || s.files.stat(abs) !== undefined);
    if (!opened.ok) {
      printDiagnostics(term, opened.error);
      return EXIT_USAGE;
    }
    const { ws, plan } = opened.value;
    const ctx = { files: s.files, params: ws.loaded.params, fileParams: ws.loaded.fileParams, lockfile: s.lockfile, interrupted: s.interrupted };
    const cache = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: s.files });
    const assessed = await assess(plan, ws.pipeline, ctx, cache, () => false, { allowMissing: a.allowMissing });
    // The stat cache learned hashes; saving it makes the next status faster and changes nothing else.
    await s.statCache.save();
    const stale = assessed.filter((x) => x.reasons.length > 0);
    if (a.json) {
      term.out(
        JSON.stringify(
          {
            version: 1,
            up_to_date: stale.length === 0,
            stages: assessed.map((x) => ({
              name: x.stage,
              stale: x.reasons.length > 0,
              frozen: x.frozen,
              restorable: x.restorable,
              reasons: x.reasons.map(formatReason),
              reason_codes: x.reasons.map((r) => r.kind),
            })),
          },
          null,
          2,
        ) + '\n',
      );
    } else if (stale.length === 0) {
      term.out('Data and pipelines are up to date.\n');
    } else {
      for (const x of stale) {
        term.out(`${x.stage}:${x.restorable ? ' (restorable from cache)' : ''}\n`);
        for (const r of x.reasons) term.out(`\t${formatReason(r)}\n`);
      }
    }
    return a.check && stale.length > 0 ? EXIT_FAILED : EXIT_OK;
  });
}
