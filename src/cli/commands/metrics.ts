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
import { fileParamKey, parseParamsText } from '../../config/param-files.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import { diffFlat, flatten, isMetricsFile, parseMetricsText, type Flat } from '../../metrics/diff.js';
import { renderMetricsDiff, renderParamsDiff, renderShow, type DiffSection, type Format } from '../../metrics/render.js';
import type { GitReader, ReadResult } from '../../metrics/git-reader.js';
import { RevisionFiles, WORKSPACE, openRevisions as openRevisionsAt } from '../../metrics/revisions.js';

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

/**
 * What `metrics` reads: every metrics file or folder the workspace pipeline declares (stage
 * `metrics:` outs, those inside a stage's directory out, the top-level `metrics:`), in that order,
 * each once, and the cached outs through which revisions are read.
 */
export interface MetricsSource {
  readonly entries: readonly string[];
  readonly cachedOuts: readonly string[];
  /** Custom params files (stage `{file: [keys]}` and top-level `params:`), for params diff and exp show. */
  readonly paramFiles: readonly string[];
}

export async function metricSources(project: Project, term: Terminal): Promise<MetricsSource | undefined> {
  const ws = await openWorkspace(project, [], false);
  if (!ws.ok) {
    printDiagnostics(term, ws.error);
    return undefined;
  }
  const entries: string[] = [];
  const add = (p: string): void => {
    if (!entries.includes(p)) entries.push(p);
  };
  const cachedOuts: string[] = [];
  for (const stage of ws.value.pipeline.stages.values()) {
    for (const o of [...stage.outs, ...(stage.views ?? [])]) if (o.kind === 'metric') add(o.path);
    for (const o of stage.outs) if (o.cache) cachedOuts.push(o.path);
  }
  for (const m of ws.value.loaded.topLevel.metrics) add(m.path);
  const paramFiles = [...new Set([...Object.keys(ws.value.loaded.fileParams), ...ws.value.loaded.topLevel.params.map((p) => p.path)])];
  return { entries, cachedOuts, paramFiles };
}

/**
 * The flattened values of every metrics file at `rev`, by path; a declared folder gives each
 * metrics file (.json, .yaml, .yml, .toml) below it. A file that cannot be read is named on stderr;
 * `skip` leaves files out (an experiment's metrics its run did not produce).
 */
export async function loadMetricsAt(term: Terminal, files: RevisionFiles, rev: string, src: MetricsSource, skip: (file: string) => boolean = () => false): Promise<Map<string, Flat>> {
  const out = new Map<string, Flat>();
  for (const entry of src.entries) {
    const listed = await files.list(rev, entry);
    const isFile = listed.length === 0 || (listed.length === 1 && listed[0] === entry);
    for (const file of isFile ? [entry] : listed.filter(isMetricsFile)) {
      if (out.has(file) || skip(file)) continue;
      const r = await files.read(rev, file);
      if (!r.ok) {
        term.err(`${file}: ${r.reason}\n`);
        continue;
      }
      try {
        out.set(file, flatten(parseMetricsText(r.text, file)));
      } catch (e) {
        const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
        term.err(`${file}: cannot parse at ${rev}: ${msg}\n`);
      }
    }
  }
  return out;
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
    const src = await metricSources(project, term);
    if (!src) return EXIT_USAGE;
    const values = await loadMetricsAt(term, new RevisionFiles(project, undefined, src.cachedOuts), WORKSPACE, src);
    term.out(renderShow([...values].map(([path, v]) => ({ path, values: v })), a.format));
    return EXIT_OK;
  });
}

/** One section per metrics file present at either revision: A's files in order, then B's new ones. */
export function diffSections(oldM: ReadonlyMap<string, Flat>, newM: ReadonlyMap<string, Flat>, all: boolean): DiffSection[] {
  const paths = [...new Set([...oldM.keys(), ...newM.keys()])];
  return paths.map((p) => ({ path: p, rows: diffFlat(oldM.get(p), newM.get(p), all) }));
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

/** Adds each custom params file's values at `rev` as `file:key` (a file absent there adds nothing). */
async function addFileParams(flat: Flat, term: Terminal, files: RevisionFiles, rev: string, paramFiles: readonly string[]): Promise<void> {
  for (const file of paramFiles) {
    const r = await files.read(rev, file);
    if (!r.ok) continue;
    const tree = parseParamsText(r.text, file);
    if (!tree.ok) {
      term.err(`${file}: cannot parse at ${rev}: ${tree.error}\n`);
      continue;
    }
    for (const [k, v] of flatten(tree.value)) flat.set(fileParamKey(file, k), v);
  }
}

/**
 * The resolved params at `rev` (with `-S` overrides applied, for queued experiments), flattened,
 * followed by the custom params files' values as `file:key`.
 */
export async function loadParamsFlat(
  project: Project,
  term: Terminal,
  git: GitReader | undefined,
  rev: string,
  overrides: readonly string[] = [],
  paramFiles: readonly string[] = [],
): Promise<Flat | undefined> {
  let flat: Flat;
  if (rev === WORKSPACE || git === undefined) {
    const p = await loadParams(project.root, overrides, { writeBack: false, displayCwd: project.displayCwd });
    if (!p.ok) {
      printDiagnostics(term, p.error);
      return undefined;
    }
    flat = flatten(p.value.tree);
  } else {
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
      flat = flatten(p.value.tree);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
  await addFileParams(flat, term, new RevisionFiles(project, git, []), rev, paramFiles);
  return flat;
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
