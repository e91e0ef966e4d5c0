/**
 * Which plots a pipeline declares: the `plots:` outs of its stages (with `x`, `y`, `template`,
 * `title`, `x_label`, `y_label`) and DVC's top-level `plots:` section in its common forms:
 *
 *   plots:
 *     - plots/loss.csv                          # a file, defaults for everything
 *     - plots/roc.json: {x: fpr, y: tpr}        # a file with options
 *     - Precision-recall:                       # a named plot over several files
 *         x: recall
 *         y: {eval/train.json: precision, eval/test.json: precision}
 *
 * A top-level entry for a file a stage already declares replaces the stage's options (DVC merges
 * them the same way: the top-level definition is the more specific one). An entry may name a
 * folder (DVCLive's `dvclive/plots/metrics: {x: step}`) or an image (`.png`, `.jpg`, `.svg`): the
 * plots command expands folders into one plot per file and shows images as they are. Unknown templates and
 * malformed entries are located diagnostics. It reads no data and builds no chart (spec.ts does).
 */
import { isMap } from 'yaml';
import type { OutSpec, PlotSpec, Stage } from '../model/stage.js';
import type { Diagnostic, SourceLocation } from '../report/diagnostic.js';
import { rootContext, resolveNode, type LValue } from '../config/interpolate.js';
import { keyRange, keyText, locAt, rangeOf, type YamlFile } from '../config/pipeline-file.js';
import { Checker } from '../config/schema.js';
import { suggest } from '../util/suggest.js';

/** DVC's built-in templates (`bar` is accepted for `bar_horizontal`). */
export const TEMPLATES = ['linear', 'simple', 'scatter', 'smooth', 'bar_horizontal', 'bar', 'confusion', 'confusion_normalized'] as const;
export type TemplateName = (typeof TEMPLATES)[number];

const TOP_PLOT_KEYS = ['x', 'y', 'template', 'title', 'x_label', 'y_label'] as const;

/** One data file of a plot and the fields read from it. */
export interface PlotSource {
  /** Project-relative POSIX path. */
  readonly file: string;
  /** Whether the file is a cached out (read through the lockfile and the cache at a revision). */
  readonly cache: boolean;
  /** undefined: the record's index (`step`). */
  readonly x?: string;
  /** Empty: the last field of the first record that is not x. */
  readonly y: readonly string[];
}

export interface PlotDef {
  /** The file path, or the name of a top-level plot; what targets select. */
  readonly id: string;
  readonly template: TemplateName;
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly sources: readonly PlotSource[];
  readonly loc?: SourceLocation;
}

const asList = (y: string | readonly string[] | undefined): readonly string[] => (y === undefined ? [] : typeof y === 'string' ? [y] : y);

function checkTemplate(name: string | undefined, loc: SourceLocation | undefined, where: string, diags: Diagnostic[]): TemplateName | undefined {
  if (name === undefined) return 'linear';
  if ((TEMPLATES as readonly string[]).includes(name)) return name as TemplateName;
  const near = suggest(name, TEMPLATES);
  diags.push({
    severity: 'error',
    code: 'unknown-template',
    message: `unknown plot template '${name}' for ${where}`,
    ...(loc ? { location: loc } : {}),
    hint: near ? `did you mean '${near}'?` : `use one of ${TEMPLATES.join(', ')}`,
  });
  return undefined;
}

function fromOut(o: OutSpec, diags: Diagnostic[]): PlotDef | undefined {
  const p: PlotSpec = o.plot ?? {};
  const template = checkTemplate(p.template, o.loc, `plot '${o.path}'`, diags);
  if (!template) return undefined;
  return {
    id: o.path,
    template,
    ...(p.title !== undefined ? { title: p.title } : {}),
    ...(p.x_label !== undefined ? { xLabel: p.x_label } : {}),
    ...(p.y_label !== undefined ? { yLabel: p.y_label } : {}),
    sources: [{ file: o.path, cache: o.cache, ...(p.x !== undefined ? { x: p.x } : {}), y: asList(p.y) }],
    ...(o.loc ? { loc: o.loc } : {}),
  };
}

/** The entries of the top-level `plots:` (a list of paths and one-key maps; a plain map also works). */
function topEntries(check: Checker, v: LValue): { key: string; keyLoc: SourceLocation; opts?: LValue }[] {
  const loc = (r: readonly [number, number]) => locAt(check.file, r);
  if (v.kind === 'map') return v.entries.map((e) => ({ key: e.key, keyLoc: loc(e.keyRange), opts: e.value }));
  if (v.kind !== 'seq') return check.wrongType(v, "the top-level 'plots'", 'a list', 'write plots: then - path or - path: {x: ..., y: ...}') ?? [];
  const out: { key: string; keyLoc: SourceLocation; opts?: LValue }[] = [];
  for (const it of v.items) {
    if (it.kind === 'scalar' && typeof it.value === 'string') out.push({ key: it.value, keyLoc: loc(it.range) });
    else if (it.kind === 'map' && it.entries.length === 1) out.push({ key: it.entries[0]!.key, keyLoc: loc(it.entries[0]!.keyRange), opts: it.entries[0]!.value });
    else check.error(it.range, 'wrong-type', "each entry of the top-level 'plots' must be a path or a one-key map {path or name: {options}}", 'write - plots/roc.json: {x: fpr, y: tpr}');
  }
  return out;
}

