/**
 * `mlbuild plots show [TARGET...]` and `mlbuild plots diff [REV...]`: the declared plots at one or
 * more revisions, as one self-contained HTML page (default `mlbuild_plots/index.html`, or `-o DIR`)
 * or, with `--json`, the datapoints and Vega-Lite specs. Revisions follow DVC: `diff` with no
 * revision compares HEAD with the workspace, one revision compares it with the workspace, two or
 * more compare exactly those. Files are read through metrics/revisions.ts (git objects, the
 * lockfile and the cache; no checkout). A file missing or unreadable at a revision is named with
 * the reason on stderr, in the page and in the JSON, never dropped silently.
 *
 * Like `metrics diff`, the plots are those the workspace's pipeline declares, read at each revision.
 */
import path from 'node:path';
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import type { Project } from '../../project.js';
import type { Terminal } from '../../report/terminal.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { openWorkspace } from '../../run/workspace.js';
import { readYamlFile } from '../../config/pipeline-file.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import type { GitReader } from '../../metrics/git-reader.js';
import { WORKSPACE, openRevisions, readOutAt } from '../../metrics/revisions.js';
import { declaredPlots, type PlotDef } from '../../plots/definition.js';
import { dataFormat, parsePlotData } from '../../plots/data.js';
import { buildPlot, type BuiltPlot, type RevisionData } from '../../plots/spec.js';
import { loadVendorScripts, problemText, renderPage, type Page, type PlotProblem } from '../../plots/html.js';
import { atomicWriteFile } from '../../util/atomic-write.js';

export const DEFAULT_OUT_DIR = 'mlbuild_plots';
export const JSON_VERSION = 1;

export interface PlotsArgs {
  readonly targets: readonly string[];
  /** Output folder for index.html, relative to the cwd (default: mlbuild_plots in the project root). */
  readonly out: string | undefined;
  readonly json: boolean;
}

/** DVC's rule: none -> HEAD and the workspace; one -> it and the workspace; more -> exactly those. */
export function diffRevisions(revs: readonly string[]): string[] {
  const list = revs.length === 0 ? ['HEAD', WORKSPACE] : revs.length === 1 ? [revs[0]!, WORKSPACE] : [...revs];
  return [...new Set(list)];
}

/**
 * The declared plots, narrowed to `targets` (a plot id, or any of its files), and every out path of
 * the pipeline; undefined after reporting an error.
 */
export async function selectPlots(project: Project, term: Terminal, cwd: string, targets: readonly string[]): Promise<{ defs: PlotDef[]; outs: string[] } | undefined> {
  const ws = await openWorkspace(project, [], false);
  if (!ws.ok) {
    printDiagnostics(term, ws.error);
    return undefined;
  }
  const file = await readYamlFile(project.pipelineFile, project.displayCwd, { interpolated: true, what: 'pipeline file' });
  const diags: Diagnostic[] = file.ok ? [] : file.error;
  const defs = declaredPlots(ws.value.pipeline.stages.values(), file.ok ? file.value : undefined, diags);
  if (diags.some((d) => d.severity === 'error')) {
    printDiagnostics(term, diags);
    return undefined;
  }
  const outs = [...ws.value.pipeline.stages.values()].flatMap((st) => st.outs.map((o) => o.path));
  if (targets.length === 0) return { defs, outs };
  const chosen: PlotDef[] = [];
  for (const t of targets) {
    const rel = path.relative(project.root, path.resolve(cwd, t)).split(path.sep).join('/');
    const hits = defs.filter((d) => d.id === t || d.id === rel || d.sources.some((s) => s.file === rel));
    if (hits.length > 0) chosen.push(...hits.filter((h) => !chosen.includes(h)));
    // A data file nothing declares is still plotted with the defaults, as `dvc plots show FILE` does.
    else if (dataFormat(rel) !== undefined && !rel.startsWith('../')) chosen.push({ id: rel, template: 'linear', sources: [{ file: rel, cache: false, y: [] }] });
    else {
      const known = defs.map((d) => d.id);
      term.err(`error: '${t}' is not a declared plot${known.length > 0 ? ` (declared: ${known.join(', ')})` : ''} nor a data file (.json, .yaml, .csv, .tsv)\n`);
      return undefined;
    }
  }
  return { defs: chosen, outs };
}

