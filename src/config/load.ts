/**
 * The config entry point: pipeline.yaml (or dvc.yaml) + params + `-S` overrides -> the expanded,
 * fully interpolated `Stage[]`, or every error of every file at once as located diagnostics.
 *
 * Order: params (params.ts) -> pipeline file -> top-level keys and `vars` -> per stage:
 * foreach/matrix expansion (expand.ts) -> stage body (build-stage.ts) -> duplicate names.
 * `-S` overrides are written back only when nothing failed, so an invalid pipeline touches no file.
 *
 * It does not link stages into a graph or check that deps exist (graph/ does). DVC's top-level
 * `metrics`, `params` and `artifacts` are read by top-level.ts (`datasets` is refused there);
 * `plots` is read by plots/definition.ts, only when plots are rendered.
 */
import * as path from 'node:path';
import { isMap } from 'yaml';
import type { ParamTree, Stage } from '../model/stage.js';
import { formatDiagnostic } from '../report/diagnostic.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { buildStage } from './build-stage.js';
import { expandStage } from './expand.js';
import { extendContext, rootContext } from './interpolate.js';
import { loadParamsDetailed } from './params.js';
import type { Tree } from './params.js';
import { deref, keyRange, keyText, locAt, rangeOf, readYamlFile } from './pipeline-file.js';
import { Checker, TOP_KEYS } from './schema.js';
import { VarsLoader } from './vars.js';
import { ParamFiles } from './param-files.js';
import { readTopLevel, type TopLevel } from './top-level.js';
import { declaredPlots } from '../plots/definition.js';

export interface LoadOptions {
  /** Absolute project root (the directory containing the pipeline file). */
  root: string;
  /** Absolute path of pipeline.yaml / dvc.yaml. */
  pipelineFile: string;
  /** Raw -S values, e.g. 'strategy=rigorous', 'model.lr=0.1', 'model=logreg,cnn'. */
  overrides: readonly string[];
  /** Write -S overrides back into the params files (repro does; params show does not). */
  writeBack: boolean;
  /** Paths in diagnostics are shown relative to this. */
  displayCwd: string;
}

export interface LoadedPipeline {
  /** Expanded, in file order. */
  stages: Stage[];
  /** The resolved params tree (after overrides). */
  params: ParamTree;
  /** Project-relative paths of params files that were read. */
  paramsFiles: string[];
  /** Custom params files' trees by project-relative path (stage `{file: [keys]}` and top-level `params:`). */
  fileParams: Record<string, ParamTree>;
  /** The top-level `metrics`, `params` and `artifacts` (config/top-level.ts). */
  topLevel: TopLevel;
  /** Absolute paths of every file the result depends on: the pipeline file, params and vars files. */
  inputFiles: string[];
  warnings: Diagnostic[];
}

/** Stage names may not contain what DVC reserves for addressing (`@` expansion, paths, `:`). */
const BAD_NAME = /[@/\\:]/;

/**
 * Orders diagnostics for reading: those without a file first (-S), then by file in order of first
 * appearance and by position within it.
 */
function byPosition(ds: readonly Diagnostic[]): Diagnostic[] {
  const fileOrder = new Map<string, number>();
  for (const d of ds) if (d.location && !fileOrder.has(d.location.file)) fileOrder.set(d.location.file, fileOrder.size);
  const rank = (d: Diagnostic): [number, number, number] =>
    d.location ? [fileOrder.get(d.location.file) ?? 0, d.location.line, d.location.col] : [-1, 0, 0];
  return ds
    .map((d, i) => ({ d, i, r: rank(d) }))
    .sort((a, b) => a.r[0] - b.r[0] || a.r[1] - b.r[1] || a.r[2] - b.r[2] || a.i - b.i)
    .map((x) => x.d);
}

