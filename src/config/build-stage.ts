/**
 * Builds one expanded `Stage` from its body: checks the keys, resolves `${...}` in every value,
 * reads the typed fields, normalises paths to project-relative POSIX and collects param deps
 * (explicit `params:` entries plus the implicit ones referenced through `${...}` in cmd, deps,
 * outs, metrics, plots and env).
 *
 * Paths: deps and outs are relative to the stage's `wdir`. An out outside the project is an error;
 * a dep outside it is allowed (DVC's external deps) and kept as an absolute path.
 *
 * It does not expand foreach/matrix (expand.ts), load params (params.ts) or link stages into a
 * graph (graph/). Errors go to the diagnostics list; the result is undefined when any was found.
 */
import * as path from 'node:path';
import type { YAMLMap } from 'yaml';
import type { DepSpec, OutKind, OutSpec, ParamDep, PlotSpec, ResourceDemand, SlurmStageOptions, Stage } from '../model/stage.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { stageName } from '../util/brand.js';
import { extendContext, resolveNode, toJs } from './interpolate.js';
import type { Context, LValue, ResolveSink } from './interpolate.js';
import { keyRange, keyText, locAt } from './pipeline-file.js';
import type { Range, YamlFile } from './pipeline-file.js';
import { Checker, OUT_KEYS, PLOT_KEYS, RESOURCE_KEYS, SLURM_STAGE_KEYS, STAGE_KEYS, parseDuration, parseMemory } from './schema.js';
import { deepestMap, getIn, splitKey } from './tree.js';
import { suggest } from '../util/suggest.js';
import type { Tree } from './tree.js';
import type { VarsLoader } from './vars.js';
import { fileParamKey, isProjectParamsFile, type ParamFiles } from './param-files.js';

export interface StageInput {
  readonly file: YamlFile;
  readonly group: string;
  readonly name: string;
  readonly nameRange: Range;
  readonly body: YAMLMap;
  readonly skip: ReadonlySet<string>;
  /** Params + top-level vars. */
  readonly ctx: Context;
  readonly item?: Tree;
  readonly paramRefs: ReadonlySet<string>;
  /** Absolute project root. */
  readonly root: string;
  /** Project-relative folder of the pipeline file, the default wdir ('' for the root). */
  readonly defaultWdir: string;
  readonly vars: VarsLoader;
  /** Custom params files named in `params:` ({custom.yaml: [keys]}). */
  readonly paramFiles: ParamFiles;
  readonly diags: Diagnostic[];
}

const BODY_KEYS = STAGE_KEYS.filter((k) => k !== 'foreach' && k !== 'do' && k !== 'matrix');
/** Keys whose `${...}` references become implicit param deps. */
const TRACKED = new Set(['cmd', 'deps', 'outs', 'metrics', 'plots', 'env']);

type Located<T> = { value: T; range: Range };

/** A relative POSIX path with no empty, `.` or `..` segment: path.resolve and path.relative would not change it. */
function isNormalRelative(p: string): boolean {
  if (path.sep !== '/' || p === '' || p.startsWith('/') || p.endsWith('/')) return false;
  for (const seg of p.split('/')) if (seg === '' || seg === '.' || seg === '..') return false;
  return true;
}

/** Resolves `p` against the stage's wdir: a project-relative POSIX path, or the absolute path if outside. */
function projectPath(root: string, wdir: string, p: string): { inside: boolean; path: string } {
  // Already normal (the usual `data/train.csv`): what resolve + relative would return, ~3000 times cheaper per pipeline.
  if (isNormalRelative(p)) return { inside: true, path: wdir === '' ? p : `${wdir}/${p}` };
  const abs = path.resolve(root, wdir, p);
  const rel = path.relative(root, abs);
  if (rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) return { inside: false, path: abs.split(path.sep).join('/') };
  return { inside: true, path: rel === '' ? '.' : rel.split(path.sep).join('/') };
}

