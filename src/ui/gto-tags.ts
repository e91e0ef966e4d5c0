/**
 * The GTO tag grammar (https://dvc.org/doc/gto/user-guide; `gto register`, `gto assign`,
 * `gto deprecate`), parsed from tag names alone. Pure. The registry module of `mlbuild model`
 * writes these tags; the ui only reads them, so it carries this small parser rather than depend
 * on how the registry is built.
 *
 *   NAME@vX.Y.Z          register version vX.Y.Z of NAME at the tagged commit
 *   NAME@vX.Y.Z!         deregister that version
 *   NAME#STAGE#N         assign STAGE to the version at the tagged commit (N counts, per NAME#STAGE)
 *   NAME#STAGE!#N        unassign STAGE
 *   NAME#STAGE           assign, simple (non-incremental) form
 *   NAME@deprecated      deprecate the artifact
 *
 * NAME: lowercase letters, digits, `-` and `/` (GTO's `dirname/name` form), starting and ending
 * with a letter or digit; STAGE: the same without `/`. Anything else is not a GTO tag.
 */

export type GtoTag =
  | { kind: 'register'; name: string; version: string }
  | { kind: 'deregister'; name: string; version: string }
  | { kind: 'assign'; name: string; stage: string; n: number | null }
  | { kind: 'unassign'; name: string; stage: string; n: number | null }
  | { kind: 'deprecate'; name: string };

const NAME = '[a-z0-9](?:[a-z0-9/-]*[a-z0-9])?';
const STAGE = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?';
const SEMVER = 'v(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-[0-9A-Za-z.-]+)?(?:\\+[0-9A-Za-z.-]+)?';

const VERSION_RE = new RegExp(`^(${NAME})@(${SEMVER})(!?)$`);
const STAGE_RE = new RegExp(`^(${NAME})#(${STAGE})(!?)(?:#([1-9]\\d*))?$`);
const DEPRECATE_RE = new RegExp(`^(${NAME})@deprecated$`);

export function parseGtoTag(tag: string): GtoTag | undefined {
  let m = VERSION_RE.exec(tag);
  if (m) return { kind: m[3] === '!' ? 'deregister' : 'register', name: m[1]!, version: m[2]! };
  m = STAGE_RE.exec(tag);
  if (m) return { kind: m[3] === '!' ? 'unassign' : 'assign', name: m[1]!, stage: m[2]!, n: m[4] === undefined ? null : Number(m[4]) };
  m = DEPRECATE_RE.exec(tag);
  if (m) return { kind: 'deprecate', name: m[1]! };
  return undefined;
}

/** Orders semantic versions (v1.10.0 after v1.9.0; a pre-release before its release). */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core = '', pre] = v.slice(1).split('+')[0]!.split(/-(.*)/s);
    return { nums: core.split('.').map(Number), pre };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
  if (x.pre === y.pre) return 0;
  if (x.pre === undefined) return 1;
  if (y.pre === undefined) return -1;
  return x.pre.localeCompare(y.pre, 'en', { numeric: true });
}

export interface TagRecord {
  readonly tag: string;
  /** The commit the tag points at (peeled). */
  readonly sha: string;
  /** The tag's creation date (ISO), which orders assignments. */
  readonly date: string;
  readonly message: string;
}

export interface ModelVersion {
  readonly version: string;
  readonly sha: string;
  readonly date: string;
  readonly message: string;
  readonly deregistered: boolean;
  /** Stages this version holds now. */
  readonly stages: readonly string[];
}

export interface Model {
  readonly name: string;
  readonly deprecated: boolean;
  /** Newest version first. */
  readonly versions: readonly ModelVersion[];
  /** STAGE -> version it holds now. */
  readonly stages: Readonly<Record<string, string>>;
  /** Every registry event, oldest first. */
  readonly events: readonly { tag: string; date: string; kind: GtoTag['kind']; version: string | null; stage: string | null }[];
}

/**
 * The registry as GTO reads it: versions from register tags; a stage belongs to the version
 * registered at the commit its latest assign tag points to, unless a later unassign took it away.
 */
export function buildRegistry(tags: readonly TagRecord[]): Model[] {
  const parsed = tags.flatMap((t) => {
    const g = parseGtoTag(t.tag);
    return g ? [{ ...t, g }] : [];
  });
  const order = (a: { date: string; g: GtoTag }, b: { date: string; g: GtoTag }) =>
    a.date.localeCompare(b.date) || ('n' in a.g && 'n' in b.g ? (a.g.n ?? 0) - (b.g.n ?? 0) : 0);
  parsed.sort(order);
  const names = [...new Set(parsed.map((p) => p.g.name))].sort();
  return names.map((name) => {
    const mine = parsed.filter((p) => p.g.name === name);
    const versions = new Map<string, { version: string; sha: string; date: string; message: string; deregistered: boolean }>();
    for (const p of mine) {
      if (p.g.kind === 'register') versions.set(p.g.version, { version: p.g.version, sha: p.sha, date: p.date, message: p.message, deregistered: false });
    }
    for (const p of mine) {
      if (p.g.kind === 'deregister') {
        const v = versions.get(p.g.version);
        if (v) v.deregistered = true;
      }
    }
    const versionAt = (sha: string): string | null => {
      const hits = [...versions.values()].filter((v) => v.sha === sha && !v.deregistered).sort((a, b) => compareVersions(b.version, a.version));
      return hits[0]?.version ?? null;
    };
    const stages: Record<string, string> = {};
    const events: Model['events'][number][] = [];
    for (const p of mine) {
      const g = p.g;
      if (g.kind === 'assign' || g.kind === 'unassign') {
        const v = versionAt(p.sha);
        if (g.kind === 'assign' && v) stages[g.stage] = v;
        if (g.kind === 'unassign' && stages[g.stage] === v) delete stages[g.stage];
        events.push({ tag: p.tag, date: p.date, kind: g.kind, version: v, stage: g.stage });
      } else {
        events.push({ tag: p.tag, date: p.date, kind: g.kind, version: 'version' in g ? g.version : null, stage: null });
      }
    }
    const list: ModelVersion[] = [...versions.values()]
      .sort((a, b) => compareVersions(b.version, a.version))
      .map((v) => ({ ...v, stages: Object.keys(stages).filter((s) => stages[s] === v.version).sort() }));
    return { name, deprecated: mine.some((p) => p.g.kind === 'deprecate'), versions: list, stages, events };
  });
}