/** Drops repeats (the same error met in every expanded instance of a stage). */
function dedupe(ds: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  return ds.filter((d) => {
    const k = `${d.code}\n${formatDiagnostic(d)}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

export async function loadPipeline(opts: LoadOptions): Promise<Result<LoadedPipeline, Diagnostic[]>> {
  const params = await loadParamsDetailed(opts.root, opts.overrides, { displayCwd: opts.displayCwd });
  const pipelineDiags: Diagnostic[] = [];
  const seen: { vars?: VarsLoader; topLevel?: TopLevel } = {};
  const paramFiles = new ParamFiles(opts.root, params.fileOverrides);
  const stages = await loadStages(opts, params.tree, params.files, pipelineDiags, seen, paramFiles);

  // With broken params, missing keys are most likely a consequence, not news: report the cause.
  const paramsFailed = params.diags.some((d) => d.severity === 'error');
  const all = byPosition(dedupe([
    ...params.diags,
    ...pipelineDiags.filter((d) => !(paramsFailed && (d.code === 'undefined-var' || d.code === 'missing-param'))),
  ]));
  const errors = all.filter((d) => d.severity === 'error');
  const warnings = all.filter((d) => d.severity === 'warning');
  if (errors.length > 0) return err([...errors, ...warnings]);
  if (opts.writeBack) {
    const failure = await params.writeBack();
    if (failure) return err([failure, ...warnings]);
  }
  const inputFiles = [opts.pipelineFile, ...params.files.map((f) => path.join(opts.root, ...f.split('/'))), ...(seen.vars?.filesRead ?? []), ...paramFiles.files()];
  const topLevel = seen.topLevel ?? { metrics: [], params: [], artifacts: [] };
  return ok({ stages, params: params.tree, paramsFiles: params.files, fileParams: paramFiles.trees(), topLevel, inputFiles, warnings });
}

async function loadStages(opts: LoadOptions, paramsTree: Tree, paramsFiles: readonly string[], diags: Diagnostic[], seen: { vars?: VarsLoader; topLevel?: TopLevel }, paramFiles: ParamFiles): Promise<Stage[]> {
  const read = await readYamlFile(opts.pipelineFile, opts.displayCwd, {
    interpolated: true,
    what: 'pipeline file',
    hint: 'create pipeline.yaml with a stages: map, or name another file with -f',
  });
  if (!read.ok) {
    diags.push(...read.error);
    return [];
  }
  const file = read.value;
  const check = new Checker(file, diags);
  const contents = file.doc.contents;
  if (contents === null || (contents && 'value' in contents && contents.value === null)) return [];
  if (!isMap(contents)) {
    check.error(rangeOf(contents), 'wrong-type', `${file.display} must be a map with a 'stages:' key`, 'start the file with stages: and one key per stage');
    return [];
  }
  const top = check.keys(contents.items, TOP_KEYS, file.display);
  const vars = new VarsLoader(opts.displayCwd, new Set(paramsFiles.map((f) => path.join(opts.root, ...f.split('/')))));
  seen.vars = vars;
  const pipelineDir = path.dirname(opts.pipelineFile);
  const defaultWdir = path.relative(opts.root, pipelineDir).split(path.sep).join('/');
  seen.topLevel = readTopLevel(file, top, { root: opts.root, pipelineDir, paramFiles }, diags);

  let ctx = rootContext(paramsTree);
  const topVars = top.get('vars');
  if (topVars) for (const layer of await vars.load(file, topVars.value, pipelineDir, diags)) ctx = extendContext(ctx, layer);

  const stagesPair = top.get('stages');
  if (!stagesPair) return [];
  const stagesNode = deref(file.doc, stagesPair.value);
  if (stagesNode === null || (!isMap(stagesNode) && 'value' in stagesNode && stagesNode.value === null)) return [];
  if (!isMap(stagesNode)) {
    check.error(rangeOf(stagesNode), 'wrong-type', "'stages' must be a map of stage names to stage definitions", 'write stages: then one indented key per stage');
    return [];
  }

  const stages: Stage[] = [];
  const firstAt = new Map<string, ReturnType<typeof keyRange>>();
  for (const pair of stagesNode.items) {
    const group = keyText(pair);
    const nameRange = keyRange(pair);
    if (group.trim() === '' || BAD_NAME.test(group)) {
      check.error(nameRange, 'bad-stage-name', `invalid stage name '${group}'`, "stage names may not be empty or contain '@', '/', '\\' or ':'");
      continue;
    }
    const body = deref(file.doc, pair.value);
    if (!isMap(body)) {
      check.error(rangeOf(pair.value, nameRange), 'wrong-type', `stage '${group}' must be a map of stage keys`, 'indent cmd:, deps:, outs: ... under the stage name');
      continue;
    }
    const errorsBefore = diags.length;
    const expansions = expandStage(file, group, body, ctx, diags);
    if (expansions.length === 0 && diags.length === errorsBefore) {
      check.warn(nameRange, 'empty-expansion', `stage '${group}' expands to no stages`, 'its foreach/matrix values are empty');
    }
    for (const x of expansions) {
      const prev = firstAt.get(x.name);
      if (prev) {
        const same = prev[0] === nameRange[0];
        diags.push({
          severity: 'error',
          code: 'duplicate-stage',
          message: same ? `stage '${group}' expands to the name '${x.name}' twice` : `stage '${x.name}' is defined twice`,
          location: locAt(file, nameRange),
          hint: same ? 'make its foreach/matrix values unique' : 'rename one of the stages',
          ...(same ? {} : { related: [{ message: `'${x.name}' first defined here`, location: locAt(file, prev) }] }),
        });
        continue;
      }
      firstAt.set(x.name, nameRange);
      const stage = await buildStage({
        file,
        group,
        name: x.name,
        nameRange,
        body: x.body,
        skip: x.skip,
        ctx,
        ...(x.item ? { item: x.item } : {}),
        paramRefs: x.paramRefs,
        root: opts.root,
        defaultWdir,
        vars,
        paramFiles,
        diags,
      });
      if (stage) stages.push(stage);
    }
  }
  // Plots are checked here too, so a malformed plot is an error on every command, not only `plots`.
  declaredPlots(stages, file, diags);
  return stages;
}