export async function buildStage(input: StageInput): Promise<Stage | undefined> {
  const { file, group, root, diags } = input;
  const before = diags.filter((d) => d.severity === 'error').length;
  const check = new Checker(file, diags);
  const where = `stage '${group}'`;
  const pairs = check.keys(input.body.items.filter((p) => !input.skip.has(keyText(p))), BODY_KEYS, where);
  const withItem = (ctx: Context): Context => (input.item ? extendContext(ctx, input.item) : ctx);
  const plainSink: ResolveSink = { file, diags };
  const resolve = (key: string, ctx: Context, sink: ResolveSink): LValue | undefined => {
    const p = pairs.get(key);
    return p ? resolveNode(file.doc, p.value, ctx, sink, [keyRange(p)[1], keyRange(p)[1]]) : undefined;
  };

  // wdir first: stage vars files are relative to it.
  let wdir = input.defaultWdir;
  const wdirV = resolve('wdir', withItem(input.ctx), plainSink);
  if (wdirV) {
    const w = check.string(wdirV, `'wdir' of ${where}`, 'write wdir: subfolder (relative to the pipeline file)');
    if (w !== undefined) {
      const r = projectPath(root, input.defaultWdir, w);
      if (r.inside) wdir = r.path === '.' ? '' : r.path;
      else check.error(wdirV.range, 'outside-project', `'wdir' of ${where} is outside the project: ${w}`, 'use a folder inside the project');
    }
  }
  let ctx = input.ctx;
  const varsPair = pairs.get('vars');
  if (varsPair) {
    for (const layer of await input.vars.load(file, varsPair.value, path.resolve(root, wdir), diags)) ctx = extendContext(ctx, layer);
  }
  ctx = withItem(ctx);

  const refs = new Set<string>(input.paramRefs);
  const trackedSink: ResolveSink = { file, diags, paramRefs: refs };
  const get = (key: string): LValue | undefined => resolve(key, ctx, TRACKED.has(key) ? trackedSink : plainSink);
  /** Absent or empty (`deps:` with nothing after it) list keys mean an empty list. */
  const isEmpty = (v: LValue | undefined): boolean => v === undefined || (v.kind === 'scalar' && v.value === null);

  // cmd
  let cmd: string[] = [];
  const cmdV = get('cmd');
  if (!cmdV) {
    // A misspelt `cmd` was already reported as an unknown key with a suggestion.
    if (!input.body.items.some((p) => suggest(keyText(p), ['cmd']) === 'cmd')) check.error(input.nameRange, 'missing-key', `${where} has no 'cmd'`, "add cmd: <command to run> (a string or a list of strings)");
  } else {
    const list = check.stringList(cmdV, `'cmd' of ${where}`, 'write cmd: python train.py, or a list of commands');
    if (list?.length === 0 || list?.some((c) => c.value.trim() === '')) {
      check.error(cmdV.range, 'bad-value', `'cmd' of ${where} is empty`, 'write the command to run, e.g. cmd: python train.py');
    } else if (list) cmd = list.map((c) => c.value);
  }

  // deps
  const deps: DepSpec[] = [];
  const depsV = get('deps');
  if (!isEmpty(depsV) && depsV) {
    const hint = 'write deps: [path/to/file, path/to/folder]';
    // An item that is a list (`- ${paths(data.train)}`) adds its paths in place; an empty one adds none.
    const flat: LValue | undefined = depsV.kind === 'seq' ? { ...depsV, items: depsV.items.flatMap((it) => (it.kind === 'seq' ? it.items : [it])) } : undefined;
    const list = flat ? check.stringList(flat, `'deps' of ${where}`, hint) : check.wrongType(depsV, `'deps' of ${where}`, 'a list of paths', hint);
    for (const d of list ?? []) {
      if (d.value.trim() === '') check.error(d.range, 'bad-value', `empty dep path in ${where}`, 'remove the empty entry');
      else deps.push({ path: projectPath(root, wdir, d.value).path, loc: locAt(file, d.range) });
    }
  }

  // outs, metrics, plots
  const outs: OutSpec[] = [];
  for (const [key, kind] of [['outs', 'out'], ['metrics', 'metric'], ['plots', 'plot']] as const) {
    const v = get(key);
    if (!isEmpty(v) && v) outs.push(...readOuts(check, v, key, kind, where, root, wdir));
  }

  // A metric or plot inside one of the stage's own outs (DVCLive: outs: [dvclive], metrics:
  // [dvclive/metrics.json]) is part of that out's content: shown by metrics/plots, not stored twice.
  const views = outs.filter((o) => o.kind !== 'out' && outs.some((d) => d.kind === 'out' && o.path.startsWith(d.path + '/')));
  for (const v of views) outs.splice(outs.indexOf(v), 1);

  // params: explicit first, then implicit ones not already covered
  const params: ParamDep[] = [];
  const paramsV = get('params');
  if (!isEmpty(paramsV) && paramsV) params.push(...readParams(check, paramsV, where, ctx.params, input.paramFiles, root, wdir));
  const explicit = params.map((p) => p.key);
  const covered = (k: string, among: readonly string[]): boolean => among.some((e) => e === k || k.startsWith(`${e}.`));
  const implicit = [...refs];
  for (const k of implicit) {
    if (!covered(k, explicit) && !covered(k, implicit.filter((o) => o !== k))) params.push({ key: k, implicit: true });
  }

  const frozenV = get('frozen');
  const alwaysV = get('always_changed');
  const descV = get('desc');
  const metaV = get('meta');
  const envV = get('env');
  const timeoutV = get('timeout');
  const retriesV = get('retries');
  const resourcesV = get('resources');
  const slurmV = get('slurm');
  const frozen = frozenV ? check.bool(frozenV, `'frozen' of ${where}`, 'frozen: true') : false;
  const alwaysChanged = alwaysV ? check.bool(alwaysV, `'always_changed' of ${where}`, 'always_changed: true') : false;
  const desc = descV && !isEmpty(descV) ? check.string(descV, `'desc' of ${where}`, 'write desc: a short description') : undefined;
  const env = envV && !isEmpty(envV) ? check.stringMap(envV, `'env' of ${where}`, 'write env: {NAME: value}') : {};
  let timeout: number | undefined;
  if (timeoutV && !isEmpty(timeoutV)) {
    timeout = timeoutV.kind === 'scalar' ? parseDuration(timeoutV.value) : undefined;
    if (timeout === undefined) check.error(timeoutV.range, 'bad-value', `'timeout' of ${where} must be a positive number of seconds or a duration like 90s, 10m, 2h`, 'write e.g. timeout: 10m');
  }
  const retries = retriesV ? check.int(retriesV, `'retries' of ${where}`, 0, 'retries: 2') : 0;
  const resources = resourcesV && !isEmpty(resourcesV) ? readResources(check, resourcesV, where) : { cpus: 1, gpus: 0, memoryMb: 0 };
  const slurm = slurmV && !isEmpty(slurmV) ? readSlurm(check, slurmV, where) : undefined;

  if (diags.filter((d) => d.severity === 'error').length > before) return undefined;
  return {
    name: stageName(input.name),
    group,
    ...(desc !== undefined ? { desc } : {}),
    cmd,
    wdir,
    deps,
    params,
    outs,
    ...(views.length > 0 ? { views } : {}),
    frozen: frozen ?? false,
    alwaysChanged: alwaysChanged ?? false,
    env: env ?? {},
    resources: resources ?? { cpus: 1, gpus: 0, memoryMb: 0 },
    ...(timeout !== undefined ? { timeout } : {}),
    retries: retries ?? 0,
    ...(slurm ? { slurm } : {}),
    ...(metaV && !isEmpty(metaV) ? { meta: toJs(metaV) } : {}),
    loc: locAt(file, input.nameRange),
  };
}

