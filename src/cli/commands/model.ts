/**
 * `mlbuild model register|assign|list|show|get`: the GTO-tag model registry (src/registry) on the
 * command line. `list` and `show` need only git (they work in any repository with GTO tags, a DVC
 * project included); `register` reads mlbuild.lock at the commit; `get` restores a version's model
 * directory from the local cache or a remote and checks its hashes. `--json` everywhere.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { runTerminalCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { type Result, ok, err } from '../../util/result.js';
import { findProject, type Project } from '../../project.js';
import type { Terminal } from '../../report/terminal.js';
import { GitReader } from '../../metrics/git-reader.js';
import { Lockfile } from '../../state/lockfile.js';
import { flatten, parseMetricsText } from '../../metrics/diff.js';
import { GitTagStore } from '../../registry/git-tags.js';
import { readGates } from '../../registry/gate.js';
import { Registry, RegistryError, type LockLookup, type VersionLocation } from '../../registry/registry.js';
import { parseModelRef, stageHistory, type ArtifactState } from '../../registry/state.js';
import { EXIT_OK } from '../../exit-codes.js';
import type { Diagnostic } from '../../report/diagnostic.js';

interface Opened {
  readonly root: string;
  readonly project?: Project;
  readonly registry: Registry;
  readonly git: GitReader;
}

/** The registry of the repository around cwd; a pipeline project is optional (list/show). */
async function open(g: GlobalOptions): Promise<Result<Opened, Diagnostic[]>> {
  const project = findProject(g.cwd, g.file);
  const root = project.ok ? project.value.root : g.cwd;
  const opened = await GitReader.open(root, 'the model registry lives in git tags');
  if (!opened.ok) return opened;
  const git = opened.value;
  const lockCache = new Map<string, Lockfile | undefined>();
  const lockAt = async (commit: string): Promise<Lockfile | undefined> => {
    if (!lockCache.has(commit)) {
      const r = await git.read(commit, 'mlbuild.lock');
      const parsed = r.ok ? await Lockfile.parse(r.text, `${commit.slice(0, 7)}:mlbuild.lock`, root) : undefined;
      lockCache.set(commit, parsed?.ok ? parsed.value : undefined);
    }
    return lockCache.get(commit);
  };
  const lookup: LockLookup = async (commit, p) => {
    const lock = await lockAt(commit);
    for (const name of lock?.names() ?? []) {
      const out = lock?.get(name)?.outs.find((o) => o.path === p);
      if (out) return { hash: out.hash, stage: name };
    }
    return undefined;
  };
  const readAt = async (commit: string, file: string) => {
    const r = await git.read(commit, file);
    return r.ok ? r.text : undefined;
  };
  return ok({ root, ...(project.ok ? { project: project.value } : {}), registry: new Registry(new GitTagStore(root), lookup, readAt), git });
}

/** What the command itself refuses (bad usage, exit 2); the registry's own refusals arrive as RegistryError. */
const refused = (code: 'usage' | 'registry', message: string, hint: string): CommandResult => err([{ severity: 'error', code, message, hint }]);

/** The registry throws RegistryError for what it refuses: here, at the command's edge, it becomes a diagnostic. */
function run(g: GlobalOptions, body: (o: Opened, term: Terminal) => Promise<CommandResult>): Promise<number> {
  return runTerminalCommand(async (term) => {
    const o = await open(g);
    if (!o.ok) return o;
    try {
      return await body(o.value, term);
    } catch (e) {
      if (!(e instanceof RegistryError)) throw e;
      return err([e.diagnostic()]);
    }
  });
}

const pushHint = (tags: readonly string[]): string => `To share it: git push origin ${tags.map((t) => `'${t}'`).join(' ')}\n`;

/** The path the pipeline file's top-level `artifacts:` gives `name` (DVC's model registry annotations), if it loads and has one. */
async function artifactPath(project: Project | undefined, name: string): Promise<string | undefined> {
  if (!project) return undefined;
  const { openWorkspace } = await import('../../run/workspace.js');
  const ws = await openWorkspace(project, [], false);
  return ws.ok ? ws.value.loaded.topLevel.artifacts.find((x) => x.name === name)?.path : undefined;
}

