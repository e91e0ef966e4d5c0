/** Opens what a transfer needs (remote, local store, state, the recorded outs and tracked data) and `repro --pull`'s fetch of missing data. Not the commands' output. */
import path from 'node:path';
import { git } from '../git/git.js';
import { openState, openWorkspace, type RunState } from '../run/workspace.js';
import { LocalStore, parseLinkTypes } from '../cache/local-store.js';
import type { RecordedOut } from '../cache/checkout.js';
import { readProjectConfig } from '../config/project-config.js';
import { chooseRemote, openRemote, RemoteUnavailable, type Remote } from './remote.js';
import { Transfer, emptyResult } from './transfer.js';
import type { Lockfile } from '../state/lockfile.js';
import type { Pipeline } from '../graph/pipeline.js';
import { isStored } from '../model/stage.js';
import type { Project } from '../project.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, ok, err } from '../util/result.js';
import { suggest } from '../util/suggest.js';
import { readDvcConfig, withDvcRemotes } from './dvc-config.js';
import { DvcObjects } from './dvc-objects.js';
import { DataSources } from '../data/sources.js';
import type { DataPointer } from '../data/pointer.js';
import { Md5Index } from '../data/md5-index.js';
import { checkoutPointers, fetchPointers, type DataMove } from '../data/tracked.js';

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
export async function lockInputs(root: string, lockfile: Lockfile, pipeline: Pipeline, sources: DataSources, targets: readonly string[]): Promise<RecordedOut[]> {
  const seen = new Set<string>();
  const inputs: RecordedOut[] = [];
  for (const name of lockfile.names()) {
    if (!matches(targets, name) || !pipeline.stages.has(name)) continue;
    for (const dep of lockfile.get(name)!.deps) {
      if (seen.has(dep.path) || path.isAbsolute(dep.path) || pipeline.producersOf(dep.path).length > 0 || (await sources.pointerFor(dep.path))) continue;
      seen.add(dep.path);
      inputs.push({ stage: name, out: dep });
    }
  }
  if (inputs.length === 0) return inputs;
  // What git holds travels with git: only inputs outside it need the remote.
  const listed = await git(root, ['ls-files', '-z', '--', ...inputs.map((i) => i.out.path)]);
  if (!listed.ok) return inputs;
  const inGit = listed.value.split('\0').filter(Boolean);
  return inputs.filter((i) => !inGit.some((f) => f === i.out.path || f.startsWith(`${i.out.path}/`)));
}


export interface Opened {
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

/** A target that names no stage, stage group or tracked data: without this, a typo transferred nothing and exited 0. */
function unknownTarget(target: string, stages: readonly string[]): Diagnostic {
  const guess = suggest(target, [...stages, ...new Set(stages.map((n) => n.split('@')[0]!))]);
  return {
    severity: 'error',
    code: 'unknown-target',
    message: `'${target}' names no stage, stage group or data tracked by a .dvc file`,
    hint: `${guess ? `did you mean '${guess}'? ` : ''}name a stage (\`mlbuild dag\` lists them), a .dvc file or the data it tracks`,
  };
}

/** Everything a transfer command needs, or the diagnostics that stop it (exit 2). */
export async function openTransfer(project: Project, a: { readonly remote: string | undefined; readonly jobs: number | undefined; readonly targets: readonly string[] }): Promise<Result<Opened, Diagnostic[]>> {
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
  const all = await sources.all();
  const pointers = all.filter((p) => pointerMatches(a.targets, p));
  if (sources.diags.length > 0) return err(sources.diags);
  const stages = [...new Set([...ws.value.pipeline.stages.keys(), ...state.value.lockfile.names()])];
  const unknown = a.targets.filter((t) => !stages.some((n) => matches([t], n)) && !all.some((p) => pointerMatches([t], p)));
  if (unknown.length > 0) return err(unknown.map((t) => unknownTarget(t, stages)));
  return ok({
    inputs: await lockInputs(project.root, state.value.lockfile, ws.value.pipeline, sources, a.targets),
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

/**
 * `repro --pull`: brings the pointer-tracked data among `paths` (missing inputs) from the default
 * remote into the workspace. Returns the problems (each naming the object and the data), empty
 * when all arrived; the caller reports them and the run then stops on what is still missing.
 */
export async function pullMissingData(project: Project, paths: readonly string[]): Promise<string[]> {
  const sources = new DataSources(project.root, project.displayCwd);
  const files = [...new Set((await Promise.all(paths.map(async (p) => (await sources.pointerFor(p))?.file))).filter((f): f is string => f !== undefined))];
  if (files.length === 0) return [];
  const opened = await openTransfer(project, { remote: undefined, jobs: undefined, targets: files });
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