function readOuts(check: Checker, v: LValue, key: string, kind: OutKind, where: string, root: string, wdir: string): OutSpec[] {
  const hint = `write ${key}: [path] or ${key}: [{path: {cache: false}}]`;
  if (v.kind !== 'seq') return check.wrongType(v, `'${key}' of ${where}`, 'a list of paths', hint) ?? [];
  const out: OutSpec[] = [];
  for (const it of v.items) {
    let p: Located<string> | undefined;
    let opts: Map<string, LValue> | undefined;
    if (it.kind === 'scalar' && typeof it.value === 'string') p = { value: it.value, range: it.range };
    else if (it.kind === 'map' && it.entries.length === 1) {
      const e = it.entries[0]!;
      p = { value: e.key, range: e.keyRange };
      if (e.value.kind === 'map') opts = check.entryKeys(e.value, kind === 'plot' ? PLOT_KEYS : OUT_KEYS, `the options of ${key} entry '${e.key}'`);
      else if (!(e.value.kind === 'scalar' && e.value.value === null)) check.wrongType(e.value, `the options of ${key} entry '${e.key}'`, 'a map', 'write {cache: false, persist: true}');
    } else {
      check.error(it.range, 'wrong-type', `each entry of '${key}' in ${where} must be a path or a one-key map {path: {options}}`, 'write - model.pkl: {cache: false}, with the options indented under the path');
      continue;
    }
    if (p.value.trim() === '') {
      check.error(p.range, 'bad-value', `empty path in '${key}' of ${where}`, 'remove the empty entry');
      continue;
    }
    const r = projectPath(root, wdir, p.value);
    if (!r.inside || r.path === '.') {
      check.error(p.range, 'outside-project', `${kind === 'out' ? 'out' : kind} '${p.value}' of ${where} is outside the project`, 'outputs must lie inside the project folder (below the pipeline file); write a path like data/out.csv');
      continue;
    }
    const entry = `${key} entry '${p.value}'`;
    const flag = (name: string): boolean | undefined => {
      const x = opts?.get(name);
      return x ? check.bool(x, `'${name}' of ${entry}`, `${name}: false`) : undefined;
    };
    // DVC's per-out remote routing is not implemented: refused, since ignoring it would push or
    // pull the out somewhere the user did not choose. `push: true` is what mlbuild does anyway.
    const remoteV = opts?.get('remote');
    if (remoteV) check.error(remoteV.range, 'unsupported-option', `'remote' of ${entry} is not supported by mlbuild: every out goes to the default remote`, 'remove remote:, or make that remote the default (mlbuild remote default NAME)');
    const pushV = opts?.get('push');
    if (pushV && check.bool(pushV, `'push' of ${entry}`, 'push: true') === false) {
      check.error(pushV.range, 'unsupported-option', `'push: false' of ${entry} is not supported by mlbuild: push uploads every cached out`, 'remove push: false, or declare the out with cache: false to keep it out of the cache and the remote');
    }
    const desc = opts?.get('desc');
    if (desc) check.string(desc, `'desc' of ${entry}`, 'write desc: a short description');
    let plot: PlotSpec | undefined;
    if (kind === 'plot' && opts) plot = readPlot(check, opts);
    out.push({
      path: r.path,
      kind,
      // Contract section 1: metrics and plots are small and committed to git, so not cached by default.
      cache: flag('cache') ?? kind === 'out',
      persist: flag('persist') ?? false,
      ...(plot ? { plot } : {}),
      loc: locAt(check.file, p.range),
    });
  }
  return out;
}

