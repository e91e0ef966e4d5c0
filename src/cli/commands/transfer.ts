/**
 * `mlbuild push`, `fetch`, `pull` and `status --cloud`: the lockfile's stored outs (or every
 * commit's, or the run-cache) between the local cache and a remote. They hold the project lock
 * while they read or change the cache; `status --cloud` only looks.
 */
import path from 'node:path';
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { ok, err } from '../../util/result.js';
import { lockOuts, openTransfer, type Opened } from '../../remote/transfer-session.js';
import { objectKey } from '../../cache/local-store.js';
import { checkoutOuts, type RecordedOut } from '../../cache/checkout.js';
import { RemoteUnavailable } from '../../remote/remote.js';
import { Transfer, emptyResult, type TransferResult, type Wanted } from '../../remote/transfer.js';
import { makeTransferReporter, transferOk, type TransferCommand, type TransferReporter } from '../../report/reporters/transfer.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import { lockfilesOfAllCommits } from '../../state/lock-history.js';
import { forEachLimit } from '../../util/parallel.js';
import type { Project } from '../../project.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { EXIT_FAILED, EXIT_OK } from '../../exit-codes.js';
import { DvcObjects, dvcKeys, xxhNoteKey } from '../../remote/dvc-objects.js';
import { checkoutPointers, fetchPointers, localRecord, pushPointers, type DataMove } from '../../data/tracked.js';

export interface TransferArgs {
  targets: string[];
  remote: string | undefined;
  jobs: number | undefined;
  allCommits: boolean;
  runCache: boolean;
  json: boolean;
}

const wantedOf = (outs: readonly RecordedOut[], at = ''): Wanted[] => outs.map(({ stage, out }) => ({ record: out, neededBy: `${out.path} (stage '${stage}'${at})` }));

const unavailable = (e: RemoteUnavailable): Diagnostic => ({ severity: 'error', code: 'remote-unavailable', message: e.message, hint: e.hint });

type Body = (ctx: { project: Project; o: Opened; t: Transfer; reporter: TransferReporter; result: TransferResult; data: DataMove }) => Promise<{ restored?: string[]; notRestored?: string[] }>;

async function runTransfer(g: GlobalOptions, command: TransferCommand, a: TransferArgs, body: Body): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
    try {
      const opened = await openTransfer(project, a);
      if (!opened.ok) {
        makeTransferReporter(term, command, a.remote ?? '', a.json).stopped(opened.error);
        return opened;
      }
      const o = opened.value;
      const reporter = makeTransferReporter(term, command, o.remote.name, a.json);
      const started = performance.now();
      const transfer = new Transfer(o.store, o.remote, o.state.hasher, o.jobs, reporter);
      let extra: { restored?: string[]; notRestored?: string[] };
      const result = emptyResult();
      const dvc = o.dvcLayout ? new DvcObjects(o.store, o.remote, o.state.hasher, o.index, o.jobs, reporter) : undefined;
      const data: DataMove = { remote: dvc ? { dvc } : { mlbuild: transfer }, store: o.store, index: o.index, files: o.state.files, root: project.root, hasher: o.state.hasher, jobs: o.jobs };
      try {
        extra = await body({ project, o, t: transfer, reporter, result, data });
      } catch (e) {
        if (!(e instanceof RemoteUnavailable)) throw e;
        reporter.stopped([unavailable(e)]);
        return err([unavailable(e)]);
      }
      o.index.save();
      const summary = { command, remote: o.remote.name, url: o.remote.description, result, elapsedMs: performance.now() - started, ...extra };
      reporter.finish(summary);
      return ok(transferOk(summary) ? EXIT_OK : EXIT_FAILED);
    } finally {
      lock.release();
    }
  });
}

