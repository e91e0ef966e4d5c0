/**
 * The model registry's use cases over GTO tags (tags.ts): register a version of a model directory
 * recorded in the lockfile, assign it to a stage (through the stage's gate, gate.ts), and read the
 * registry back (state.ts). A registration's annotated message is GTO's default first line, then
 * two trailers mlbuild reads and GTO shows as text:
 *
 *   Registering artifact sentiment version v1.2.0
 *
 *   mlbuild-path: models/selected
 *   mlbuild-hash: 0123456789abcdef.dir
 *
 * (the out's path and its content hash in mlbuild.lock at the tagged commit, so `model get` can
 * check what it fetched). Repositories registered by GTO itself carry no trailers: the path then
 * defaults to models/selected and the hash comes from the lockfile alone.
 * Side effects go through the TagStore and a ReadAt (git show) passed in.
 */
import type { Diagnostic } from '../report/diagnostic.js';
import { checkGate, type GateCheck, type Gates, type ReadAt } from './gate.js';
import type { TagStore } from './git-tags.js';
import { registryState, resolveRef, type ArtifactState, type ModelRef, type VersionState } from './state.js';
import { assignMessage, assignTag, bumpVersion, isArtifactName, isStageName, isVersion, nextCounter, registerMessage, registerTag, unassignMessage, unassignTag, compareVersions } from './tags.js';

export const DEFAULT_MODEL_PATH = 'models/selected';

export class RegistryError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    /** 2: bad usage (a name, a version); 1: refused (a gate, a conflict). */
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
  }

  /** This refusal as the command reports it: code `registry` (exit 2) or `registry-refused` (exit 1). */
  diagnostic(hint: string | undefined = this.hint): Diagnostic {
    return { severity: 'error', code: this.exitCode === 1 ? 'registry-refused' : 'registry', message: this.message, ...(hint ? { hint } : {}) };
  }
}

export interface Trailers {
  readonly path?: string;
  readonly hash?: string;
}

export function registrationMessage(artifact: string, version: string, t: Trailers): string {
  const lines = [registerMessage(artifact, version)];
  if (t.path || t.hash) lines.push('');
  if (t.path) lines.push(`mlbuild-path: ${t.path}`);
  if (t.hash) lines.push(`mlbuild-hash: ${t.hash}`);
  return lines.join('\n');
}

export function readTrailers(message: string): Trailers {
  const path = /^mlbuild-path: (.+)$/m.exec(message)?.[1]?.trim();
  const hash = /^mlbuild-hash: (.+)$/m.exec(message)?.[1]?.trim();
  return { ...(path ? { path } : {}), ...(hash ? { hash } : {}) };
}

/** Where a version's model directory is and what its content hash should be. */
export interface VersionLocation {
  readonly artifact: string;
  readonly version: string;
  readonly commit: string;
  readonly path: string;
  readonly hash?: string;
}

/** Looks up the out `path` recorded in the lockfile at `commit`: its hash and the stage that made it. */
export type LockLookup = (commit: string, path: string) => Promise<{ hash: string; stage: string } | undefined>;

export class Registry {
  constructor(
    private readonly store: TagStore,
    private readonly lookup: LockLookup,
    private readonly readAt: ReadAt,
  ) {}

  /** The tag store, with creation failures (a tag made meanwhile by someone else) as RegistryErrors. */
  private get tags(): TagStore {
    const store = this.store;
    return {
      list: () => store.list(),
      resolve: (rev) => store.resolve(rev),
      watch: (f, ms) => store.watch(f, ms),
      create: async (name, commit, message) => {
        const made = await store.create(name, commit, message);
        if (made.ok) return made;
        const detail = made.error.map((d) => d.message).join('; ');
        throw new RegistryError(`cannot create tag '${name}': ${detail}`, 'another registration or assignment may have raced this one: run `mlbuild model list` and try again', 1);
      },
    };
  }

  async state(): Promise<Map<string, ArtifactState>> {
    return registryState(await this.tags.list());
  }

