/**
 * `mlbuild push`, `fetch`, `pull` and `status --cloud`: the lockfile's stored outs (or every
 * commit's, or the run-cache) between the local cache and a remote. They hold the project lock
 * while they read or change the cache; `status --cloud` only looks.
 */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
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
import { readDvcConfig, withDvcRemotes } from '../../remote/dvc-config.js';
import { DvcObjects, dvcKeys, xxhNoteKey } from '../../remote/dvc-objects.js';
import { DataSources } from '../../data/sources.js';
import type { DataPointer } from '../../data/pointer.js';
import { Md5Index } from '../../data/md5-index.js';
import { checkoutPointers, fetchPointers, localRecord, pushPointers, type DataMove } from '../../data/tracked.js';

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

/**
 * Raw inputs the lockfile records: deps no stage makes, no `.dvc` pointer tracks and git does not hold, with the hash
 * each stage ran on (the first stage's, in lockfile order). push uploads them from the workspace,
 * pull brings them where they are missing, so a fresh clone of an mlbuild-built project gets its
 * data the way it gets its outs.
 */
export function lockInputs(root: string, lockfile: Lockfile, pipeline: Pipeline, sources: DataSources, targets: readonly string[]): RecordedOut[] {
  const seen = new Set<string>();
  const inputs: RecordedOut[] = [];
  for (const name of lockfile.names()) {
    if (!matches(targets, name) || !pipeline.stages.has(name)) continue;
    for (const dep of lockfile.get(name)!.deps) {
      if (seen.has(dep.path) || path.isAbsolute(dep.path) || pipeline.producersOf(dep.path).length > 0 || sources.pointerFor(dep.path)) continue;
      seen.add(dep.path);
      inputs.push({ stage: name, out: dep });
    }
  }
  if (inputs.length === 0) return inputs;
  // What git holds travels with git: only inputs outside it need the remote.
  const git = spawnSync('git', ['ls-files', '-z', '--', ...inputs.map((i) => i.out.path)], { cwd: root, encoding: 'utf8' });
  if (git.status !== 0) return inputs;
  const inGit = git.stdout.split('\0').filter(Boolean);
  return inputs.filter((i) => !inGit.some((f) => f === i.out.path || f.startsWith(`${i.out.path}/`)));
}

const wantedOf = (outs: readonly RecordedOut[], at = ''): Wanted[] => outs.map(({ stage, out }) => ({ record: out, neededBy: `${out.path} (stage '${stage}'${at})` }));

interface Opened {
  readonly remote: Remote;
  readonly url: string;
  readonly jobs: number;
  readonly state: RunState;
  readonly store: LocalStore;
  readonly outs: RecordedOut[];
  /** Raw inputs mlbuild.lock records (lockInputs). */
  readonly inputs: RecordedOut[];
  /** Data tracked by `.dvc` pointers (all of them, or those under the targets). */
  readonly pointers: DataPointer[];
  readonly index: Md5Index;
  /** A DVC remote: objects by md5 in DVC's layout. */
  readonly dvcLayout: boolean;
}

const pointerMatches = (targets: readonly string[], p: DataPointer): boolean =>
  targets.length === 0 || targets.some((t) => t === p.file || t === p.path || p.path.startsWith(`${t.replace(/\/+$/, '')}/`));

