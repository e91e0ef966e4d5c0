/**
 * `mlbuild push`, `fetch`, `pull` and `status --cloud`: the lockfile's stored outs (or every
 * commit's, or the run-cache) between the local cache and a remote. They hold the project lock
 * while they read or change the cache; `status --cloud` only looks.
 */
import { withContext, type GlobalOptions } from '../context.js';
import { openState, openWorkspace, type RunState } from '../../run/workspace.js';
import { LocalStore, objectKey, parseLinkTypes } from '../../cache/local-store.js';
import { checkoutOuts, type RecordedOut } from '../../cache/checkout.js';
import { readProjectConfig } from '../../config/project-config.js';
import { chooseRemote, openRemote, RemoteUnavailable, type Remote } from '../../remote/remote.js';
import { Transfer, emptyResult, type TransferResult, type Wanted } from '../../remote/transfer.js';
import { makeTransferReporter, transferOk, type TransferCommand, type TransferReporter } from '../../report/reporters/transfer.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import { lockfilesOfAllCommits } from '../../state/lock-history.js';
import type { Lockfile } from '../../state/lockfile.js';
import type { Pipeline } from '../../graph/pipeline.js';
import { isStored } from '../../model/stage.js';
import { forEachLimit } from '../../util/parallel.js';
import type { Project } from '../../project.js';
import type { Terminal } from '../../report/terminal.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import { type Result, ok, err } from '../../util/result.js';

export interface TransferArgs {
  targets: string[];
  remote: string | undefined;
  jobs: number | undefined;
  allCommits: boolean;
  runCache: boolean;
  json: boolean;
}

const matches = (targets: readonly string[], name: string): boolean => targets.length === 0 || targets.some((t) => name === t || name.startsWith(`${t}@`));

/** The stored outs `lockfile` records for `targets` (an out with `cache: false` has no object). */
export function lockOuts(lockfile: Lockfile, pipeline: Pipeline | undefined, targets: readonly string[]): RecordedOut[] {
  const outs: RecordedOut[] = [];
  for (const name of lockfile.names()) {
    if (!matches(targets, name)) continue;
    const stage = pipeline?.stages.get(name);
    for (const out of lockfile.get(name)!.outs) {
      const spec = stage?.outs.find((o) => o.path === out.path);
      if (spec && !isStored(spec)) continue;
      outs.push({ stage: name, out });
    }
  }
  return outs;
}

const wantedOf = (outs: readonly RecordedOut[], at = ''): Wanted[] => outs.map(({ stage, out }) => ({ record: out, neededBy: `${out.path} (stage '${stage}'${at})` }));

interface Opened {
  readonly remote: Remote;
  readonly url: string;
  readonly jobs: number;
  readonly state: RunState;
  readonly store: LocalStore;
  readonly outs: RecordedOut[];
}

/** Everything a transfer command needs, or the diagnostics that stop it (exit 2). */
async function open(project: Project, a: Pick<TransferArgs, 'remote' | 'jobs' | 'targets'>): Promise<Result<Opened, Diagnostic[]>> {
  if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1)) {
    return err([{ severity: 'error', code: 'usage', message: `--jobs must be a whole number >= 1 (got ${a.jobs})`, hint: 'e.g. -j 16' }]);
  }
  const config = await readProjectConfig(project.root, project.displayCwd);
  if (!config.ok) return config;
  const chosen = chooseRemote(config.value, a.remote);
  if (!chosen.ok) return chosen;
  const remote = await openRemote(chosen.value, project.root);
  if (!remote.ok) return remote;
  const state = await openState(project, false);
  if (!state.ok) return state;
  const ws = await openWorkspace(project, [], false);
  if (!ws.ok) return ws;
  const linkTypes = parseLinkTypes(process.env.MLBUILD_CACHE_TYPE);
  const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: state.value.files, ...(linkTypes ? { linkTypes } : {}) });
  return ok({
    remote: remote.value,
    url: chosen.value.url,
    jobs: a.jobs ?? chosen.value.jobs ?? remote.value.defaultJobs,
    state: state.value,
    store,
    outs: lockOuts(state.value.lockfile, ws.value.pipeline, a.targets),
  });
}

const unavailable = (e: RemoteUnavailable): Diagnostic => ({ severity: 'error', code: 'remote-unavailable', message: e.message, hint: e.hint });

type Body = (ctx: { project: Project; o: Opened; t: Transfer; reporter: TransferReporter; result: TransferResult }) => Promise<{ restored?: string[]; notRestored?: string[] }>;

async function runTransfer(g: GlobalOptions, command: TransferCommand, a: TransferArgs, body: Body): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
    try {
      const opened = await open(project, a);
      if (!opened.ok) {
        makeTransferReporter(term, command, a.remote ?? '', a.json).diagnostics(opened.error);
        return EXIT_USAGE;
      }
      const o = opened.value;
      const reporter = makeTransferReporter(term, command, o.remote.name, a.json);
      const started = performance.now();
      const transfer = new Transfer(o.store, o.remote, o.state.hasher, o.jobs, reporter);
      let extra: { restored?: string[]; notRestored?: string[] };
      const result = emptyResult();
      try {
        extra = await body({ project, o, t: transfer, reporter, result });
      } catch (e) {
        if (!(e instanceof RemoteUnavailable)) throw e;
        reporter.diagnostics([unavailable(e)]);
        return EXIT_FAILED;
      }
      const summary = { command, remote: o.remote.name, url: o.remote.description, result, elapsedMs: performance.now() - started, ...extra };
      reporter.finish(summary);
      return transferOk(summary) ? EXIT_OK : EXIT_FAILED;
    } finally {
      lock.release();
    }
  });
}

