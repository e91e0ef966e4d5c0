/**
 * The project's own settings (not the pipeline): `.mlbuild/config.yaml`, committed and shared by the
 * team, and `.mlbuild/config.local.yaml`, git-ignored, for what is personal to one machine (a
 * credentials profile, a mount point). The local file wins key by key, as DVC's config.local does.
 *
 *   core:   { remote: NAME, executor: local|slurm, jobs: N }
 *   remote: { NAME: { url: s3://bucket/prefix | /mnt/cache | file:///mnt/cache, endpoint_url, region,
 *                     profile, jobs } }
 *   slurm:  { partition, account, qos, time, extra: [flag...], poll_interval }
 *
 * Credentials are never read from or written to these files: the AWS SDK takes them from the
 * environment and the usual profile files. Every error is a located diagnostic (file:line, hint).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode, Pair } from 'yaml';
import type { Diagnostic } from '../report/diagnostic.js';
import { atomicWriteFile } from '../util/atomic-write.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { deref, displayPath, keyRange, keyText, parseYamlText, rangeOf } from './pipeline-file.js';
import type { YamlFile } from './pipeline-file.js';
import { Checker, parseDuration } from './schema.js';
import { parseRemoteUrl, type UrlProblem } from '../remote/remote-url.js';

/** What is wrong with a remote URL, judged on its text alone (the root is irrelevant to validity). */
const badRemoteUrl = (url: string): UrlProblem | undefined => {
  const r = parseRemoteUrl(url, '/');
  return r.ok ? undefined : r.error;
};

export const CONFIG_DIR = '.mlbuild';
export const CONFIG_FILE = 'config.yaml';
export const LOCAL_CONFIG_FILE = 'config.local.yaml';

export interface RemoteConfig {
  readonly name: string;
  /** As written: `s3://bucket/prefix`, an absolute or project-relative path, or `file://...`. */
  readonly url: string;
  readonly endpointUrl?: string;
  readonly region?: string;
  readonly profile?: string;
  /** Parallel transfers. */
  readonly jobs?: number;
}

export interface SlurmConfig {
  readonly partition?: string;
  readonly account?: string;
  readonly qos?: string;
  /** Default `--time` in seconds when a stage declares no `timeout`. */
  readonly timeSeconds?: number;
  /** Further sbatch flags, verbatim (e.g. `--constraint=a100`). */
  readonly extra: readonly string[];
  /** Seconds between two `squeue` polls. */
  readonly pollIntervalSeconds?: number;
}

export interface ProjectConfig {
  readonly core: { readonly remote?: string; readonly executor?: 'local' | 'slurm'; readonly jobs?: number };
  readonly remotes: ReadonlyMap<string, RemoteConfig>;
  readonly slurm: SlurmConfig;
  /** Absolute paths of the files that were read (zero, one or two). */
  readonly files: readonly string[];
}

export const EMPTY_CONFIG: ProjectConfig = { core: {}, remotes: new Map(), slurm: { extra: [] }, files: [] };

