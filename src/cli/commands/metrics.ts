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
import { LOCKFILE_NAME } from '../../project.js';
import { openWorkspace } from '../../run/workspace.js';
import { loadParams } from '../../config/params.js';
import { Lockfile } from '../../state/lockfile.js';
import { objectPathIn } from '../../cache/local-store.js';
import type { OutSpec } from '../../model/stage.js';
import { EXIT_OK, EXIT_USAGE } from '../../exit-codes.js';
import { diffFlat, flatten, parseMetricsText, type Flat } from '../../metrics/diff.js';
import { renderMetricsDiff, renderParamsDiff, renderShow, type DiffSection, type Format } from '../../metrics/render.js';
import { GitReader, type ReadResult } from '../../metrics/git-reader.js';

export const WORKSPACE = 'workspace';

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

function readWorkspaceFile(project: Project, rel: string): ReadResult {
  try {
    return { ok: true, text: fs.readFileSync(path.join(project.root, ...rel.split('/')), 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `not in ${WORKSPACE}` : `cannot read: ${code ?? String(e)}` };
  }
}

/** Reads the cached out `rel` as recorded in `rev`'s lockfile, from the local cache. */
async function readCachedAtRev(project: Project, git: GitReader, rev: string, rel: string): Promise<ReadResult> {
  const lockText = await git.read(rev, LOCKFILE_NAME);
  if (!lockText.ok) return { ok: false, reason: `cached out, and ${LOCKFILE_NAME} is ${lockText.reason}` };
  const lock = Lockfile.parse(lockText.text, project.lockPath, project.displayCwd);
  if (!lock.ok) return { ok: false, reason: `cannot parse ${LOCKFILE_NAME} at ${rev}: ${lock.error[0]?.message ?? 'invalid'}` };
  let hash: string | undefined;
  for (const name of lock.value.names()) {
    const rec = lock.value.get(name)?.outs.find((o) => o.path === rel);
    if (rec) hash = rec.hash;
  }
  if (hash === undefined) return { ok: false, reason: `not recorded in ${LOCKFILE_NAME} at ${rev}` };
  try {
    return { ok: true, text: fs.readFileSync(objectPathIn(project.mlcacheDir, hash), 'utf8') };
  } catch {
    return { ok: false, reason: `cache object ${hash} (from ${LOCKFILE_NAME} at ${rev}) is not in the cache` };
  }
}

/** One metrics file's flattened values on one side, or undefined after reporting why it could not be read. */
export async function loadMetric(project: Project, term: Terminal, git: GitReader | undefined, rev: string, out: OutSpec): Promise<Flat | undefined> {
  let r: ReadResult;
  if (rev === WORKSPACE || git === undefined) r = readWorkspaceFile(project, out.path);
  else if (out.cache) r = await readCachedAtRev(project, git, rev, out.path);
  else r = await git.read(rev, out.path);
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
  if (revs.every((r) => r === WORKSPACE)) return { git: undefined };
  const git = await GitReader.open(project.root);
  if (!(git instanceof GitReader)) {
    term.err(`error: ${git.failed}; revisions are read from git\n`);
    return undefined;
  }
  for (const rev of revs) {
    if (rev !== WORKSPACE && !(await git.verify(rev))) {
      term.err(`error: unknown revision '${rev}': not a commit, branch or tag in this repository\n`);
      return undefined;
    }
  }
  return { git };
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