/** Reads every source of every plot at every revision and builds the charts; problems are collected, not thrown. */
export async function buildPage(project: Project, git: GitReader | undefined, defs: readonly PlotDef[], revisions: readonly string[]): Promise<Page> {
  const problems: PlotProblem[] = [];
  const plots: BuiltPlot[] = [];
  for (const def of defs) {
    const data: RevisionData[] = [];
    for (const rev of revisions) {
      for (const source of def.sources) {
        const read = await readOutAt(project, git, rev, { path: source.file, cache: source.cache });
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
  return { revisions, plots, problems };
}

/** The page's folder, refused when it overlaps a declared out (mlbuild writes outs only by running their stage). */
function outDir(project: Project, term: Terminal, cwd: string, out: string | undefined, outs: readonly string[]): string | undefined {
  const dir = out === undefined ? path.join(project.root, DEFAULT_OUT_DIR) : path.resolve(cwd, out);
  const rel = path.relative(project.root, dir).split(path.sep).join('/');
  const page = rel === '' ? 'index.html' : `${rel}/index.html`;
  // The page may not be an out or lie inside one, nor sit in a folder that holds outs.
  const clash = outs.find((o) => page === o || page.startsWith(o + '/') || (rel !== '' && o.startsWith(rel + '/')));
  if (clash !== undefined) {
    term.err(`error: the plots folder '${out ?? DEFAULT_OUT_DIR}' overlaps the declared out '${clash}'; choose another folder with -o\n`);
    return undefined;
  }
  return dir;
}

async function plots(g: GlobalOptions, a: PlotsArgs, revisions: readonly string[]): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const opened = await openRevisions(project, revisions);
    if (!opened.ok) {
      term.err(`error: ${opened.error}\n`);
      return EXIT_USAGE;
    }
    const selected = await selectPlots(project, term, g.cwd, a.targets);
    if (!selected) return EXIT_USAGE;
    const { defs, outs } = selected;
    const dir = a.json ? undefined : outDir(project, term, g.cwd, a.out, outs);
    if (!a.json && !dir) return EXIT_USAGE;
    if (defs.length === 0) {
      term.err(`no plots declared: add plots: [file.json: {x: ..., y: ...}] to a stage of ${path.basename(project.pipelineFile)}\n`);
    }
    const page = await buildPage(project, opened.value.git, defs, revisions);
    for (const p of page.problems) term.err(`${problemText(p)}\n`);
    // Nothing readable anywhere is a failure (exit 1); some revisions missing is reported, not fatal (as metrics diff).
    const failed = defs.length > 0 && !page.plots.some((p) => p.datapoints.length > 0);
    if (a.json) {
      term.out(JSON.stringify({ version: JSON_VERSION, revisions: page.revisions, plots: page.plots, problems: page.problems }, null, 2) + '\n');
      return failed ? EXIT_FAILED : EXIT_OK;
    }
    if (defs.length === 0) return EXIT_OK;
    if (failed || !dir) {
      term.err('no plot data could be read at any revision; nothing written\n');
      return EXIT_FAILED;
    }
    const file = path.join(dir, 'index.html');
    await atomicWriteFile(file, renderPage(page, loadVendorScripts()));
    term.out(`file://${file}\n`);
    return EXIT_OK;
  });
}

export function plotsShowCommand(g: GlobalOptions, a: PlotsArgs): Promise<number> {
  return plots(g, a, [WORKSPACE]);
}

export function plotsDiffCommand(g: GlobalOptions, a: PlotsArgs & { readonly revs: readonly string[] }): Promise<number> {
  return plots(g, a, diffRevisions(a.revs));
}