const TOP = ['core', 'remote', 'slurm'] as const;
const CORE = ['remote', 'executor', 'jobs'] as const;
const REMOTE = ['url', 'endpoint_url', 'region', 'profile', 'jobs'] as const;
const SLURM = ['partition', 'account', 'qos', 'time', 'extra', 'poll_interval'] as const;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Reads and validates both files; a missing file is simply empty. */
export async function readProjectConfig(root: string, displayCwd: string): Promise<Result<ProjectConfig, Diagnostic[]>> {
  const diags: Diagnostic[] = [];
  const core: Mutable<ProjectConfig['core']> = {};
  const remotes = new Map<string, Mutable<RemoteConfig>>();
  const slurm: Mutable<SlurmConfig> = { extra: [] };
  const files: string[] = [];
  for (const name of [CONFIG_FILE, LOCAL_CONFIG_FILE]) {
    const abs = path.join(root, CONFIG_DIR, name);
    let text: string;
    try {
      text = await readFile(abs, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      diags.push({ severity: 'error', code: 'unreadable-file', message: `cannot read ${displayPath(abs, displayCwd)}: ${String(e)}`, hint: 'check the file permissions' });
      continue;
    }
    files.push(abs);
    const parsed = parseYamlText(abs, displayPath(abs, displayCwd), text, false);
    if (!parsed.ok) {
      diags.push(...parsed.error);
      continue;
    }
    applyFile(parsed.value, new Checker(parsed.value, diags), core, remotes, slurm);
  }
  if (core.remote !== undefined && !remotes.has(core.remote)) {
    diags.push({
      severity: 'error',
      code: 'unknown-remote',
      message: `core.remote names '${core.remote}', which no remote section defines`,
      hint: `add it with 'mlbuild remote add ${core.remote} URL', or set another default with 'mlbuild remote default NAME'`,
    });
  }
  if (diags.some((d) => d.severity === 'error')) return err(diags);
  return ok({ core, remotes, slurm, files });
}

function pairsOf(file: YamlFile, node: unknown, c: Checker, what: string): readonly Pair[] | undefined {
  const n = deref(file.doc, node);
  if (n === null) return [];
  if (!isMap(n)) {
    c.error(rangeOf(n), 'wrong-type', `${what} must be a map`, `write '${what}:' followed by indented 'key: value' lines`);
    return undefined;
  }
  return n.items as Pair[];
}

/** A scalar value (strings, numbers, booleans), or a diagnostic. */
function scalarOf(file: YamlFile, p: Pair): { value: unknown; range: readonly [number, number] } {
  const n = deref(file.doc, p.value);
  return { value: n !== null && isScalar(n) ? n.value : n === null ? null : undefined, range: rangeOf(n, keyRange(p)) };
}

function str(file: YamlFile, c: Checker, p: Pair, what: string, example: string): string | undefined {
  const { value, range } = scalarOf(file, p);
  if (typeof value === 'string' && value !== '') return value;
  c.error(range, 'wrong-type', `${what} must be a non-empty string`, `write e.g. ${example}`);
  return undefined;
}

function posInt(file: YamlFile, c: Checker, p: Pair, what: string): number | undefined {
  const { value, range } = scalarOf(file, p);
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1) return value;
  c.error(range, 'wrong-type', `${what} must be an integer >= 1`, `write e.g. '${keyText(p)}: 8'`);
  return undefined;
}

function duration(file: YamlFile, c: Checker, p: Pair, what: string): number | undefined {
  const { value, range } = scalarOf(file, p);
  const s = typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined;
  if (s === undefined) c.error(range, 'bad-value', `${what} must be a duration`, `write e.g. '${keyText(p)}: 90s', '10m' or '2h'`);
  return s;
}