function readPlot(check: Checker, opts: ReadonlyMap<string, LValue>): PlotSpec | undefined {
  const plot: Record<string, string | readonly string[]> = {};
  for (const k of ['x', 'template', 'title', 'x_label', 'y_label'] as const) {
    const v = opts.get(k);
    const s = v ? check.string(v, `plot option '${k}'`, `write ${k}: <text>`) : undefined;
    if (s !== undefined) plot[k] = s;
  }
  const y = opts.get('y');
  if (y) {
    const list = check.stringList(y, `plot option 'y'`, 'write y: column or y: [col1, col2]');
    if (list) plot.y = y.kind === 'seq' ? list.map((l) => l.value) : (list[0]?.value ?? '');
  }
  return Object.keys(plot).length > 0 ? (plot as PlotSpec) : undefined;
}

function readParams(check: Checker, v: LValue, where: string, tree: Tree, files: ParamFiles, root: string, wdir: string): ParamDep[] {
  const hint = 'write params: [train.lr, model] or params: [{custom.yaml: [train.lr]}]';
  if (v.kind !== 'seq') return check.wrongType(v, `'params' of ${where}`, 'a list of keys', hint) ?? [];
  const out: ParamDep[] = [];
  const seen = new Set<string>();
  const missing = (key: string, range: Range, inTree: Tree, file: string | undefined): void => {
    const segs = splitKey(key);
    const { depth, node } = deepestMap(inTree, segs);
    const near = node && depth < segs.length ? suggest(segs[depth] ?? '', Object.keys(node)) : undefined;
    check.error(
      range,
      'missing-param',
      file === undefined ? `param '${key}' of ${where} is not defined in the params files` : `param '${key}' of ${where} is not defined in ${file}`,
      near !== undefined
        ? `did you mean '${[...segs.slice(0, depth), near].join('.')}'?`
        : file === undefined
          ? `define '${key}' in params/base.yaml or params.yaml, or remove it from params`
          : `define '${key}' in ${file}, or remove it from params`,
    );
  };
  const add = (key: string, range: Range): void => {
    if (!getIn(tree, splitKey(key)).found) missing(key, range, tree, undefined);
    else if (!seen.has(key)) {
      seen.add(key);
      out.push({ key, implicit: false, loc: locAt(check.file, range) });
    }
  };
  const addFrom = (file: string, key: string, range: Range, fileTree: Tree): void => {
    if (!getIn(fileTree, splitKey(key)).found) return missing(key, range, fileTree, file);
    const k = fileParamKey(file, key);
    if (seen.has(k)) return;
    seen.add(k);
    out.push({ key: k, file, implicit: false, loc: locAt(check.file, range) });
  };
  for (const it of v.items) {
    if (it.kind === 'scalar' && typeof it.value === 'string' && it.value.trim() !== '') {
      add(it.value.trim(), it.range);
      continue;
    }
    if (it.kind !== 'map') {
      check.wrongType(it, `each entry of 'params' in ${where}`, 'a key or a {file: [keys]} map', hint);
      continue;
    }
    // DVC's file form {file: [keys]}; an empty value means every key of the file.
    for (const e of it.entries) {
      const whole = e.value.kind === 'scalar' && e.value.value === null;
      if (isProjectParamsFile(e.key)) {
        if (whole) for (const k of Object.keys(tree)) add(k, e.keyRange);
        else for (const k of check.stringList(e.value, `the keys of '${e.key}'`, hint) ?? []) add(k.value.trim(), k.range);
        continue;
      }
      // Custom files are relative to the stage's wdir, as DVC reads them.
      const rel = projectPath(root, wdir, e.key);
      if (!rel.inside) {
        check.error(e.keyRange, 'outside-project', `params file '${e.key}' of ${where} is outside the project`, 'keep params files inside the project folder');
        continue;
      }
      const read = files.get(rel.path);
      if (!read.ok) {
        check.error(e.keyRange, 'bad-params-file', `params file '${e.key}' of ${where}: ${read.error}`, read.error === 'not found' ? `create ${rel.path} or fix the file name` : `fix ${rel.path}`);
        continue;
      }
      if (whole) for (const k of Object.keys(read.value)) addFrom(rel.path, k, e.keyRange, read.value);
      else for (const k of check.stringList(e.value, `the keys of '${e.key}'`, hint) ?? []) addFrom(rel.path, k.value.trim(), k.range, read.value);
    }
  }
  return out;
}

