/**
 * Which declared plots a `plots` command or the ui shows, and the page of them at some revisions:
 * plot folders expanded per revision, data read through metrics/revisions.ts, images inlined, every
 * file missing or unreadable at a revision named as a problem. Not the HTML (html.ts) or where it is written.
 */
import path from 'node:path';
import type { Project } from '../project.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { type Result, err, ok } from '../util/result.js';
import { openWorkspace } from '../run/workspace.js';
import { readYamlFile } from '../config/pipeline-file.js';
import { RevisionFiles, WORKSPACE } from '../metrics/revisions.js';
import { declaredPlots, type PlotDef } from './definition.js';
import { dataFormat, imageType, parsePlotData } from './data.js';
import { buildPlot, type BuiltPlot, type RevisionData } from './spec.js';
import { dataUri, type ImagePlot, type Page, type PlotProblem } from './html.js';

/** DVC's rule: none -> HEAD and the workspace; one -> it and the workspace; more -> exactly those. */
export function diffRevisions(revs: readonly string[]): string[] {
  const list = revs.length === 0 ? ['HEAD', WORKSPACE] : revs.length === 1 ? [revs[0]!, WORKSPACE] : [...revs];
  return [...new Set(list)];
}

/** What `selectPlots` chose: the plots, every out path of the pipeline and its cached outs. */
export interface SelectedPlots {
  readonly defs: PlotDef[];
  readonly outs: string[];
  readonly cachedOuts: string[];
}

/**
 * The declared plots, narrowed to `targets` (a plot id, any of its files, or a file inside a plot
 * folder), every out path of the pipeline and its cached outs; or why not (the pipeline's or a plot
 * definition's errors, a target that names nothing).
 */
export async function selectPlots(project: Project, cwd: string, targets: readonly string[]): Promise<Result<SelectedPlots, Diagnostic[]>> {
  const ws = await openWorkspace(project, [], false);
  if (!ws.ok) return ws;
  const file = await readYamlFile(project.pipelineFile, project.displayCwd, { interpolated: true, what: 'pipeline file' });
  const diags: Diagnostic[] = file.ok ? [] : file.error;
  const defs = declaredPlots(ws.value.pipeline.stages.values(), file.ok ? file.value : undefined, diags);
  if (diags.some((d) => d.severity === 'error')) return err(diags);
  const stageOuts = [...ws.value.pipeline.stages.values()].flatMap((st) => st.outs);
  const outs = stageOuts.map((o) => o.path);
  const cachedOuts = stageOuts.filter((o) => o.cache).map((o) => o.path);
  if (targets.length === 0) return ok({ defs, outs, cachedOuts });
  const chosen: PlotDef[] = [];
  for (const t of targets) {
    const rel = path.relative(project.root, path.resolve(cwd, t)).split(path.sep).join('/');
    const hits = defs.filter((d) => d.id === t || d.id === rel || d.sources.some((s) => s.file === rel));
    const folder = defs.find((d) => d.sources.length === 1 && rel.startsWith(`${d.sources[0]!.file}/`));
    if (hits.length > 0) chosen.push(...hits.filter((h) => !chosen.includes(h)));
    // A file inside a declared plot folder keeps the folder's options.
    else if (folder) chosen.push({ ...folder, id: rel, sources: [{ ...folder.sources[0]!, file: rel }] });
    // A data file nothing declares is still plotted with the defaults, as `dvc plots show FILE` does.
    else if ((dataFormat(rel) !== undefined || imageType(rel) !== undefined) && !rel.startsWith('../')) chosen.push({ id: rel, template: 'linear', sources: [{ file: rel, cache: false, y: [] }] });
    else {
      const known = defs.map((d) => d.id);
      return err([
        {
          severity: 'error',
          code: 'unknown-target',
          message: `'${t}' is not a declared plot${known.length > 0 ? ` (declared: ${known.join(', ')})` : ''} nor a data file (.json, .yaml, .csv, .tsv) or image (.png, .jpg, .svg)`,
          hint: `name a declared plot or one of its files, or declare it under plots: in ${path.basename(project.pipelineFile)}`,
        },
      ]);
    }
  }
  return ok({ defs: chosen, outs, cachedOuts });
}

/**
 * Replaces each plot whose one source is a folder at some revision (DVCLive's `dvclive/plots/metrics`)
 * by one plot per data file or image below it, with the folder's options, in path order.
 */
export async function expandFolders(files: RevisionFiles, defs: readonly PlotDef[], revisions: readonly string[]): Promise<PlotDef[]> {
  const out: PlotDef[] = [];
  for (const def of defs) {
    const only = def.sources.length === 1 ? def.sources[0]! : undefined;
    if (!only || dataFormat(only.file) !== undefined || imageType(only.file) !== undefined) {
      out.push(def);
      continue;
    }
    const inside = new Set<string>();
    for (const rev of revisions) for (const f of await files.list(rev, only.file)) if (f !== only.file) inside.add(f);
    const plottable = [...inside].filter((f) => dataFormat(f) !== undefined || imageType(f) !== undefined).sort();
    if (plottable.length === 0) out.push(def);
    for (const f of plottable) if (!out.some((d) => d.id === f)) out.push({ ...def, id: f, sources: [{ ...only, file: f }] });
  }
  return out;
}

/** An image plot: its bytes at each revision, side by side. */
async function buildImage(files: RevisionFiles, def: PlotDef, file: string, revisions: readonly string[], problems: PlotProblem[]): Promise<ImagePlot> {
  const mime = imageType(file)!;
  const shown: ImagePlot['revisions'][number][] = [];
  for (const rev of revisions) {
    const read = await files.readBytes(rev, file);
    if (read.ok) shown.push({ rev, file, mime, size: read.bytes.length, src: dataUri(mime, read.bytes) });
    else problems.push({ plot: def.id, file, rev, reason: read.reason });
  }
  return { id: def.id, title: def.title ?? def.id, revisions: shown };
}

/** Reads every source of every plot at every revision and builds the charts; problems are collected, not thrown. */
export async function buildPage(files: RevisionFiles, defs: readonly PlotDef[], revisions: readonly string[]): Promise<Page> {
  const problems: PlotProblem[] = [];
  const plots: BuiltPlot[] = [];
  const images: ImagePlot[] = [];
  for (const def of defs) {
    const image = def.sources.length === 1 && imageType(def.sources[0]!.file) !== undefined ? def.sources[0]!.file : undefined;
    if (image !== undefined) {
      images.push(await buildImage(files, def, image, revisions, problems));
      continue;
    }
    const data: RevisionData[] = [];
    for (const rev of revisions) {
      for (const source of def.sources) {
        const read = await files.read(rev, source.file);
        if (!read.ok) {
          problems.push({ plot: def.id, file: source.file, rev, reason: read.reason });
          continue;
        }
        const parsed = parsePlotData(read.text, source.file);
        if (parsed.ok) data.push({ rev, source, records: parsed.value });
        else problems.push({ plot: def.id, file: source.file, rev, reason: parsed.error });
      }
    }
    const built = buildPlot(def, data);
    problems.push(...built.problems.map((reason) => ({ plot: def.id, reason })));
    plots.push(built.plot);
  }
  return { revisions, plots, images, problems };
}
