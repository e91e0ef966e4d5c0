/**
 * The registry's state, computed from GTO tags alone (no database): artifacts, their versions
 * (registered at a commit, maybe deregistered), and which version each stage holds now, with the
 * full event history (the audit log).
 *
 * Ordering follows GTO (gto/tag.py `find`): annotated tags sorted by tagger time; lightweight tags
 * are not events. Ties within one second (scripts assign fast) are broken by the tag counter, which
 * GTO makes increase per artifact, then by GTO's event priority (register before assign).
 *
 * A stage resolves to the version whose still-active assignment is the most recent (GTO's
 * `--sort timestamp` view): assigning an older version again is a rollback. mlbuild's assign also
 * unassigns higher versions holding the stage, so GTO's default semver view agrees (registry.ts).
 * A version at a commit with no registration is named by the commit (GTO does the same).
 * Pure: the tags come in as data.
 */
import { compareVersions, parseTag, type ParsedTag } from './tags.js';

export interface RawTag {
  readonly name: string;
  /** The commit the tag points at (peeled). */
  readonly commit: string;
  /** Tagger time, seconds since the epoch; undefined for a lightweight tag. */
  readonly time?: number;
  readonly tagger?: string;
  readonly message?: string;
}

export interface RegistryEvent extends ParsedTag {
  readonly tag: string;
  readonly commit: string;
  readonly time: number;
  readonly tagger: string;
  readonly message: string;
  /** The version this event concerns (for assign/unassign: the one registered at the commit). */
  readonly version?: string;
}

export interface VersionState {
  readonly version: string;
  readonly commit: string;
  readonly registered: boolean;
  readonly active: boolean;
  readonly registeredAt?: number;
  /** Stages this version holds now. */
  readonly stages: string[];
}

export interface ArtifactState {
  readonly name: string;
  readonly deprecated: boolean;
  /** Newest first (SemVer). */
  readonly versions: VersionState[];
  /** stage -> version holding it now. */
  readonly stages: ReadonlyMap<string, string>;
  /** Every event, oldest first. */
  readonly events: RegistryEvent[];
}

const PRIORITY: Record<string, number> = { create: 1, deprecate: 2, register: 3, deregister: 4, assign: 5, unassign: 6 };

