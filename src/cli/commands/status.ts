/**
 * `mlbuild status`: each stale stage and why, without running or writing anything. `--check` turns
 * staleness into exit 1 for CI; `--json` prints a stable document.
 */
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { openPlanned, openState } from '../../run/workspace.js';
import { assess } from '../../run/assess.js';
import { formatReason } from '../../run/reason.js';
import { LocalStore } from '../../cache/local-store.js';
import { EXIT_FAILED, EXIT_OK } from '../../exit-codes.js';
import { DataSources } from '../../data/sources.js';
import { whereToGet } from '../../data/missing.js';
import { Md5Index } from '../../data/md5-index.js';
import { workspaceState } from '../../data/tracked.js';
import { DvcLockAdopter } from '../../state/dvc-lock.js';
import { recordFreshSnapshot } from '../../run/snapshot-record.js';
import type { Primed } from '../../run/fresh-snapshot.js';

export interface StatusArgs {
  targets: string[];
  json: boolean;
  check: boolean;
  /** Missing outs and data do not count (see AssessOptions.allowMissing). */
  allowMissing: boolean;
}

/** `primed`: what the up-to-date check (run/up-to-date.ts) already proved unchanged. */
export async function statusCommand(g: GlobalOptions, a: StatusArgs, primed?: Primed): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const state = await openState(project, false, primed);
    if (!state.ok) return err(state.error);
    const s = state.value;
    // With --allow-missing, data that is not there yet is no error either.
    const opened = await openPlanned(project, a.targets, (abs) => a.allowMissing || s.files.stat(abs) !== undefined);
    if (!opened.ok) return err(opened.error);
    const { ws, plan } = opened.value;
    const adopter = DvcLockAdopter.open(project.root, project.mlcacheDir, s.files);
    const ctx = { files: s.files, params: ws.loaded.params, fileParams: ws.loaded.fileParams, lockfile: s.lockfile, interrupted: s.interrupted, ...(adopter ? { adopter } : {}) };
    const cache = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: s.files });
    const assessed = await assess(plan, ws.pipeline, ctx, cache, () => false, { allowMissing: a.allowMissing });
    // The stat cache learned hashes; saving it makes the next status faster and changes nothing else.
    await s.statCache.save();
    const stale = assessed.filter((x) => x.reasons.length > 0);
    const planned = new Set<string>(plan.stages);
    const sources = new DataSources(project.root, project.displayCwd);
    const missing = a.allowMissing ? [] : await Promise.all(ws.pipeline.missing.filter((m) => planned.has(m.stage)).map(async (m) => ({ path: m.path, stage: m.stage, ...(await whereToGet(sources, m.path, s.lockfile.names().find((n) => s.lockfile.get(n)!.deps.some((d) => d.path === m.path)))) })));
    const index = Md5Index.load(project.mlcacheDir);
    const data: { file: string; path: string; state: string; md5: string | null; now_md5: string | null }[] = [];
    for (const p of await sources.all()) {
      const w = await workspaceState(p, s.files, index, project.root);
      if (a.allowMissing && w.state === 'missing') continue;
      data.push({ file: p.file, path: p.path, state: w.state, md5: p.md5 ?? null, now_md5: w.md5 ?? null });
    }
    index.save();
    adopter?.saveIndex();
    const adopted = assessed.filter((x) => x.adopted && x.reasons.length === 0);
    if (sources.diags.length > 0) return err(sources.diags);
    const dataStale = data.filter((d) => d.state !== 'ok');
    const upToDate = stale.length === 0 && dataStale.length === 0 && missing.length === 0;
    // Up to date with no tracked data: the next status or repro can say so from the fresh snapshot.
    if (upToDate && data.length === 0 && a.targets.length === 0 && !a.allowMissing && sources.diags.length === 0) {
      await recordFreshSnapshot(project, ws, s, plan.stages, assessed.every((x) => !x.adopted)).catch(() => undefined);
    }
    if (a.json) {
      term.out(
        JSON.stringify(
          {
            version: 1,
            up_to_date: upToDate,
            missing: missing.map((m) => ({ path: m.path, needed_by: m.stage, pointer: m.pointer ?? null, get: m.get })),
            data,
            stages: assessed.map((x) => ({
              name: x.stage,
              stale: x.reasons.length > 0,
              frozen: x.frozen,
              restorable: x.restorable,
              adopted: x.adopted === true,
              reasons: x.reasons.map(formatReason),
              reason_codes: x.reasons.map((r) => r.kind),
            })),
          },
          null,
          2,
        ) + '\n',
      );
    } else if (upToDate) {
      for (const x of adopted) term.out(`${x.stage}: adopted from dvc.lock (its deps, params and outs match; \`mlbuild repro\` records it in mlbuild.lock)\n`);
      term.out('Data and pipelines are up to date.\n');
    } else {
      for (const x of adopted) term.out(`${x.stage}: adopted from dvc.lock (its deps, params and outs match)\n`);
      if (missing.length > 0) {
        term.out('missing data:\n');
        for (const m of missing) term.out(`\t${m.path} (needed by ${m.stage}): ${m.get}\n`);
      }
      const label: Record<string, string> = { changed: 'changed data', missing: 'missing data', unrecorded: 'not recorded yet' };
      const listed = new Set(missing.map((m) => m.path));
      // Missing data a stage needs is listed once, above.
      for (const d of dataStale.filter((x) => !(x.state === 'missing' && listed.has(x.path)))) {
        const how = d.state === 'changed' ? `\`mlbuild add ${d.path}\` records this version, \`mlbuild checkout ${d.file}\` brings back the recorded one` : d.state === 'missing' ? `get it with \`mlbuild pull ${d.file}\`` : `\`mlbuild add ${d.path}\``;
        term.out(`${d.file}:\n\t${label[d.state]}: ${d.path} (${how})\n`);
      }
      for (const x of stale) {
        term.out(`${x.stage}:${x.restorable ? ' (restorable from cache)' : ''}\n`);
        for (const r of x.reasons) term.out(`\t${formatReason(r)}\n`);
      }
    }
    return ok(a.check && !upToDate ? EXIT_FAILED : EXIT_OK);
  });
}