export function pushCommand(g: GlobalOptions, a: TransferArgs): Promise<number> {
  return runTransfer(g, 'push', a, async ({ project, o, t, reporter, result, data }) => {
    // Raw inputs go up from the workspace when it still holds the version the lockfile records.
    for (const { out } of o.inputs) {
      if (await o.store.has([out])) continue;
      const now = await o.state.files.hash(out.path);
      if (now?.hash === out.hash) await o.store.save([now]);
    }
    const inputs = [];
    for (const i of o.inputs) if (await o.store.has([i.out])) inputs.push(i);
    const wanted = [...wantedOf(inputs), ...wantedOf(o.outs)];
    await pushPointers(o.pointers, data, result);
    if (data.remote.dvc) {
      // A DVC remote gets DVC's layout, so DVC users can pull what mlbuild built (run-cache stays mlbuild's).
      for (const w of wanted) await data.remote.dvc.push(w.record, w.neededBy, result);
      if (a.allCommits || a.runCache) reporter.warning(`remote '${o.remote.name}' is a DVC remote: --all-commits and --run-cache apply to mlbuild remotes only`);
      return {};
    }
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

/**
 * Fetches raw inputs the lockfile records. One the remote lacks is a warning, not a failure: it
 * was never pushed (older pushes did not carry inputs), and the user may have it elsewhere; a
 * corrupt one still fails the command.
 */
async function fetchInputs(inputs: readonly RecordedOut[], t: Transfer, data: DataMove, result: TransferResult, reporter: TransferReporter): Promise<void> {
  if (inputs.length === 0) return;
  const r = emptyResult();
  if (data.remote.dvc) for (const w of wantedOf(inputs)) await data.remote.dvc.fetchRecord(w.record, w.neededBy, r);
  else await t.fetch(wantedOf(inputs), r);
  result.transferred += r.transferred;
  result.bytes += r.bytes;
  result.present += r.present;
  result.failed.push(...r.failed);
  if (r.missing.length > 0) {
    reporter.warning(`not on the remote, so not fetched: ${r.missing.map((m) => m.neededBy).join(', ')} (raw inputs go up with \`mlbuild push\` from a workspace that has them, or track them with \`mlbuild add\`)`);
  }
}

export function fetchCommand(g: GlobalOptions, a: TransferArgs): Promise<number> {
  return runTransfer(g, 'fetch', a, async ({ o, t, result, data, reporter }) => {
    await fetchPointers(o.pointers, data, result);
    await fetchInputs(o.inputs, t, data, result, reporter);
    const wanted = wantedOf(o.outs);
    if (data.remote.dvc) {
      for (const w of wanted) await data.remote.dvc.fetchRecord(w.record, w.neededBy, result);
      return {};
    }
    await t.fetch(wanted, result);
    if (a.runCache) await t.fetchRunCache(result);
    return {};
  });
}

export function pullCommand(g: GlobalOptions, a: TransferArgs): Promise<number> {
  return runTransfer(g, 'pull', a, async ({ project, o, t, result, data, reporter }) => {
    const got = await fetchPointers(o.pointers, data, result);
    // Raw inputs are brought only where the workspace lacks them: an edited input is the user's work.
    const absent = o.inputs.filter((i) => o.state.files.stat(path.join(project.root, i.out.path)) === undefined);
    await fetchInputs(absent, t, data, result, reporter);
    const wanted = wantedOf(o.outs);
    if (data.remote.dvc) {
      for (const w of wanted) await data.remote.dvc.fetchRecord(w.record, w.neededBy, result);
    } else {
      await t.fetch(wanted, result);
      if (a.runCache) await t.fetchRunCache(result);
    }
    // Check out what the cache now holds; objects that failed were never added, so their outs stay as they were.
    const dataOut = await checkoutPointers(got, data);
    const { restored, missing, failed } = await checkoutOuts(o.store, o.state.files, [...absent, ...o.outs]);
    await o.state.statCache.save();
    return { restored: [...dataOut.restored, ...restored], notRestored: [...dataOut.missing, ...missing, ...failed] };
  });
}

type CloudState = 'ok' | 'not-pushed' | 'not-fetched' | 'missing';

/** `status --cloud`: for each stored out of the lockfile, is it in the local cache, on the remote, both, neither? */
export function cloudStatusCommand(g: GlobalOptions, a: { targets: string[]; json: boolean; check: boolean; remote: string | undefined; jobs: number | undefined }): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const opened = await openTransfer(project, a);
    if (!opened.ok) return opened;
    const o = opened.value;
    const rows: { stage: string; path: string; hash: string; local: boolean; remote: boolean; state: CloudState }[] = [];
    try {
      const onRemote = async (key: string): Promise<boolean> => o.remote.exists(key);
      await forEachLimit(o.pointers, o.jobs, async (p) => {
        if (!p.md5) return;
        const local = (await localRecord(p, o.store, o.index)) !== undefined;
        let remote = false;
        if (o.dvcLayout) for (const k of dvcKeys(p.md5)) remote ||= await onRemote(k);
        else if (p.xxh64) remote = await onRemote(objectKey(p.xxh64));
        const state: CloudState = local && remote ? 'ok' : local ? 'not-pushed' : remote ? 'not-fetched' : 'missing';
        rows.push({ stage: p.file, path: p.path, hash: p.md5, local, remote, state });
      });
      await forEachLimit([...o.inputs, ...o.outs], o.jobs, async ({ stage, out }) => {
        // A manifest is pushed only after every file it lists, so its presence vouches for the directory.
        const [local, remote] = await Promise.all([o.store.has([out]), onRemote(o.dvcLayout ? xxhNoteKey(out.hash) : objectKey(out.hash))]);
        const state: CloudState = local && remote ? 'ok' : local ? 'not-pushed' : remote ? 'not-fetched' : 'missing';
        rows.push({ stage, path: out.path, hash: out.hash, local, remote, state });
      });
    } catch (e) {
      if (!(e instanceof RemoteUnavailable)) throw e;
      return err([unavailable(e)]);
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
    return ok(a.check && outOfSync.length > 0 ? EXIT_FAILED : EXIT_OK);
  });
}
