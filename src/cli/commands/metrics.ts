/**
 * `mlbuild metrics show`, `mlbuild metrics diff [A [B]]` and `mlbuild params diff [A [B]]`.
 * Revisions are read through git objects (see metrics/git-reader.ts) without checking anything
 * out; metrics that are cached outs are found through that revision's lockfile and the cache.
 * A file that cannot be read on one side is named on stderr with the reason.
 */
import { printDiagnostics, withContext, type GlobalOptions } from '../context.js';
import type { Terminal } from '../../report/terminal.js';
import type { Project } from '../../project.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import { diffFlat } from '../../metrics/diff.js';
import { renderMetricsDiff, renderParamsDiff, renderShow, type Format } from '../../metrics/render.js';
import type { GitReader } from '../../metrics/git-reader.js';
import { RevisionFiles, WORKSPACE, openRevisions as openRevisionsAt } from '../../metrics/revisions.js';
import { diffSections, loadMetricsAt, loadParamsFlat, metricSources } from '../../metrics/sources.js';

export interface ShowArgs {
  readonly format: Format;
}

export interface DiffArgs {
  readonly a: string | undefined;
  readonly b: string | undefined;
  readonly all: boolean;
  readonly precision: number;
  readonly format: Format;
}

/** Opens git and checks both revisions; undefined (after saying why) when the command must exit 2. */
async function openRevisions(project: Project, term: Terminal, revs: readonly string[]): Promise<{ git: GitReader | undefined } | undefined> {
  const opened = await openRevisionsAt(project, revs);
  if (opened.ok) return opened.value;
  printDiagnostics(term, opened.error);
  return undefined;
}

function checkPrecision(term: Terminal, precision: number): boolean {
  if (Number.isInteger(precision) && precision >= 0 && precision <= 20) return true;
  term.err(`error: --precision must be a whole number from 0 to 20, got ${precision}\n`);
  return false;
}

export function metricsShowCommand(g: GlobalOptions, a: ShowArgs): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const src = await metricSources(project, term);
    if (!src) return EXIT_USAGE;
    const values = await loadMetricsAt(term, new RevisionFiles(project, undefined, src.cachedOuts), WORKSPACE, src);
    term.out(renderShow([...values].map(([path, v]) => ({ path, values: v })), a.format));
    return EXIT_OK;
  });
}

export function metricsDiffCommand(g: GlobalOptions, a: DiffArgs): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    if (!checkPrecision(term, a.precision)) return EXIT_USAGE;
    const revA = a.a ?? 'HEAD';
    const revB = a.b ?? WORKSPACE;
    const opened = await openRevisions(project, term, [revA, revB]);
    if (!opened) return EXIT_USAGE;
    const src = await metricSources(project, term);
    if (!src) return EXIT_USAGE;
    const files = new RevisionFiles(project, opened.git, src.cachedOuts);
    const sections = diffSections(await loadMetricsAt(term, files, revA, src), await loadMetricsAt(term, files, revB, src), a.all);
    term.out(renderMetricsDiff(sections, [revA, revB], a.format, a.precision));
    return EXIT_OK;
  });
}

export function paramsDiffCommand(g: GlobalOptions, a: Omit<DiffArgs, 'precision'>): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const revA = a.a ?? 'HEAD';
    const revB = a.b ?? WORKSPACE;
    const opened = await openRevisions(project, term, [revA, revB]);
    if (!opened) return EXIT_USAGE;
    // The project params do not need a valid pipeline; the custom files it names do.
    const src = await metricSources(project, term);
    if (!src) term.err('note: params files named only in the pipeline are left out: it has the errors above\n');
    const oldV = await loadParamsFlat(project, term, opened.git, revA, [], src?.paramFiles);
    const newV = await loadParamsFlat(project, term, opened.git, revB, [], src?.paramFiles);
    term.out(renderParamsDiff(diffFlat(oldV, newV, a.all), [revA, revB], a.format));
    return EXIT_OK;
  });
}