export function modelRegisterCommand(g: GlobalOptions, a: { name: string; version?: string; bump?: string; path?: string; rev?: string; json: boolean }): Promise<number> {
  return run(g, async ({ registry, project }, term) => {
    if (a.bump !== undefined && !['major', 'minor', 'patch'].includes(a.bump)) return refused('usage', `--bump must be major, minor or patch (got '${a.bump}')`, 'e.g. --bump minor');
    // Without --path, a model declared under the pipeline's artifacts: is registered at its path.
    const modelPath = a.path ?? (await artifactPath(project, a.name));
    const r = await registry.register(a.name, {
      ...(a.version !== undefined ? { version: a.version } : {}),
      ...(a.bump !== undefined ? { bump: a.bump as 'major' | 'minor' | 'patch' } : {}),
      ...(modelPath !== undefined ? { path: modelPath.replace(/\/+$/, '') } : {}),
      ...(a.rev !== undefined ? { rev: a.rev } : {}),
    });
    if (a.json) term.out(`${JSON.stringify(r)}\n`);
    else term.out(`Registered ${a.name}@${r.version}: ${r.path} (${r.hash}) at ${r.commit.slice(0, 7)}, tag '${r.tag}'\n${pushHint([r.tag])}`);
    return ok(EXIT_OK);
  });
}

export function modelAssignCommand(g: GlobalOptions, a: { name: string; version: string; stage: string; force: boolean; json: boolean }): Promise<number> {
  return run(g, async ({ registry, root }, term) => {
    const gates = await readGates(root);
    if (!gates.ok) return gates;
    const version = a.version.startsWith('v') ? a.version : `v${a.version}`;
    const r = await registry.assign(a.name, version, a.stage, gates.value, { force: a.force });
    if (a.json) {
      term.out(`${JSON.stringify({ name: a.name, version, stage: a.stage, previous: r.previous ?? null, tags: r.tags, gate: r.checks.map((c) => ({ file: c.rule.file, metric: c.rule.metric, candidate: c.candidate ?? null, current: c.current ?? null, passed: c.passed, reason: c.reason ?? null })) })}\n`);
      return ok(EXIT_OK);
    }
    for (const c of r.checks) term.out(`gate ${a.stage}: ${c.rule.metric} ${c.candidate}${c.current !== undefined ? ` vs ${c.current}` : ''} ${c.passed ? 'ok' : `overridden by --force: ${c.reason}`}\n`);
    term.out(`${a.name}#${a.stage} -> ${version}${r.previous ? ` (was ${r.previous})` : ''}; tags ${r.tags.map((t) => `'${t}'`).join(', ')}\n${pushHint(r.tags)}`);
    return ok(EXIT_OK);
  });
}

const artifactJson = (a: ArtifactState) => ({
  name: a.name,
  deprecated: a.deprecated,
  stages: Object.fromEntries(a.stages),
  versions: a.versions.map((v) => ({ version: v.version, commit: v.commit, registered: v.registered, active: v.active, stages: v.stages })),
});

export function modelListCommand(g: GlobalOptions, a: { json: boolean }): Promise<number> {
  return run(g, async ({ registry }, term) => {
    const state = await registry.state();
    if (a.json) {
      term.out(`${JSON.stringify([...state.values()].map(artifactJson))}\n`);
      return ok(EXIT_OK);
    }
    if (state.size === 0) {
      term.out('No models registered (no GTO tags). Register one: mlbuild model register NAME\n');
      return ok(EXIT_OK);
    }
    const rows = [['name', 'latest', 'stages'], ...[...state.values()].map((s) => [s.name + (s.deprecated ? ' (deprecated)' : ''), s.versions.find((v) => v.active && v.registered)?.version ?? '-', [...s.stages].map(([st, v]) => `${st}=${v}`).join(' ') || '-'])];
    const w = [0, 1].map((i) => Math.max(...rows.map((r) => (r[i] as string).length)));
    for (const r of rows) term.out(`${(r[0] as string).padEnd(w[0] as number)}  ${(r[1] as string).padEnd(w[1] as number)}  ${r[2]}\n`);
    return ok(EXIT_OK);
  });
}