function readResources(check: Checker, v: LValue, where: string): ResourceDemand | undefined {
  if (v.kind !== 'map') return check.wrongType(v, `'resources' of ${where}`, 'a map', 'write resources: {cpus: 2, gpus: 1, memory: 8G}');
  const m = check.entryKeys(v, RESOURCE_KEYS, `'resources' of ${where}`);
  const cpusV = m.get('cpus');
  const gpusV = m.get('gpus');
  const memV = m.get('memory');
  const cpus = cpusV ? check.int(cpusV, `'resources.cpus' of ${where}`, 1, 'cpus: 2') : 1;
  const gpus = gpusV ? check.int(gpusV, `'resources.gpus' of ${where}`, 0, 'gpus: 1') : 0;
  let memoryMb: number | undefined = 0;
  if (memV) {
    memoryMb = memV.kind === 'scalar' ? parseMemory(memV.value) : undefined;
    if (memoryMb === undefined) check.error(memV.range, 'bad-value', `'resources.memory' of ${where} must be a size like 4G or 512M, or a number of MiB`, 'write e.g. memory: 8G');
  }
  return cpus === undefined || gpus === undefined || memoryMb === undefined ? undefined : { cpus, gpus, memoryMb };
}

function readSlurm(check: Checker, v: LValue, where: string): SlurmStageOptions | undefined {
  if (v.kind !== 'map') return check.wrongType(v, `'slurm' of ${where}`, 'a map', 'write slurm: {partition: gpu, qos: long, extra: [--constraint=a100]}');
  const m = check.entryKeys(v, SLURM_STAGE_KEYS, `'slurm' of ${where}`);
  const out: { -readonly [K in keyof SlurmStageOptions]: SlurmStageOptions[K] } = { extra: [] };
  for (const k of ['partition', 'account', 'qos'] as const) {
    const x = m.get(k);
    const s = x ? check.string(x, `'slurm.${k}' of ${where}`, `write ${k}: <name>`) : undefined;
    if (s !== undefined) out[k] = s;
  }
  const extraV = m.get('extra');
  if (extraV) {
    const hint = 'write extra: [--constraint=a100, --exclusive]';
    for (const f of check.stringList(extraV, `'slurm.extra' of ${where}`, hint) ?? []) {
      if (f.value.startsWith('-')) out.extra = [...out.extra, f.value];
      else check.error(f.range, 'bad-value', `each item of 'slurm.extra' of ${where} must be an sbatch flag starting with '-', got '${f.value}'`, hint);
    }
  }
  return out;
}
