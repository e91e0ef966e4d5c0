/**
 * The Git Tag Ops (GTO) tag grammar, exactly as iterative/gto (gto/constants.py, gto/tag.py,
 * gto/api.py) writes and reads it, so a registry kept by mlbuild reads the same in DVC's
 * ecosystem (DVC Studio, `gto show`) and theirs reads the same here:
 *
 *   NAME@vX.Y.Z          register a version (annotated tag on the model's commit; no counter)
 *   NAME@vX.Y.Z!         deregister it
 *   NAME#STAGE#N         assign STAGE to the version registered at the tag's commit
 *   NAME#STAGE!#N        unassign it
 *   NAME#STAGE           the deprecated "simple" assignment (no counter: cannot be repeated, so
 *                        it cannot record a re-assignment); read, never written
 *   NAME@deprecated      deprecate the whole artifact (NAME@created is read and ignored)
 *
 * N is one more than the largest counter among all of NAME's tags (not per stage). A NAME of the
 * form `dir/path:name` is written `dir/path=name` in tags. Messages are GTO's defaults. Pure: no
 * git here (git-tags.ts lists and creates tags).
 */

export type TagAction = 'register' | 'deregister' | 'assign' | 'unassign' | 'deprecate' | 'create';

export interface ParsedTag {
  readonly artifact: string;
  readonly action: TagAction;
  readonly version?: string;
  readonly stage?: string;
  readonly counter?: number;
}

const NAME = '[a-zA-Z0-9](?:[a-zA-Z0-9\\-/_]*[a-zA-Z0-9])?';
const DIRNAME = '[a-zA-Z0-9\\-_./]+';
const SEMVER =
  '(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)\\.(?:0|[1-9]\\d*)(?:-(?:(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+[0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*)?';
const TAG_RE = new RegExp(
  `^(?<artifact>(?:${DIRNAME}=)?${NAME})(?:(?:#(?<stage>${NAME})|@(?<version>v${SEMVER}))(?<cancel>!?)|@(?:(?<deprecated>deprecated)|(?<created>created)))(?:#(?<counter>[0-9]+))?$`,
);
const FULLNAME_RE = new RegExp(`^(?:${DIRNAME}:)?${NAME}$`);
const NAME_RE = new RegExp(`^${NAME}$`);
const VERSION_RE = new RegExp(`^v${SEMVER}$`);

export const isArtifactName = (s: string): boolean => FULLNAME_RE.test(s);
export const isStageName = (s: string): boolean => NAME_RE.test(s);
export const isVersion = (s: string): boolean => VERSION_RE.test(s);
const toTag = (artifact: string): string => artifact.replace(':', '=');
const fromTag = (artifact: string): string => artifact.replace('=', ':');

/** The GTO meaning of a tag name, or undefined when it is not a GTO tag. */
export function parseTag(tag: string): ParsedTag | undefined {
  const m = TAG_RE.exec(tag);
  if (!m?.groups) return undefined;
  const g = m.groups;
  const counter = g.counter !== undefined ? { counter: Number(g.counter) } : {};
  const artifact = fromTag(g.artifact as string);
  if (g.version) return { artifact, action: g.cancel === '!' ? 'deregister' : 'register', version: g.version, ...counter };
  if (g.stage) return { artifact, action: g.cancel === '!' ? 'unassign' : 'assign', stage: g.stage, ...counter };
  return { artifact, action: g.deprecated ? 'deprecate' : 'create', ...counter };
}

export const registerTag = (artifact: string, version: string): string => `${toTag(artifact)}@${version}`;
export const deregisterTag = (artifact: string, version: string): string => `${toTag(artifact)}@${version}!`;
export const assignTag = (artifact: string, stage: string, counter: number): string => `${toTag(artifact)}#${stage}#${counter}`;
export const unassignTag = (artifact: string, stage: string, counter: number): string => `${toTag(artifact)}#${stage}!#${counter}`;
export const deprecateTag = (artifact: string): string => `${toTag(artifact)}@deprecated`;

/** The counter a new assign/unassign tag of `artifact` gets, given every tag name in the repository. */
export function nextCounter(artifact: string, tags: readonly string[]): number {
  let max = 0;
  for (const t of tags) {
    const p = parseTag(t);
    if (p && p.artifact === artifact && p.counter !== undefined && p.counter > max) max = p.counter;
  }
  return max + 1;
}

// GTO's default messages (gto/registry.py), byte for byte.
export const registerMessage = (artifact: string, version: string): string => `Registering artifact ${artifact} version ${version}`;
export const deregisterMessage = (artifact: string, version: string): string => `Deregistering artifact ${artifact} version ${version}`;
export const assignMessage = (artifact: string, stage: string, version: string): string => `Assigning stage ${stage} to artifact ${artifact} version ${version}`;
export const unassignMessage = (artifact: string, stage: string, version: string): string => `Unassigning stage '${stage}' to artifact '${artifact}' version '${version}'`;

/** SemVer precedence (semver.org §11); build metadata is ignored. Both carry the leading v. */
export function compareVersions(a: string, b: string): number {
  const split = (v: string) => {
    const [core, pre] = v.slice(1).split('+')[0]!.split(/-(.*)/s, 2) as [string, string | undefined];
    return { nums: core.split('.').map(Number), pre: pre === undefined ? [] : pre.split('.') };
  };
  const x = split(a);
  const y = split(b);
  for (let i = 0; i < 3; i++) if (x.nums[i] !== y.nums[i]) return (x.nums[i] as number) - (y.nums[i] as number);
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn && Number(p) !== Number(q)) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

/** The next version after `last` (GTO: patch unless --bump minor/major; v0.0.1 when there is none). */
export function bumpVersion(last: string | undefined, part: 'major' | 'minor' | 'patch' = 'patch'): string {
  if (!last) return 'v0.0.1';
  const [maj, min, pat] = last.slice(1).split(/[-+]/)[0]!.split('.').map(Number) as [number, number, number];
  if (part === 'major') return `v${maj + 1}.0.0`;
  if (part === 'minor') return `v${maj}.${min + 1}.0`;
  return `v${maj}.${min}.${pat + 1}`;
}
