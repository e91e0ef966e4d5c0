/**
 * `mlbuild metrics show`, `mlbuild metrics diff [A [B]]` and `mlbuild params diff [A [B]]`.
 * Revisions are read through git objects (see metrics/git-reader.ts) without checking anything
 * out; metrics that are cached outs are found through that revision's lockfile and the cache.
 * A file that cannot be read on one side is named on stderr with the reason.
 */
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { printDiagnostics, type Diagnostic } from '../../report/diagnostic.js';
import { ok, err } from '../../util/result.js';
import { EXIT_OK } from '../../exit-codes.js';
import { diffFlat } from '../../metrics/diff.js';
import { renderMetricsDiff, renderParamsDiff, renderShow, type Format } from '../../metrics/render.js';
import { RevisionFiles, WORKSPACE, openRevisions } from '../../metrics/revisions.js';
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

function checkPrecision(precision: number): Diagnostic[] {
  if (Number.isInteger(precision) && precision >= 0 && precision <= 20) return [];
  return [{ severity: 'error', code: 'usage', message: `--precision must be a whole number from 0 to 20, got ${precision}`, hint: 'e.g. --precision 4' }];
}

export function metricsShowCommand(g: GlobalOptions, a: ShowArgs): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const src = await metricSources(project);
    if (!src.ok) return src;
    const values = await loadMetricsAt(term, new RevisionFiles(project, undefined, src.value.cachedOuts), WORKSPACE, src.value);
    term.out(renderShow([...values].map(([path, v]) => ({ path, values: v })), a.format));
    return ok(EXIT_OK);
  });
}

export function metricsDiffCommand(g: GlobalOptions, a: DiffArgs): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const bad = checkPrecision(a.precision);
    if (bad.length > 0) return err(bad);
    const revA = a.a ?? 'HEAD';
    const revB = a.b ?? WORKSPACE;
    const opened = await openRevisions(project, [revA, revB]);
    if (!opened.ok) return opened;
    const src = await metricSources(project);
    if (!src.ok) return src;
    const files = new RevisionFiles(project, opened.value.git, src.value.cachedOuts);
    const sections = diffSections(await loadMetricsAt(term, files, revA, src.value), await loadMetricsAt(term, files, revB, src.value), a.all);
    term.out(renderMetricsDiff(sections, [revA, revB], a.format, a.precision));
    return ok(EXIT_OK);
  });
}

export function paramsDiffCommand(g: GlobalOptions, a: Omit<DiffArgs, 'precision'>): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const revA = a.a ?? 'HEAD';
    const revB = a.b ?? WORKSPACE;
    const opened = await openRevisions(project, [revA, revB]);
    if (!opened.ok) return opened;
    // The project params do not need a valid pipeline; the custom files it names do. Its errors
    // are reported but do not stop the diff.
    const src = await metricSources(project);
    if (!src.ok) {
      printDiagnostics(term, src.error);
      term.err('note: params files named only in the pipeline are left out: it has the errors above\n');
    }
    const paramFiles = src.ok ? src.value.paramFiles : undefined;
    const oldV = await loadParamsFlat(project, term, opened.value.git, revA, [], paramFiles);
    const newV = await loadParamsFlat(project, term, opened.value.git, revB, [], paramFiles);
    term.out(renderParamsDiff(diffFlat(oldV, newV, a.all), [revA, revB], a.format));
    return ok(EXIT_OK);
  });
}