  async register(name: string, opts: { version?: string; bump?: 'major' | 'minor' | 'patch'; path?: string; rev?: string }): Promise<{ tag: string; version: string; commit: string; path: string; hash: string }> {
    if (!isArtifactName(name)) throw new RegistryError(`invalid model name '${name}'`, "letters, digits, '-', '_', '/', starting and ending with a letter or digit (GTO's rule)");
    if (opts.version !== undefined && opts.bump !== undefined) throw new RegistryError('give either --version or --bump, not both');
    if (opts.version !== undefined && !isVersion(opts.version)) throw new RegistryError(`invalid version '${opts.version}'`, 'a SemVer with a leading v, e.g. v1.2.0');
    const rev = opts.rev ?? 'HEAD';
    const commit = await this.tags.resolve(rev);
    if (!commit) throw new RegistryError(`'${rev}' is not a commit`, 'commit the model (its mlbuild.lock entry) first, or pass --rev');
    const path = opts.path ?? DEFAULT_MODEL_PATH;
    const recorded = await this.lookup(commit, path);
    if (!recorded) throw new RegistryError(`${path} is not an out recorded in mlbuild.lock at ${rev} (${commit.slice(0, 7)})`, 'run `mlbuild repro` and commit mlbuild.lock, or pass --path to the model directory');
    const state = (await this.state()).get(name);
    const atCommit = state?.versions.find((v) => v.commit === commit && v.registered && v.active);
    if (atCommit) throw new RegistryError(`${name}@${atCommit.version} is already registered at ${commit.slice(0, 7)}`, 'one version per commit (GTO); commit the new model first', 1);
    const last = state?.versions.find((v) => v.registered && v.version.startsWith('v'))?.version;
    const version = opts.version ?? bumpVersion(last, opts.bump);
    if (state?.versions.some((v) => v.version === version)) throw new RegistryError(`${name}@${version} exists already`, `choose another version${last ? ` (latest: ${last})` : ''} or --bump minor`, 1);
    const tag = registerTag(name, version);
    await this.tags.create(tag, commit, registrationMessage(name, version, { path, hash: recorded.hash }));
    return { tag, version, commit, path, hash: recorded.hash };
  }

  /**
   * Assigns `stage` to `version` (rollback is assigning an older version again). Versions above it
   * that hold the stage are unassigned first, so GTO's default (semver) view shows the same.
   */
  async assign(name: string, version: string, stage: string, gates: Gates, opts: { force?: boolean } = {}): Promise<{ tags: string[]; checks: GateCheck[]; previous?: string }> {
    if (!isStageName(stage)) throw new RegistryError(`invalid stage name '${stage}'`, "letters, digits, '-', '_', '/' (GTO's rule), e.g. staging or prod");
    const all = await this.state();
    const a = all.get(name);
    const target = resolveRef(all, { name, version });
    if (!target.ok || !a) throw new RegistryError(target.ok ? `no model '${name}'` : target.message, `register it first: mlbuild model register ${name}`);
    const current = a.stages.get(stage);
    if (current === version && !opts.force) throw new RegistryError(`${name}@${version} is already in stage '${stage}'`, 'nothing to do (--force writes a new assignment tag anyway)', 1);
    const rules = gates.get(stage) ?? [];
    const cur = current ? a.versions.find((v) => v.version === current) : undefined;
    const checks = await checkGate(rules, this.readAt, target.version, cur && { version: cur.version, commit: cur.commit });
    const failed = checks.filter((c) => !c.passed);
    if (failed.length > 0 && !opts.force) {
      throw new RegistryError(`promotion of ${name}@${version} to '${stage}' refused by its gate: ${failed.map((c) => c.reason).join('; ')}`, 'improve the model, or pass --force to override (the tag history records it)', 1);
    }
    const tagNames = (await this.tags.list()).map((t) => t.name);
    const created: string[] = [];
    let counter = nextCounter(name, tagNames);
    for (const v of a.versions) {
      if (v.version !== version && v.stages.includes(stage) && isVersion(v.version) && isVersion(version) && compareVersions(v.version, version) > 0) {
        const t = unassignTag(name, stage, counter++);
        await this.tags.create(t, v.commit, unassignMessage(name, stage, v.version));
        created.push(t);
      }
    }
    const t = assignTag(name, stage, counter);
    await this.tags.create(t, target.version.commit, assignMessage(name, stage, version));
    created.push(t);
    return { tags: created, checks, ...(current ? { previous: current } : {}) };
  }

  /** Where the version `ref` names is: its commit, model path and expected hash. */
  async locate(ref: ModelRef): Promise<VersionLocation> {
    const all = await this.state();
    const r = resolveRef(all, ref);
    if (!r.ok) throw new RegistryError(r.message, 'see `mlbuild model list`');
    return this.locationOf(ref.name, r.version, all);
  }

  async locationOf(name: string, v: VersionState, all?: Map<string, ArtifactState>): Promise<VersionLocation> {
    const a = (all ?? (await this.state())).get(name);
    const reg = a?.events.find((e) => e.action === 'register' && e.version === v.version);
    const t = readTrailers(reg?.message ?? '');
    const path = t.path ?? DEFAULT_MODEL_PATH;
    const recorded = await this.lookup(v.commit, path);
    if (t.hash && recorded && recorded.hash !== t.hash) {
      throw new RegistryError(`${name}@${v.version}: mlbuild.lock at ${v.commit.slice(0, 7)} records ${path} as ${recorded.hash}, but the registration tag says ${t.hash}`, 'the lockfile was rewritten after registration; register a new version', 1);
    }
    const hash = t.hash ?? recorded?.hash;
    return { artifact: name, version: v.version, commit: v.commit, path, ...(hash ? { hash } : {}) };
  }
}