/** A top-level entry's `y` (or `x`) as file -> fields, or undefined when it names fields only. */
function byFile(check: Checker, v: LValue, what: string): Map<string, string[]> | undefined {
  if (v.kind !== 'map') return undefined;
  const out = new Map<string, string[]>();
  for (const e of v.entries) {
    const fields = check.stringList(e.value, `${what} for '${e.key}'`, `write ${e.key}: field or ${e.key}: [field1, field2]`);
    if (fields) out.set(e.key, fields.map((f) => f.value));
  }
  return out;
}

function fromTopEntry(check: Checker, e: { key: string; keyLoc: SourceLocation; opts?: LValue }, cacheOf: (file: string) => boolean): PlotDef | undefined {
  const opts = e.opts && e.opts.kind === 'map' ? check.entryKeys(e.opts, TOP_PLOT_KEYS, `top-level plot '${e.key}'`) : new Map<string, LValue>();
  if (e.opts && e.opts.kind !== 'map' && !(e.opts.kind === 'scalar' && e.opts.value === null)) {
    check.wrongType(e.opts, `the options of top-level plot '${e.key}'`, 'a map', 'write {x: ..., y: ..., template: ...}');
    return undefined;
  }
  const str = (k: string): string | undefined => {
    const v = opts.get(k);
    return v ? check.string(v, `'${k}' of top-level plot '${e.key}'`, `write ${k}: <text>`) : undefined;
  };
  const template = checkTemplate(str('template'), e.keyLoc, `plot '${e.key}'`, check.diags);
  if (!template) return undefined;
  const yv = opts.get('y');
  const xv = opts.get('x');
  const yFiles = yv ? byFile(check, yv, `'y' of top-level plot '${e.key}'`) : undefined;
  const xFiles = xv ? byFile(check, xv, `'x' of top-level plot '${e.key}'`) : undefined;
  const xField = xv && xv.kind !== 'map' ? check.string(xv, `'x' of top-level plot '${e.key}'`, 'write x: field or x: {file: field}') : undefined;
  const yFields = yv && !yFiles ? (check.stringList(yv, `'y' of top-level plot '${e.key}'`, 'write y: field, y: [f1, f2] or y: {file: field}')?.map((f) => f.value) ?? []) : [];
  // With y as {file: fields}, the entry's key is a name and the files come from y; else the key is the file.
  const files = yFiles ? [...yFiles.keys()] : [e.key];
  const sources: PlotSource[] = files.map((file) => {
    const x = xFiles?.get(file)?.[0] ?? xField;
    return { file, cache: cacheOf(file), ...(x !== undefined ? { x } : {}), y: yFiles?.get(file) ?? yFields };
  });
  const title = str('title');
  const xLabel = str('x_label');
  const yLabel = str('y_label');
  return {
    id: e.key,
    template,
    ...(title !== undefined ? { title } : {}),
    ...(xLabel !== undefined ? { xLabel } : {}),
    ...(yLabel !== undefined ? { yLabel } : {}),
    sources,
    loc: e.keyLoc,
  };
}

/**
 * Every declared plot, stage plots in stage order then top-level ones, each id once. `pipelineFile`
 * is the parsed pipeline file, for its top-level section (undefined: stage plots only).
 */
export function declaredPlots(stages: Iterable<Stage>, pipelineFile: YamlFile | undefined, diags: Diagnostic[]): PlotDef[] {
  const defs = new Map<string, PlotDef>();
  const outs = new Map<string, OutSpec>();
  for (const stage of stages) {
    for (const o of [...stage.outs, ...(stage.views ?? [])]) {
      outs.set(o.path, o);
      if (o.kind !== 'plot' || defs.has(o.path)) continue;
      const def = fromOut(o, diags);
      if (def) defs.set(def.id, def);
    }
  }
  const contents = pipelineFile?.doc.contents;
  if (!pipelineFile || !isMap(contents)) return [...defs.values()];
  const pair = contents.items.find((p) => keyText(p) === 'plots');
  if (!pair || pair.value === null) return [...defs.values()];
  const check = new Checker(pipelineFile, diags);
  // Top-level plots are not interpolated: DVC does not either, so `${...}` there is an error.
  const v = resolveNode(pipelineFile.doc, pair.value, rootContext({}), { file: pipelineFile, diags }, rangeOf(pair.value, keyRange(pair)));
  if (v.kind === 'scalar' && v.value === null) return [...defs.values()];
  for (const e of topEntries(check, v)) {
    if (e.opts === undefined && defs.has(e.key)) continue; // a bare path adds nothing to the stage's plot
    const def = fromTopEntry(check, e, (file) => outs.get(file)?.cache ?? false);
    if (def) defs.set(def.id, def);
  }
  return [...defs.values()];
}
