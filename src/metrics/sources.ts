/**
 * Loading metrics and params for show/diff/exp and the ui: which metrics files the pipeline declares,
 * their values at a revision (through git objects and the cache) and the flattened params at a revision.
 * A file that cannot be read is named on stderr with the reason; one that does not parse, with a
 * located warning (file:line:col and the fix): both leave that file out and let the others show, as
 * DVC does. Not the rendering (render.ts).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { locate, printDiagnostics, type Diagnostic } from '../report/diagnostic.js';
import { type Result, err, ok } from '../util/result.js';
import type { Terminal } from '../report/terminal.js';
import type { Project } from '../project.js';
import { openWorkspace } from '../run/workspace.js';
import { loadParams } from '../config/params.js';
import { fileParamKey, parseParamsText } from '../config/param-files.js';
import { diffFlat, flatten, isMetricsFile, parseMetricsText, type Flat } from './diff.js';
import type { DiffSection } from './render.js';
import type { GitReader, ReadResult } from './git-reader.js';
import { RevisionFiles, WORKSPACE } from './revisions.js';

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

export async function metricSources(project: Project): Promise<Result<MetricsSource, Diagnostic[]>> {
  const ws = await openWorkspace(project, [], false);
  if (!ws.ok) return ws;
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
  return ok({ entries, cachedOuts, paramFiles });
}

/**
 * The flattened values of every metrics file at `rev`, by path; a declared folder gives each
 * metrics file (.json, .yaml, .yml, .toml) below it. A file that cannot be read is named on stderr;
 * `skip` leaves files out (an experiment's metrics its run did not produce).
 */
export async function loadMetricsAt(term: Terminal, files: RevisionFiles, rev: string, src: MetricsSource, skip: (file: string) => boolean = () => false): Promise<Map<string, Flat>> {
  const out = new Map<string, Flat>();
  for (const entry of src.entries) {
    for (const [file, flat] of await loadEntryAt(term, files, rev, entry, (f) => out.has(f) || skip(f))) out.set(file, flat);
  }
  return out;
}

/**
 * One declared metrics entry (a file, or a folder of metrics files) at `rev`: loadMetricsAt's
 * unit, which the ui remembers per commit.
 */
export async function loadEntryAt(term: Terminal, files: RevisionFiles, rev: string, entry: string, skip: (file: string) => boolean = () => false): Promise<Map<string, Flat>> {
  const out = new Map<string, Flat>();
  const listed = await files.list(rev, entry);
  const isFile = listed.length === 0 || (listed.length === 1 && listed[0] === entry);
  for (const file of isFile ? [entry] : listed.filter(isMetricsFile)) {
    if (out.has(file) || skip(file)) continue;
    const flat = metricFromRead(term, rev, file, await files.read(rev, file));
    if (flat) out.set(file, flat);
  }
  return out;
}

/** A metrics file's flattened values from what was read of it at `rev`, or undefined after saying on stderr why there are none. */
export function metricFromRead(term: Terminal, rev: string, file: string, r: ReadResult): Flat | undefined {
  if (!r.ok) {
    term.err(`${file}: ${r.reason}\n`);
    return undefined;
  }
  const parsed = parseMetricsFile(r.text, file, rev);
  if (parsed.ok) return flatten(parsed.value);
  printDiagnostics(term, parsed.error);
  return undefined;
}

/** Where a JSON5, YAML or TOML parse error points in `text`, as an offset (each parser says it its own way). */
function errorOffset(text: string, e: unknown): number | undefined {
  const x = e as { pos?: [number, number]; lineNumber?: number; columnNumber?: number; line?: number; column?: number };
  if (Array.isArray(x.pos)) return x.pos[0];
  const line = x.lineNumber ?? x.line;
  const col = x.columnNumber ?? x.column;
  if (typeof line !== 'number' || typeof col !== 'number') return undefined;
  let offset = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', offset);
    if (nl === -1) return undefined;
    offset = nl + 1;
  }
  return offset + Math.max(0, col - 1);
}

/**
 * The parsed tree of a metrics file's `text` at `rev`, or a located warning (the file is left out,
 * the command goes on): where the parser stopped and how to fix it.
 */
export function parseMetricsFile(text: string, file: string, rev: string): Result<unknown, Diagnostic[]> {
  try {
    return ok(parseMetricsText(text, file));
  } catch (e) {
    const full = e instanceof Error ? e.message : String(e);
    // The location says where: drop V8's quoted excerpt and YAML's own "at line L, column C:".
    const msg = (/^(.*?), (?:\.\.\.)?".*" is not valid JSON$/s.exec(full)?.[1] ?? full.split('\n')[0]!).replace(/ at line \d+, column \d+:?$/, '');
    const offset = errorOffset(text, e);
    return err([
      {
        severity: 'warning',
        code: 'bad-metrics-file',
        message: `cannot parse ${file} at ${rev}: ${msg}`,
        ...(offset !== undefined ? { location: locate(file, text, offset) } : {}),
        hint: `${rev === WORKSPACE ? `fix ${file}` : `the file as committed at ${rev} is not valid: fix it in a later commit`} (a metrics file is JSON, YAML or TOML: a map of numbers, nested maps or lists); it is left out until then`,
      },
    ]);
  }
}

/** One section per metrics file present at either revision: A's files in order, then B's new ones. */
export function diffSections(oldM: ReadonlyMap<string, Flat>, newM: ReadonlyMap<string, Flat>, all: boolean): DiffSection[] {
  const paths = [...new Set([...oldM.keys(), ...newM.keys()])];
  return paths.map((p) => ({ path: p, rows: diffFlat(oldM.get(p), newM.get(p), all) }));
}

/** The params files of the project (params.yaml and the params/ folder) at `rev`, copied into a temp dir. */
async function paramsAtRev(git: GitReader, rev: string, tmp: string): Promise<ReadResult | undefined> {
  const files = await git.list(rev, ['params.yaml', 'params']);
  if (!files.ok) return { ok: false, reason: files.error[0]!.message };
  for (const rel of files.value) {
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
