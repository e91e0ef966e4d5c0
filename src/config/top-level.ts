/**
 * The top-level sections of dvc.yaml / pipeline.yaml other than `stages`, `vars` and `plots`:
 *
 *   metrics: [dvclive/metrics.json, eval]     # files or folders, shown by metrics show/diff, exp show
 *   params: [custom.yaml, config.toml]        # whole params files, shown by params diff
 *   artifacts:                                # listed by `mlbuild artifacts`
 *     text-classifier: {path: model.pkl, type: model, desc: ..., labels: [...], meta: {...}}
 *
 * Paths are relative to the pipeline file's folder, as in DVC. Each entry keeps its location;
 * malformed entries are located diagnostics. `datasets:` (DVC 3.5's dataset registry, resolved
 * through DVC Studio) is refused with a located error rather than ignored. Top-level `plots` are
 * read by plots/definition.ts. It reads no metrics data and does not check that files exist
 * (a metrics file appears when its stage runs).
 */
import * as path from 'node:path';
import type { Pair } from 'yaml';
import type { Diagnostic, SourceLocation } from '../report/diagnostic.js';
import { resolveNode, rootContext, toJs, type LValue } from './interpolate.js';
import { keyRange, locAt, rangeOf, type YamlFile } from './pipeline-file.js';
import { Checker } from './schema.js';
import type { ParamFiles } from './param-files.js';
import { isProjectParamsFile } from './param-files.js';

/** One entry of the top-level `artifacts:` (DVC's model registry annotations). */
export interface Artifact {
  readonly name: string;
  /** Project-relative POSIX path, or a URL (`s3://...`) kept as written. */
  readonly path: string;
  readonly type?: string;
  readonly desc?: string;
  readonly labels: readonly string[];
  readonly meta?: unknown;
  readonly loc?: SourceLocation;
}

export interface TopLevelPath {
  /** Project-relative POSIX path. */
  readonly path: string;
  readonly loc?: SourceLocation;
}

export interface TopLevel {
  readonly metrics: readonly TopLevelPath[];
  readonly params: readonly TopLevelPath[];
  readonly artifacts: readonly Artifact[];
}

export const ARTIFACT_KEYS = ['path', 'type', 'desc', 'labels', 'meta'] as const;

/** DVC's artifact id rule (dvc/annotations.py): lowercase letters, digits, `-` or `/` inside. */
const ARTIFACT_NAME = /^[a-z0-9]([a-z0-9-/]*[a-z0-9])?$/;
const URL = /^[a-z][a-z0-9+.-]*:\/\//i;

export interface TopLevelOptions {
  /** Absolute project root. */
  readonly root: string;
  /** Absolute folder of the pipeline file (top-level paths are relative to it). */
  readonly pipelineDir: string;
  readonly paramFiles: ParamFiles;
}