export function modelShowCommand(g: GlobalOptions, a: { name: string; json: boolean }): Promise<number> {
  return run(g, async ({ registry, git }, term) => {
    const state = await registry.state();
    const art = state.get(a.name);
    if (!art) return refused('registry', `no model '${a.name}' in the registry (known: ${[...state.keys()].join(', ') || 'none'})`, 'see `mlbuild model list`');
    const versions = [];
    for (const v of art.versions) {
      const loc: VersionLocation | undefined = v.registered ? await registry.locationOf(a.name, v, state).catch(() => undefined) : undefined;
      const lockText = await git.read(v.commit, 'mlbuild.lock');
      const lock = lockText.ok ? await Lockfile.parse(lockText.text, `${v.commit.slice(0, 7)}:mlbuild.lock`) : undefined;
      const stage = loc && lock?.ok ? lock.value.names().find((n) => lock.value.get(n)?.outs.some((o) => o.path === loc.path)) : undefined;
      const entry = stage && lock?.ok ? lock.value.get(stage) : undefined;
      const metrics: Record<string, unknown> = {};
      // Metrics: the producing stage's small JSON/YAML outs and deps that git holds at that commit.
      for (const d of [...(entry?.outs ?? []), ...(entry?.deps ?? [])]) {
        if (!/\.(json|ya?ml)$/.test(d.path) || d.path.endsWith('.dir')) continue;
        const t = await git.read(v.commit, d.path);
        if (!t.ok) continue;
        try {
          metrics[d.path] = Object.fromEntries(flatten(parseMetricsText(t.text, d.path)));
        } catch {
          // not a metrics file after all
        }
      }
      versions.push({ version: v.version, commit: v.commit, active: v.active, stages: v.stages, path: loc?.path ?? null, hash: loc?.hash ?? null, stage: stage ?? null, params: entry?.params ?? {}, deps: (entry?.deps ?? []).map((d) => ({ path: d.path, hash: d.hash })), metrics });
    }
    const history = Object.fromEntries([...stageHistory(art)].map(([s, evs]) => [s, evs.map((e) => ({ action: e.action, version: e.version, tag: e.tag, time: new Date(e.time * 1000).toISOString(), by: e.tagger }))]));
    if (a.json) {
      term.out(`${JSON.stringify({ ...artifactJson(art), versions, history })}\n`);
      return ok(EXIT_OK);
    }
    term.out(`${art.name}${art.deprecated ? ' (deprecated)' : ''}\n`);
    term.out(`stages: ${[...art.stages].map(([s, v]) => `${s}=${v}`).join(' ') || 'none'}\n\nversions:\n`);
    for (const v of versions) {
      term.out(`  ${v.version}  ${v.commit.slice(0, 7)}${v.active ? '' : ' (deregistered)'}${v.stages.length ? `  [${v.stages.join(', ')}]` : ''}${v.path ? `  ${v.path} ${v.hash ?? ''}` : ''}\n`);
      for (const [file, m] of Object.entries(v.metrics)) term.out(`    ${file}: ${Object.entries(m as Record<string, unknown>).map(([k, x]) => `${k}=${String(x)}`).join(' ')}\n`);
      const data = v.deps.filter((d) => d.path.startsWith('data/'));
      if (data.length) term.out(`    data: ${data.map((d) => `${d.path} ${d.hash}`).join(', ')}\n`);
      const params = [...flatten(v.params)];
      if (params.length) term.out(`    params: ${params.map(([k, x]) => `${k}=${String(x)}`).join(' ')}\n`);
    }
    term.out('\nhistory:\n');
    for (const [s, evs] of Object.entries(history)) for (const e of evs) term.out(`  ${e.time}  ${s.padEnd(8)} ${e.action.padEnd(8)} ${e.version}  ${e.tag}  ${e.by}\n`);
    return ok(EXIT_OK);
  });
}

export function modelGetCommand(g: GlobalOptions, a: { ref: string; out?: string; remote?: string; force: boolean; json: boolean }): Promise<number> {
  return run(g, async ({ registry, project }, term) => {
    if (!project) return refused('registry', 'model get needs an mlbuild project (its cache and remotes)', 'run it inside the project that registered the model');
    const loc = await registry.locate(parseModelRef(a.ref));
    if (!loc.hash) return refused('registry', `${loc.artifact}@${loc.version}: ${loc.path} is not recorded in mlbuild.lock at ${loc.commit.slice(0, 7)}, so there is nothing to fetch by hash`, 'register models whose directory is a pipeline out');
    const out = path.resolve(g.cwd, a.out ?? `${loc.artifact.replace(/[/:]/g, '_')}-${loc.version}`);
    if (existsSync(out) && readdirSync(out).length > 0 && !a.force) return refused('usage', `${out} exists and is not empty`, 'choose another -o DIR, or --force to replace it');
    const { fetchModel } = await import('../../registry/fetch.js');
    const r = await fetchModel(project, loc, out, a.remote);
    if (a.json) term.out(`${JSON.stringify({ name: loc.artifact, version: loc.version, commit: loc.commit, hash: loc.hash, out, from: r.from })}\n`);
    else term.out(`${loc.artifact}@${loc.version} (${loc.hash}) -> ${path.relative(g.cwd, out) || '.'} from ${r.from}, hash checked\n`);
    return ok(EXIT_OK);
  });
}