/** Everything a transfer command needs, or the diagnostics that stop it (exit 2). */
async function open(project: Project, a: Pick<TransferArgs, 'remote' | 'jobs' | 'targets'>): Promise<Result<Opened, Diagnostic[]>> {
  if (a.jobs !== undefined && (!Number.isInteger(a.jobs) || a.jobs < 1)) {
    return err([{ severity: 'error', code: 'usage', message: `--jobs must be a whole number >= 1 (got ${a.jobs})`, hint: 'e.g. -j 16' }]);
  }
  const ownConfig = await readProjectConfig(project.root, project.displayCwd);
  if (!ownConfig.ok) return ownConfig;
  const dvcConfig = readDvcConfig(project.root, project.displayCwd);
  if (!dvcConfig.ok) return dvcConfig;
  const config = ok(withDvcRemotes(ownConfig.value, dvcConfig.value));
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
  const sources = new DataSources(project.root, project.displayCwd);
  const pointers = sources.all().filter((p) => pointerMatches(a.targets, p));
  if (sources.diags.length > 0) return err(sources.diags);
  return ok({
    inputs: lockInputs(project.root, state.value.lockfile, ws.value.pipeline, sources, a.targets),
    pointers,
    index: Md5Index.load(project.mlcacheDir),
    dvcLayout: chosen.value.layout === 'dvc',
    remote: remote.value,
    url: chosen.value.url,
    jobs: a.jobs ?? chosen.value.jobs ?? remote.value.defaultJobs,
    state: state.value,
    store,
    outs: lockOuts(state.value.lockfile, ws.value.pipeline, a.targets),
  });
}

const unavailable = (e: RemoteUnavailable): Diagnostic => ({ severity: 'error', code: 'remote-unavailable', message: e.message, hint: e.hint });

type Body = (ctx: { project: Project; o: Opened; t: Transfer; reporter: TransferReporter; result: TransferResult; data: DataMove }) => Promise<{ restored?: string[]; notRestored?: string[] }>;

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
      const dvc = o.dvcLayout ? new DvcObjects(o.store, o.remote, o.state.hasher, o.index, o.jobs, reporter) : undefined;
      const data: DataMove = { remote: dvc ? { dvc } : { mlbuild: transfer }, store: o.store, index: o.index, files: o.state.files, root: project.root, hasher: o.state.hasher, jobs: o.jobs };
      try {
        extra = await body({ project, o, t: transfer, reporter, result, data });
      } catch (e) {
        if (!(e instanceof RemoteUnavailable)) throw e;
        reporter.diagnostics([unavailable(e)]);
        return EXIT_FAILED;
      }
      o.index.save();
      const summary = { command, remote: o.remote.name, url: o.remote.description, result, elapsedMs: performance.now() - started, ...extra };
      reporter.finish(summary);
      return transferOk(summary) ? EXIT_OK : EXIT_FAILED;
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
  return withContext(g, async ({ project, term }) => {
    const opened = await open(project, a);
    if (!opened.ok) {
      printStatusDiagnostics(term, opened.error);
      return EXIT_USAGE;
    }
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

/**
 * `repro --pull`: brings the pointer-tracked data among `paths` (missing inputs) from the default
 * remote into the workspace. Returns the problems (each naming the object and the data), empty
 * when all arrived; the caller reports them and the run then stops on what is still missing.
 */
export async function pullMissingData(project: Project, paths: readonly string[]): Promise<string[]> {
  const sources = new DataSources(project.root, project.displayCwd);
  const files = [...new Set(paths.map((p) => sources.pointerFor(p)?.file).filter((f): f is string => f !== undefined))];
  if (files.length === 0) return [];
  const opened = await open(project, { remote: undefined, jobs: undefined, targets: files });
  if (!opened.ok) return opened.error.map((d) => `${d.message}${d.hint ? ` (${d.hint})` : ''}`);
  const o = opened.value;
  const result = emptyResult();
  const transfer = new Transfer(o.store, o.remote, o.state.hasher, o.jobs);
  const dvc = o.dvcLayout ? new DvcObjects(o.store, o.remote, o.state.hasher, o.index, o.jobs) : undefined;
  const data: DataMove = { remote: dvc ? { dvc } : { mlbuild: transfer }, store: o.store, index: o.index, files: o.state.files, root: project.root, hasher: o.state.hasher, jobs: o.jobs };
  try {
    const got = await fetchPointers(o.pointers, data, result);
    await checkoutPointers(got, data);
  } catch (e) {
    if (!(e instanceof RemoteUnavailable)) throw e;
    return [e.message];
  } finally {
    o.index.save();
    await o.state.statCache.save();
  }
  return [...result.failed, ...result.missing].map((f) => `${f.message} (needed by ${f.neededBy})`);
}