/** Events in GTO order. */
export function orderEvents(tags: readonly RawTag[]): RegistryEvent[] {
  const evs: RegistryEvent[] = [];
  for (const t of tags) {
    if (t.time === undefined) continue; // GTO ignores lightweight tags
    const p = parseTag(t.name);
    if (!p) continue;
    evs.push({ ...p, tag: t.name, commit: t.commit, time: t.time, tagger: t.tagger ?? '', message: (t.message ?? '').trim() });
  }
  return evs.sort((a, b) => a.time - b.time || (a.counter ?? 0) - (b.counter ?? 0) || (PRIORITY[a.action] as number) - (PRIORITY[b.action] as number) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

export function registryState(tags: readonly RawTag[]): Map<string, ArtifactState> {
  const byArtifact = new Map<string, RegistryEvent[]>();
  for (const e of orderEvents(tags)) {
    const list = byArtifact.get(e.artifact) ?? [];
    list.push(e);
    byArtifact.set(e.artifact, list);
  }
  const out = new Map<string, ArtifactState>();
  for (const [name, raw] of [...byArtifact.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out.set(name, artifactState(name, raw));
  return out;
}

function artifactState(name: string, raw: readonly RegistryEvent[]): ArtifactState {
  const versionAt = new Map<string, string>();
  for (const e of raw) if (e.action === 'register' && !versionAt.has(e.commit)) versionAt.set(e.commit, e.version as string);
  const events = raw.map((e) => (e.action === 'assign' || e.action === 'unassign' ? { ...e, version: versionAt.get(e.commit) ?? e.commit } : e));

  const versions = new Map<string, { commit: string; registered: boolean; active: boolean; registeredAt?: number }>();
  // (version, stage) -> index of the last event, and whether it was an assignment.
  const vstage = new Map<string, { version: string; stage: string; at: number; active: boolean }>();
  let deprecated = false;
  events.forEach((e, i) => {
    const v = e.version as string;
    if (e.action === 'deprecate') deprecated = true;
    else if (e.action === 'register') versions.set(v, { commit: e.commit, registered: true, active: true, registeredAt: e.time });
    else if (e.action === 'deregister') {
      const cur = versions.get(v);
      versions.set(v, { commit: cur?.commit ?? e.commit, registered: cur?.registered ?? false, active: false });
    } else if (e.action === 'assign' || e.action === 'unassign') {
      if (!versions.has(v)) versions.set(v, { commit: e.commit, registered: false, active: true });
      vstage.set(`${v}\u0000${e.stage}`, { version: v, stage: e.stage as string, at: i, active: e.action === 'assign' });
    }
  });
  const stages = new Map<string, string>();
  const latest = new Map<string, number>();
  for (const s of vstage.values()) {
    if (!s.active || !versions.get(s.version)?.active) continue;
    if ((latest.get(s.stage) ?? -1) < s.at) {
      latest.set(s.stage, s.at);
      stages.set(s.stage, s.version);
    }
  }
  const list: VersionState[] = [...versions.entries()]
    .map(([version, v]) => ({ version, ...v, stages: [...stages.entries()].filter(([, x]) => x === version).map(([s]) => s).sort() }))
    .sort((a, b) => {
      const av = a.version.startsWith('v') && a.registered;
      const bv = b.version.startsWith('v') && b.registered;
      if (av && bv) return compareVersions(b.version, a.version);
      return av === bv ? (a.version < b.version ? -1 : 1) : av ? -1 : 1;
    });
  return { name, deprecated, versions: list, stages: new Map([...stages.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))), events };
}

/** Per stage, its assignments oldest first: the audit log `model show` prints. */
export function stageHistory(a: ArtifactState): Map<string, RegistryEvent[]> {
  const h = new Map<string, RegistryEvent[]>();
  for (const e of a.events) {
    if (!e.stage) continue;
    const list = h.get(e.stage) ?? [];
    list.push(e);
    h.set(e.stage, list);
  }
  return h;
}

export type ModelRef = { readonly name: string; readonly version: string } | { readonly name: string; readonly stage: string } | { readonly name: string };

/** `NAME@vX.Y.Z`, `NAME#STAGE`, `NAME@latest` or `NAME` (the latest active version). */
export function parseModelRef(ref: string): ModelRef {
  const at = ref.lastIndexOf('@');
  const hash = ref.indexOf('#');
  if (hash > 0) return { name: ref.slice(0, hash), stage: ref.slice(hash + 1) };
  if (at > 0 && ref.slice(at + 1) !== 'latest') return { name: ref.slice(0, at), version: ref.slice(at + 1) };
  return { name: at > 0 ? ref.slice(0, at) : ref };
}

/** The version `ref` names now, or why none. */
export function resolveRef(state: ReadonlyMap<string, ArtifactState>, ref: ModelRef): { ok: true; version: VersionState } | { ok: false; message: string } {
  const a = state.get(ref.name);
  if (!a) return { ok: false, message: `no model '${ref.name}' in the registry (known: ${[...state.keys()].join(', ') || 'none'})` };
  let name: string | undefined;
  if ('version' in ref) name = ref.version;
  else if ('stage' in ref) {
    name = a.stages.get(ref.stage);
    if (!name) return { ok: false, message: `no version of '${ref.name}' is in stage '${ref.stage}' (stages: ${[...a.stages.keys()].join(', ') || 'none'})` };
  } else name = a.versions.find((v) => v.active && v.registered)?.version;
  const v = a.versions.find((x) => x.version === name);
  if (!v) return { ok: false, message: `'${ref.name}' has no version ${String(name)} (versions: ${a.versions.map((x) => x.version).join(', ') || 'none'})` };
  if (!v.active) return { ok: false, message: `${ref.name}@${v.version} was deregistered` };
  return { ok: true, version: v };
}