/** Reads `metrics`, `params`, `artifacts` and refuses `datasets`; `top` are the file's top-level pairs. */
export function readTopLevel(file: YamlFile, top: ReadonlyMap<string, Pair>, opts: TopLevelOptions, diags: Diagnostic[]): TopLevel {
  const check = new Checker(file, diags);
  // Not interpolated, as in DVC: a `${...}` here is reported as undefined.
  const value = (key: string): LValue | undefined => {
    const p = top.get(key);
    if (!p) return undefined;
    const v = resolveNode(file.doc, p.value, rootContext({}), { file, diags }, rangeOf(p.value, keyRange(p)));
    return v.kind === 'scalar' && v.value === null ? undefined : v;
  };
  const datasets = top.get('datasets');
  if (datasets) {
    check.error(
      keyRange(datasets),
      'unsupported-key',
      "top-level 'datasets' is not supported by mlbuild (DVC resolves them through DVC Studio)",
      'declare the data as a stage dep instead (a path in the project, tracked by git or a .dvc file), then remove datasets:',
    );
  }
  const rel = (p: string, range: readonly [number, number], what: string): string | undefined => {
    const abs = path.resolve(opts.pipelineDir, p);
    const r = path.relative(opts.root, abs);
    if (p.trim() === '' || r === '' || r === '..' || r.startsWith(`..${path.sep}`) || path.isAbsolute(r)) {
      check.error(range, 'outside-project', `${what} '${p}' is outside the project`, 'name a path inside the project, relative to the pipeline file');
      return undefined;
    }
    return r.split(path.sep).join('/');
  };
  const paths = (key: string, what: string): TopLevelPath[] => {
    const v = value(key);
    if (!v) return [];
    const list = v.kind === 'seq' ? check.stringList(v, `the top-level '${key}'`, `write ${key}: [path, ...]`) : check.wrongType(v, `the top-level '${key}'`, 'a list of paths', `write ${key}: then - path on each line`);
    const out: TopLevelPath[] = [];
    for (const item of list ?? []) {
      const p = rel(item.value, item.range, what);
      if (p !== undefined && !out.some((o) => o.path === p)) out.push({ path: p, loc: locAt(file, item.range) });
    }
    return out;
  };
  const metrics = paths('metrics', 'metrics file');
  const params = paths('params', 'params file').filter((p) => {
    if (isProjectParamsFile(p.path)) return false; // already the project params
    const read = opts.paramFiles.get(p.path);
    if (read.ok || read.error === 'not found') return true; // a file not there yet shows as missing in params diff
    diags.push({ severity: 'error', code: 'bad-params-file', message: `params file '${p.path}': ${read.error}`, ...(p.loc ? { location: p.loc } : {}), hint: `fix ${p.path}` });
    return false;
  });
  return { metrics, params, artifacts: readArtifacts(check, value('artifacts'), rel) };
}

function readArtifacts(check: Checker, v: LValue | undefined, rel: (p: string, range: readonly [number, number], what: string) => string | undefined): Artifact[] {
  if (!v) return [];
  const hint = 'write artifacts: then one entry per artifact, e.g. text-classifier: {path: models/model.pkl, type: model}';
  if (v.kind !== 'map') return check.wrongType(v, "the top-level 'artifacts'", 'a map of artifact names to {path, type, desc, labels, meta}', hint) ?? [];
  const out: Artifact[] = [];
  for (const e of v.entries) {
    const where = `artifact '${e.key}'`;
    if (!ARTIFACT_NAME.test(e.key)) {
      check.error(e.keyRange, 'bad-artifact-name', `invalid artifact name '${e.key}'`, "use lowercase letters and digits, with '-' or '/' as separators (not first or last), e.g. text-classifier");
    }
    if (e.value.kind !== 'map') {
      check.wrongType(e.value, `${where}`, 'a map with at least path:', hint);
      continue;
    }
    const m = check.entryKeys(e.value, ARTIFACT_KEYS, where);
    const pathV = m.get('path');
    if (!pathV) {
      check.error(e.keyRange, 'missing-key', `${where} has no 'path'`, 'add path: models/model.pkl (relative to the pipeline file) or a URL');
      continue;
    }
    const p = check.string(pathV, `'path' of ${where}`, 'write path: models/model.pkl');
    const str = (k: string): string | undefined => {
      const x = m.get(k);
      return x && !(x.kind === 'scalar' && x.value === null) ? check.string(x, `'${k}' of ${where}`, `write ${k}: <text>`) : undefined;
    };
    const type = str('type');
    const desc = str('desc');
    const labelsV = m.get('labels');
    const labels = labelsV && !(labelsV.kind === 'scalar' && labelsV.value === null) ? check.stringList(labelsV, `'labels' of ${where}`, 'write labels: [nlp, baseline]') : [];
    const metaV = m.get('meta');
    if (p === undefined || labels === undefined) continue;
    const resolved = URL.test(p) ? p : rel(p, pathV.range, `path of ${where}`);
    if (resolved === undefined) continue;
    out.push({
      name: e.key,
      path: resolved,
      ...(type !== undefined ? { type } : {}),
      ...(desc !== undefined ? { desc } : {}),
      labels: labels.map((l) => l.value),
      ...(metaV && !(metaV.kind === 'scalar' && metaV.value === null) ? { meta: toJs(metaV) } : {}),
      loc: locAt(check.file, e.keyRange),
    });
  }
  return out;
}
