/**
 * `mlbuild metrics show`, `mlbuild metrics diff [A [B]]` and `mlbuild params diff [A [B]]`.
 * Revisions are read through git objects (see metrics/git-reader.ts) without checking anything
 * out; metrics that are cached outs are found through that revision's lockfile and the cache.
 * A file that cannot be read on one side is named on stderr with the reason.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withContext, printDiagnostics, type GlobalOptions } from '../context.js';
import type { Terminal } from '../../report/terminal.js';
import type { Project } from '../../project.js';
import { openWorkspace } from '../../run/workspace.js';
import { loadParams } from '../../config/params.js';
import type { OutSpec } from '../../model/stage.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import { diffFlat, flatten, parseMetricsText, type Flat } from '../../metrics/diff.js';
import { renderMetricsDiff, renderParamsDiff, renderShow, type DiffSection, type Format } from '../../metrics/render.js';
import type { GitReader, ReadResult } from '../../metrics/git-reader.js';
import { WORKSPACE, openRevisions as openRevisionsAt, readOutAt } from '../../metrics/revisions.js';

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

/** The metric outs of the workspace pipeline, in stage order, each path once. */
export async function metricOuts(project: Project, term: Terminal): Promise<OutSpec[] | undefined> {
  const ws = await openWorkspace(project, [], false);
  if (!ws.ok) {
    printDiagnostics(term, ws.error);
    return undefined;
  }
  const seen = new Set<string>();
  const outs: OutSpec[] = [];
  for (const stage of ws.value.pipeline.stages.values()) {
    for (const o of stage.outs) {
      if (o.kind === 'metric' && !seen.has(o.path)) {
        seen.add(o.path);
        outs.push(o);
      }
    }
  }
  return outs;
}

/** One metrics file's flattened values on one side, or undefined after reporting why it could not be read. */
export async function loadMetric(project: Project, term: Terminal, git: GitReader | undefined, rev: string, out: OutSpec): Promise<Flat | undefined> {
  return metricFromRead(term, rev, out, await readOutAt(project, git, rev, out));
}

/** A metrics file's flattened values from what was read of it at `rev` (loadMetric's second half, for batch readers). */
export function metricFromRead(term: Terminal, rev: string, out: OutSpec, r: ReadResult): Flat | undefined {
  if (!r.ok) {
    term.err(`${out.path}: ${r.reason}\n`);
    return undefined;
  }
  try {
    return flatten(parseMetricsText(r.text, out.path));
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    term.err(`${out.path}: cannot parse at ${rev}: ${msg}\n`);
    return undefined;
  }
}

/** Opens git and checks both revisions; undefined (after saying why) when the command must exit 2. */
async function openRevisions(project: Project, term: Terminal, revs: readonly string[]): Promise<{ git: GitReader | undefined } | undefined> {
  const opened = await openRevisionsAt(project, revs);
  if (opened.ok) return opened.value;
  term.err(`error: ${opened.error}\n`);
  return undefined;
}

function checkPrecision(term: Terminal, precision: number): boolean {
  if (Number.isInteger(precision) && precision >= 0 && precision <= 20) return true;
  term.err(`error: --precision must be a whole number from 0 to 20, got ${precision}\n`);
  return false;
}

export function metricsShowCommand(g: GlobalOptions, a: ShowArgs): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const outs = await metricOuts(project, term);
    if (!outs) return EXIT_USAGE;
    const files: { path: string; values: Flat }[] = [];
    for (const o of outs) {
      const values = await loadMetric(project, term, undefined, WORKSPACE, o);
      if (values) files.push({ path: o.path, values });
    }
    term.out(renderShow(files, a.format));
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
    const outs = await metricOuts(project, term);
    if (!outs) return EXIT_USAGE;
    const sections: DiffSection[] = [];
    for (const o of outs) {
      const oldV = await loadMetric(project, term, opened.git, revA, o);
      const newV = await loadMetric(project, term, opened.git, revB, o);
      sections.push({ path: o.path, rows: diffFlat(oldV, newV, a.all) });
    }
    term.out(renderMetricsDiff(sections, [revA, revB], a.format, a.precision));
    return EXIT_OK;
  });
}

/** The params files of the project (params.yaml and the params/ folder) at `rev`, copied into a temp dir. */
async function paramsAtRev(git: GitReader, rev: string, tmp: string): Promise<ReadResult | undefined> {
  const files = await git.list(rev, ['params.yaml', 'params']);
  for (const rel of files) {
    const r = await git.read(rev, rel);
    if (!r.ok) return r;
    const dest = path.join(tmp, ...rel.split('/'));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, r.text);
  }
  return undefined;
}

/** The resolved params at `rev` (with `-S` overrides applied, for queued experiments), flattened. */
export async function loadParamsFlat(project: Project, term: Terminal, git: GitReader | undefined, rev: string, overrides: readonly string[] = []): Promise<Flat | undefined> {
  if (rev === WORKSPACE || git === undefined) {
    const p = await loadParams(project.root, overrides, { writeBack: false, displayCwd: project.displayCwd });
    if (!p.ok) {
      printDiagnostics(term, p.error);
      return undefined;
    }
    return flatten(p.value.tree);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlbuild-params-'));
  try {
    const failed = await paramsAtRev(git, rev, tmp);
    if (failed && !failed.ok) {
      term.err(`params at ${rev}: ${failed.reason}\n`);
      return undefined;
    }
    const p = await loadParams(tmp, overrides, { writeBack: false, displayCwd: tmp });
    if (!p.ok) {
      term.err(`params at ${rev} cannot be resolved:\n`);
      printDiagnostics(term, p.error);
      return undefined;
    }
    return flatten(p.value.tree);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export function paramsDiffCommand(g: GlobalOptions, a: Omit<DiffArgs, 'precision'>): Promise<number> {
  return withContext(g, async ({ project, term }) => {
    const revA = a.a ?? 'HEAD';
    const revB = a.b ?? WORKSPACE;
    const opened = await openRevisions(project, term, [revA, revB]);
    if (!opened) return EXIT_USAGE;
    const oldV = await loadParamsFlat(project, term, opened.git, revA);
    const newV = await loadParamsFlat(project, term, opened.git, revB);
    term.out(renderParamsDiff(diffFlat(oldV, newV, a.all), [revA, revB], a.format));
    return EXIT_OK;
  });
}
