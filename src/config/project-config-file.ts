/**
 * Parsing and validation of one project config file (see project-config.ts for the format): the
 * YAML-dependent half, imported only when a config file exists.
 */
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Node as YamlNode, Pair } from 'yaml';
import type { Diagnostic } from '../report/diagnostic.js';
import { parseRemoteUrl, type UrlProblem } from '../remote/remote-url.js';
import { deref, keyRange, keyText, parseYamlText, rangeOf } from './pipeline-file.js';
import type { YamlFile } from './pipeline-file.js';
import type { ConfigState, Mutable, ProjectConfig, RemoteConfig, SlurmConfig } from './project-config.js';
import { Checker, parseDuration } from './schema.js';

/** What is wrong with a remote URL, judged on its text alone (the root is irrelevant to validity). */
const badRemoteUrl = (url: string): UrlProblem | undefined => {
  const r = parseRemoteUrl(url, '/');
  return r.ok ? undefined : r.error;
};

const TOP = ['core', 'remote', 'slurm'] as const;
const CORE = ['remote', 'executor', 'jobs', 'write_dvc_lock'] as const;
const REMOTE = ['url', 'endpoint_url', 'region', 'profile', 'jobs'] as const;
const SLURM = ['partition', 'account', 'qos', 'time', 'extra', 'poll_interval'] as const;

/** Validates one file's text and merges what it says into `state`; problems go to `diags`. */
export function applyConfigText(abs: string, display: string, text: string, diags: Diagnostic[], state: ConfigState): void {
  const parsed = parseYamlText(abs, display, text, false);
  if (!parsed.ok) {
    diags.push(...parsed.error);
    return;
  }
  applyFile(parsed.value, new Checker(parsed.value, diags), state.core, state.remotes, state.slurm);
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
      else if (k === 'write_dvc_lock') {
        const v = scalarOf(file, p).value;
        if (typeof v === 'boolean') core.writeDvcLock = v;
        else c.error(scalarOf(file, p).range, 'bad-value', `core.write_dvc_lock must be true or false, got '${String(v)}'`, "write 'write_dvc_lock: true'");
      }
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

/** `text` with one key set (or deleted, with `value === undefined`), comments and layout kept. */
export function editConfigText(text: string, keyPath: readonly string[], value: string | number | undefined): string {
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
  return doc.contents === null ? '' : doc.toString();
}
