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
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import type { Project } from '../../project.js';
import type { Diagnostic } from '../../report/diagnostic.js';
import { type Result, ok, err } from '../../util/result.js';
import { EXIT_FAILED, EXIT_OK } from '../../exit-codes.js';
import { RevisionFiles, WORKSPACE, openRevisions } from '../../metrics/revisions.js';
import { toJson } from '../../metrics/lenient-json.js';
import { loadVendorScripts, problemText, renderPage } from '../../plots/html.js';
import { atomicWriteFile } from '../../util/atomic-write.js';
import { buildPage, diffRevisions, expandFolders, selectPlots } from '../../plots/page.js';

export const DEFAULT_OUT_DIR = 'mlbuild_plots';
export const JSON_VERSION = 1;

export interface PlotsArgs {
  readonly targets: readonly string[];
  /** Output folder for index.html, relative to the cwd (default: mlbuild_plots in the project root). */
  readonly out: string | undefined;
  readonly json: boolean;
}

/** The page's folder, refused when it overlaps a declared out (mlbuild writes outs only by running their stage). */
function outDir(project: Project, cwd: string, out: string | undefined, outs: readonly string[]): Result<string, Diagnostic[]> {
  const dir = out === undefined ? path.join(project.root, DEFAULT_OUT_DIR) : path.resolve(cwd, out);
  const rel = path.relative(project.root, dir).split(path.sep).join('/');
  const page = rel === '' ? 'index.html' : `${rel}/index.html`;
  // The page may not be an out or lie inside one, nor sit in a folder that holds outs.
  const clash = outs.find((o) => page === o || page.startsWith(o + '/') || (rel !== '' && o.startsWith(rel + '/')));
  if (clash !== undefined) {
    return err([{ severity: 'error', code: 'plots-dir-overlaps-out', message: `the plots folder '${out ?? DEFAULT_OUT_DIR}' overlaps the declared out '${clash}'`, hint: 'choose another folder with -o' }]);
  }
  return ok(dir);
}

async function plots(g: GlobalOptions, a: PlotsArgs, revisions: readonly string[]): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const opened = await openRevisions(project, revisions);
    if (!opened.ok) return opened;
    const selected = await selectPlots(project, g.cwd, a.targets);
    if (!selected.ok) return selected;
    const { outs, cachedOuts } = selected.value;
    const files = new RevisionFiles(project, opened.value.git, cachedOuts);
    const defs = await expandFolders(files, selected.value.defs, revisions);
    const chosenDir = a.json ? undefined : outDir(project, g.cwd, a.out, outs);
    if (chosenDir && !chosenDir.ok) return chosenDir;
    const dir = chosenDir?.value;
    if (defs.length === 0) {
      term.err(`no plots declared: add plots: [file.json: {x: ..., y: ...}] to a stage of ${path.basename(project.pipelineFile)}\n`);
    }
    const page = await buildPage(files, defs, revisions);
    for (const p of page.problems) term.err(`${problemText(p)}\n`);
    // Nothing readable anywhere is a failure (exit 1); some revisions missing is reported, not fatal (as metrics diff).
    const failed = defs.length > 0 && !page.plots.some((p) => p.datapoints.length > 0) && !page.images.some((im) => im.revisions.length > 0);
    if (a.json) {
      term.out(toJson({ version: JSON_VERSION, revisions: page.revisions, plots: page.plots, images: page.images, problems: page.problems }) + '\n');
      return ok(failed ? EXIT_FAILED : EXIT_OK);
    }
    if (defs.length === 0) return ok(EXIT_OK);
    if (failed || !dir) {
      return err([{ severity: 'error', code: 'no-plot-data', message: 'no plot data could be read at any revision; nothing written', hint: 'the reasons are above: build the plots (`mlbuild repro`), fetch them (`mlbuild pull`) or name other revisions' }]);
    }
    const file = path.join(dir, 'index.html');
    await atomicWriteFile(file, renderPage(page, loadVendorScripts()));
    term.out(`file://${file}\n`);
    return ok(EXIT_OK);
  });
}

export function plotsShowCommand(g: GlobalOptions, a: PlotsArgs): Promise<number> {
  return plots(g, a, [WORKSPACE]);
}

export function plotsDiffCommand(g: GlobalOptions, a: PlotsArgs & { readonly revs: readonly string[] }): Promise<number> {
  return plots(g, a, diffRevisions(a.revs));
}