function applyFile(
  file: YamlFile,
  c: Checker,
  core: Mutable<ProjectConfig['core']>,
  remotes: Map<string, Mutable<RemoteConfig>>,
  slurm: Mutable<SlurmConfig>,
): void {
  const top = pairsOf(file, file.doc.contents, c, 'the config file');
  if (!top) return;
  const sections = c.keys(top, TOP, 'the config file');
  const corePair = sections.get('core');
  if (corePair) {
    for (const [k, p] of c.keys(pairsOf(file, corePair.value, c, 'core') ?? [], CORE, 'core')) {
      if (k === 'remote') core.remote = str(file, c, p, 'core.remote', "'remote: storage'");
      else if (k === 'jobs') core.jobs = posInt(file, c, p, 'core.jobs');
      else {
        const v = str(file, c, p, 'core.executor', "'executor: slurm'");
        if (v === 'local' || v === 'slurm') core.executor = v;
        else if (v !== undefined) c.error(scalarOf(file, p).range, 'bad-value', `core.executor must be local or slurm, got '${v}'`, "write 'executor: local' or 'executor: slurm'");
      }
    }
  }
  const remotePair = sections.get('remote');
  if (remotePair) {
    for (const rp of pairsOf(file, remotePair.value, c, 'remote') ?? []) {
      const name = keyText(rp);
      const prev = remotes.get(name);
      const r: Mutable<RemoteConfig> = prev ?? { name, url: '' };
      for (const [k, p] of c.keys(pairsOf(file, rp.value, c, `remote.${name}`) ?? [], REMOTE, `remote.${name}`)) {
        const what = `remote.${name}.${k}`;
        if (k === 'url') {
          r.url = str(file, c, p, what, "'url: s3://bucket/cache' or 'url: /mnt/shared/mlcache'") ?? r.url;
          const bad = r.url === '' ? undefined : badRemoteUrl(r.url);
          if (bad) c.error(scalarOf(file, p).range, 'bad-remote-url', `${what}: ${bad.message}`, bad.hint);
        }
        else if (k === 'endpoint_url') r.endpointUrl = str(file, c, p, what, "'endpoint_url: http://127.0.0.1:8080'");
        else if (k === 'region') r.region = str(file, c, p, what, "'region: us-east-1'");
        else if (k === 'profile') r.profile = str(file, c, p, what, "'profile: default'");
        else r.jobs = posInt(file, c, p, what);
      }
      if (r.url === '') c.error(keyRange(rp), 'missing-key', `remote '${name}' has no url`, "add 'url: s3://bucket/prefix' or 'url: /path/to/shared/cache' under it");
      remotes.set(name, r);
    }
  }
  const slurmPair = sections.get('slurm');
  if (slurmPair) {
    for (const [k, p] of c.keys(pairsOf(file, slurmPair.value, c, 'slurm') ?? [], SLURM, 'slurm')) {
      const what = `slurm.${k}`;
      if (k === 'partition') slurm.partition = str(file, c, p, what, "'partition: gpu'");
      else if (k === 'account') slurm.account = str(file, c, p, what, "'account: ml-team'");
      else if (k === 'qos') slurm.qos = str(file, c, p, what, "'qos: normal'");
      else if (k === 'time') slurm.timeSeconds = duration(file, c, p, what);
      else if (k === 'poll_interval') slurm.pollIntervalSeconds = duration(file, c, p, what);
      else slurm.extra = flagList(file, c, p);
    }
  }
}

function flagList(file: YamlFile, c: Checker, p: Pair): string[] {
  const n: YamlNode | null = deref(file.doc, p.value);
  const items = n !== null && isSeq(n) ? n.items : [n];
  const out: string[] = [];
  for (const it of items) {
    const v = deref(file.doc, it);
    if (v !== null && isScalar(v) && typeof v.value === 'string' && v.value.startsWith('-')) out.push(v.value);
    else c.error(rangeOf(v, keyRange(p)), 'wrong-type', 'each item of slurm.extra must be an sbatch flag', "write e.g. 'extra: [--constraint=a100, --exclusive]'");
  }
  return out;
}

/**
 * Sets (or, with `value === undefined`, deletes) one key in the shared or local config file,
 * keeping the file's comments and layout; creates the file and `.mlbuild/` when needed.
 */
export async function setConfigValue(root: string, keyPath: readonly string[], value: string | number | undefined, opts: { local: boolean }): Promise<string> {
  const dir = path.join(root, CONFIG_DIR);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const abs = path.join(dir, opts.local ? LOCAL_CONFIG_FILE : CONFIG_FILE);
  // The local file holds what must not be shared: keep it out of git from its first write.
  const ignore = path.join(dir, '.gitignore');
  if (opts.local && !existsSync(ignore)) await atomicWriteFile(ignore, `/${LOCAL_CONFIG_FILE}\n`);
  let text = '';
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const doc = parseDocument(text);
  if (value === undefined) {
    // deleteIn throws when a parent is missing; deleting what is not there is a no-op.
    if (doc.hasIn(keyPath)) doc.deleteIn(keyPath);
    // Drop sections left empty so the file does not fill with `remote: {}`.
    for (let i = keyPath.length - 1; i > 0; i--) {
      const parent = doc.getIn(keyPath.slice(0, i));
      if (isMap(parent) && parent.items.length === 0) doc.deleteIn(keyPath.slice(0, i));
    }
  } else {
    doc.setIn(keyPath, value);
  }
  await atomicWriteFile(abs, doc.contents === null ? '' : doc.toString());
  return abs;
}