export function pushCommand(g: GlobalOptions, a: TransferArgs): Promise<number> {
  return runTransfer(g, 'push', a, async ({ project, o, t, reporter, result }) => {
    const wanted = wantedOf(o.outs);
    if (a.allCommits) {
      const history = await lockfilesOfAllCommits(project);
      if (!history.ok) {
        reporter.diagnostics(history.error);
      } else {
        let skipped = 0;
        for (const { sha, lockfile } of history.value) {
          for (const w of wantedOf(lockOuts(lockfile, undefined, a.targets), ` at ${sha.slice(0, 7)}`)) {
            // Older commits' outs that this cache never held are not an error: someone else built them.
            if (await o.store.has([w.record])) wanted.push(w);
            else skipped++;
          }
        }
        if (skipped > 0) reporter.warning(`${skipped} out${skipped === 1 ? '' : 's'} of older commits are not in the local cache and were not pushed`);
      }
    }
    await t.push(wanted, result);
    if (a.runCache) await t.pushRunCache(result);
    return {};
  });
}

export function fetchCommand(g: GlobalOptions, a: TransferArgs): Promise<number> {
  return runTransfer(g, 'fetch', a, async ({ o, t, result }) => {
    await t.fetch(wantedOf(o.outs), result);
    if (a.runCache) await t.fetchRunCache(result);
    return {};
  });
}

export function pullCommand(g: GlobalOptions, a: TransferArgs): Promise<number> {
  return runTransfer(g, 'pull', a, async ({ o, t, result }) => {
    await t.fetch(wantedOf(o.outs), result);
    if (a.runCache) await t.fetchRunCache(result);
    // Check out what the cache now holds; objects that failed were never added, so their outs stay as they were.
    const { restored, missing, failed } = await checkoutOuts(o.store, o.state.files, o.outs);
    await o.state.statCache.save();
    return { restored, notRestored: [...missing, ...failed] };
  });
}

type CloudState = 'ok' | 'not-pushed' | 'not-fetched' | 'missing';

/** `status --cloud`: for each stored out of the lockfile, is it in the local cache, on the remote, both, neither? */
export function cloudStatusCommand(g: GlobalOptions, a: { targets: string[]; json: boolean; check: boolean; remote: string | undefined; jobs: number | undefined }): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const opened = await open(project, a);
    if (!opened.ok) {
      printStatusDiagnostics(term, opened.error);
      return EXIT_USAGE;
    }
    const o = opened.value;
    const rows: { stage: string; path: string; hash: string; local: boolean; remote: boolean; state: CloudState }[] = [];
    try {
      await forEachLimit(o.outs, o.jobs, async ({ stage, out }) => {
        // A manifest is pushed only after every file it lists, so its presence vouches for the directory.
        const [local, remote] = await Promise.all([o.store.has([out]), o.remote.exists(objectKey(out.hash))]);
        const state: CloudState = local && remote ? 'ok' : local ? 'not-pushed' : remote ? 'not-fetched' : 'missing';
        rows.push({ stage, path: out.path, hash: out.hash, local, remote, state });
      });
    } catch (e) {
      if (!(e instanceof RemoteUnavailable)) throw e;
      printStatusDiagnostics(term, [unavailable(e)]);
      return EXIT_FAILED;
    }
    rows.sort((x, y) => (x.stage === y.stage ? x.path.localeCompare(y.path) : x.stage.localeCompare(y.stage)));
    const outOfSync = rows.filter((r) => r.state !== 'ok');
    if (a.json) {
      term.out(JSON.stringify({ version: 1, remote: o.remote.name, url: o.remote.description, in_sync: outOfSync.length === 0, outs: rows }, null, 2) + '\n');
    } else if (outOfSync.length === 0) {
      term.out(`Cache and remote '${o.remote.name}' are in sync (${rows.length} out${rows.length === 1 ? '' : 's'}).\n`);
    } else {
      const label: Record<CloudState, string> = { ok: '', 'not-pushed': 'not pushed (only in the local cache)', 'not-fetched': 'not fetched (only on the remote)', missing: 'missing (neither local nor remote)' };
      term.out(`Compared with remote '${o.remote.name}' (${o.remote.description}):\n`);
      for (const r of outOfSync) term.out(`\t${label[r.state]}: ${r.path} (stage '${r.stage}')\n`);
    }
    return a.check && outOfSync.length > 0 ? EXIT_FAILED : EXIT_OK;
  });
}

function printStatusDiagnostics(term: Terminal, ds: readonly Diagnostic[]): void {
  makeTransferReporter(term, 'fetch', '', false).diagnostics(ds);
}
