/**
 * Params loading (contract section 3): reads `params.yaml` (DVC layout) and `params/base.yaml`
 * with its option groups, applies `-S` overrides, and optionally writes them back.
 *
 * Resolution order, lowest first:
 *   1. `params.yaml`;
 *   2. the option files selected by `defaults:` in `params/base.yaml` (`params/<group>/<option>.yaml`
 *      merged under `<group>`; a list of options gives `<group>: {<option>: tree, ...}`, also when
 *      `-S group=one` then picks a single option of a group that base.yaml lists);
 *   3. the other keys of `params/base.yaml` (Hydra's `_self_`-last);
 *   4. `-S key=value` overrides.
 * Maps merge deeply; `defaults` is not part of the tree. Only these files are read: other
 * `params/*.yaml` files and nested `defaults` inside option files are not supported.
 *
 * `-S group=opt[,opt2]` selects options when `params/<group>/` is a folder; anything else is
 * `-S key=value` with the value parsed as YAML. With `writeBack`, selections go into base.yaml's
 * `defaults` and a key into the file whose value currently wins (base.yaml, else the selected
 * option file, else params.yaml; a new key goes to base.yaml when the params/ layout is used).
 * Nothing is written when any error was found.
 */
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { ParamTree } from '../model/stage.js';
import type { Diagnostic, DiagnosticCode } from '../report/diagnostic.js';
import { err, ok } from '../util/result.js';
import type { Result } from '../util/result.js';
import { applyEdits, writeAtomic } from './params-write.js';
import { writeFileOverrides } from './param-files.js';
import type { Edit } from './params-write.js';
import { displayPath, keyText, locAt, parseYamlText, rangeOf, yamlToJS } from './pipeline-file.js';
import type { Range, YamlFile } from './pipeline-file.js';
import { deepMerge, getIn, isPlainObject, setIn, splitKey } from './tree.js';
import type { Tree } from './tree.js';

export type { Tree };

/** Everything params loading found, errors and warnings included (load.ts keeps going on errors). */
export interface ParamsLoad {
  readonly tree: Tree;
  /** Project-relative POSIX paths of the params files read. */
  readonly files: string[];
  readonly diags: Diagnostic[];
  /**
   * Writes the `-S` overrides back into the params files (a no-op without overrides). Separate so
   * that loadPipeline writes only once the whole pipeline is known to be valid.
   */
  readonly writeBack: () => Promise<Diagnostic | undefined>;
  /** `-S file:key=value` overrides, applied by config/param-files.ts to that file's tree. */
  readonly fileOverrides: readonly FileOverride[];
}

interface Selection {
  readonly group: string;
  readonly options: readonly string[];
  readonly multi: boolean;
  /** Where the selection was written in base.yaml (absent for a `-S` selection). */
  readonly at?: { readonly file: YamlFile; readonly key: Range; readonly value: Range; readonly options: readonly Range[] };
}

interface KeyOverride {
  readonly raw: string;
  readonly segs: readonly string[];
  readonly value: unknown;
}

/** `-S custom.yaml:a.b=value`: a key of a custom params file (DVC's `exp run -S file:key=value`). */
export interface FileOverride extends KeyOverride {
  /** Project-relative POSIX path of the params file. */
  readonly file: string;
}

interface SourceTree {
  readonly file: YamlFile;
  readonly tree: Tree;
  /** Project-relative path. */
  readonly rel: string;
}

/** Looks up a dotted key (`train.lr`; a numeric segment indexes a list). */
export function getParam(tree: ParamTree, key: string): { found: true; value: unknown } | { found: false } {
  return getIn(tree, splitKey(key));
}

export async function loadParams(
  root: string,
  overrides: readonly string[],
  opts: { writeBack: boolean; displayCwd: string },
): Promise<Result<{ tree: ParamTree; files: string[] }, Diagnostic[]>> {
  const r = await loadParamsDetailed(root, overrides, opts);
  if (r.diags.some((d) => d.severity === 'error')) return err(r.diags);
  const failure = opts.writeBack ? await r.writeBack() : undefined;
  return failure ? err([failure]) : ok({ tree: r.tree, files: r.files });
}

const error = (code: DiagnosticCode, message: string, hint: string, file?: YamlFile, range?: Range): Diagnostic => ({
  severity: 'error',
  code,
  message,
  ...(file && range ? { location: locAt(file, range) } : {}),
  hint,
});

/** The file's text, undefined when it does not exist, or the error code when it cannot be read. */
async function readOptionalText(abs: string): Promise<string | { failed: string } | undefined> {
  try {
    return await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? undefined : { failed: code ?? String(e) };
  }
}

/** Reads a params-like YAML file that must hold a map; undefined when absent or broken (diags say why). */
async function readTreeFile(root: string, rel: string, displayCwd: string, diags: Diagnostic[]): Promise<SourceTree | undefined> {
  const abs = path.join(root, ...rel.split('/'));
  const text = await readOptionalText(abs);
  if (text === undefined) return undefined;
  if (typeof text !== 'string') {
    diags.push(error('unreadable-file', `cannot read ${displayPath(abs, displayCwd)}: ${text.failed}`, 'check that it is a readable file'));
    return undefined;
  }
  const parsed = parseYamlText(abs, displayPath(abs, displayCwd), text, false);
  if (!parsed.ok) {
    diags.push(...parsed.error);
    return undefined;
  }
  const file = parsed.value;
  const converted = yamlToJS(file);
  if (!converted.ok) {
    diags.push(...converted.error);
    return undefined;
  }
  const js = converted.value;
  if (js === null || js === undefined) return { file, tree: {}, rel };
  if (!isPlainObject(js)) {
    diags.push(error('wrong-type', `${file.display} must hold a map of parameters`, 'write keys at the top level, e.g. `lr: 0.1`', file, rangeOf(file.doc.contents)));
    return undefined;
  }
  return { file, tree: js, rel };
}

/** Option names available for a group: `params/<group>/*.yaml` without the extension. */
async function listOptions(root: string, group: string): Promise<string[] | undefined> {
  try {
    const entries = await readdir(path.join(root, 'params', group), { withFileTypes: true });
    return entries.filter((e) => e.isFile() && e.name.endsWith('.yaml')).map((e) => e.name.slice(0, -5)).sort();
  } catch {
    return undefined;
  }
}

const optionsHint = (group: string, options: readonly string[]): string =>
  options.length > 0
    ? `available options: ${options.join(', ')} (params/${group}/*.yaml)`
    : `params/${group}/ has no .yaml option files; add params/${group}/<option>.yaml`;

/** Reads `defaults:` from base.yaml: a list of one-key maps `{group: option}` or `{group: [opt, ...]}`. */
function readDefaults(base: SourceTree, diags: Diagnostic[]): Selection[] {
  const node = base.file.doc.get('defaults', true);
  if (node === undefined) return [];
  const f = base.file;
  const hint = 'write defaults: [{strategy: quick}, {model: logreg}]';
  if (!isSeq(node)) {
    diags.push(error('wrong-type', "'defaults' must be a list of {group: option} maps", hint, f, rangeOf(node)));
    return [];
  }
  const out: Selection[] = [];
  for (const item of node.items) {
    if (isScalar(item) && item.value === '_self_') continue; // Hydra marker; base.yaml always applies last here
    if (!isMap(item) || item.items.length !== 1) {
      diags.push(error('wrong-type', "each 'defaults' entry must be a one-key map {group: option}", hint, f, rangeOf(item)));
      continue;
    }
    const pair = item.items[0]!;
    const group = keyText(pair);
    const v = pair.value;
    const value = rangeOf(v, rangeOf(pair.key));
    const at = { file: f, key: rangeOf(pair.key), value, options: isSeq(v) ? v.items.map((x) => rangeOf(x)) : [value] };
    if (isScalar(v) && typeof v.value === 'string') out.push({ group, options: [v.value], multi: false, at });
    else if (isSeq(v) && v.items.every((x) => isScalar(x) && typeof x.value === 'string')) {
      out.push({ group, options: v.items.map((x) => String((x as { value: unknown }).value)), multi: true, at });
    } else diags.push(error('wrong-type', `the option for params group '${group}' must be a name or a list of names`, hint, f, at.value));
  }
  return out;
}

const KEY_RE = /^[A-Za-z0-9_][\w-]*(\.[\w-]+)*$/;
/** `file.ext:key` in `-S`; the file is one of the custom params formats (config/param-files.ts). */
const FILE_KEY_RE = /^([^=:]+\.(?:ya?ml|json|toml)):([A-Za-z0-9_][\w-]*(?:\.[\w-]+)*)$/;

/** Parses the `-S` values into group selections and key overrides. */
async function parseOverrides(
  root: string,
  overrides: readonly string[],
  diags: Diagnostic[],
): Promise<{ selections: Selection[]; keys: KeyOverride[]; fileKeys: FileOverride[] }> {
  const selections: Selection[] = [];
  const keys: KeyOverride[] = [];
  const fileKeys: FileOverride[] = [];
  for (const raw of overrides) {
    const eq = raw.indexOf('=');
    const fileKey = eq === -1 ? null : FILE_KEY_RE.exec(raw.slice(0, eq).trim());
    if (fileKey) {
      const file = path.posix.normalize(fileKey[1]!.replace(/\\/g, '/')).replace(/^\.\//, '');
      const doc = parseDocument(raw.slice(eq + 1));
      if (file.startsWith('../') || path.posix.isAbsolute(file)) {
        diags.push(error('bad-override', `invalid -S override '${raw}': ${fileKey[1]} is outside the project`, 'name a params file inside the project, e.g. -S custom.yaml:train.lr=0.1'));
      } else if (doc.errors.length > 0) {
        diags.push(error('bad-override', `invalid -S override '${raw}': the value is not valid YAML`, 'quote the value'));
      } else fileKeys.push({ raw, file, segs: fileKey[2]!.split('.'), value: doc.toJS() as unknown });
      continue;
    }
    // Hydra's `+key=value` (add a new key) is accepted: every key override may create its key.
    const key = eq === -1 ? '' : raw.slice(0, eq).trim().replace(/^\+/, '');
    if (eq === -1 || !KEY_RE.test(key)) {
      diags.push(error('bad-override', `invalid -S override '${raw}': expected KEY=VALUE or GROUP=OPTION`, "write e.g. -S train.lr=0.01 or -S model=cnn (several options: -S model=logreg,cnn)"));
      continue;
    }
    const valueText = raw.slice(eq + 1);
    const options = key.includes('.') ? undefined : await listOptions(root, key);
    if (options !== undefined) {
      const chosen = valueText.split(',').map((s) => s.trim());
      const unknown = chosen.filter((o) => !options.includes(o));
      for (const o of unknown) {
        diags.push(error('unknown-option', `-S ${raw}: params group '${key}' has no option '${o}'`, optionsHint(key, options)));
      }
      if (unknown.length === 0) selections.push({ group: key, options: chosen, multi: chosen.length > 1 });
      continue;
    }
    const doc = parseDocument(valueText);
    if (doc.errors.length > 0) {
      diags.push(error('bad-override', `invalid -S override '${raw}': the value is not valid YAML (${doc.errors[0]?.message.split(' at line')[0] ?? ''})`, 'quote the value, e.g. -S \'name="a: b"\''));
      continue;
    }
    keys.push({ raw, segs: key.split('.'), value: doc.toJS() as unknown });
  }
  return { selections, keys, fileKeys };
}

/** Loads option files for the selections and merges them under their group keys. */
async function loadGroups(
  root: string,
  selections: readonly Selection[],
  displayCwd: string,
  diags: Diagnostic[],
  sources: Map<string, SourceTree>,
): Promise<Tree> {
  let acc: Tree = {};
  for (const sel of selections) {
    const available = await listOptions(root, sel.group);
    if (available === undefined) {
      diags.push(error('unknown-group', `params group '${sel.group}' not found: there is no folder params/${sel.group}/`, `create params/${sel.group}/<option>.yaml or remove this entry from defaults`, sel.at?.file, sel.at?.key));
      continue;
    }
    const perOption: Tree = {};
    for (const [i, opt] of sel.options.entries()) {
      if (!available.includes(opt)) {
        diags.push(error('unknown-option', `params group '${sel.group}' has no option '${opt}'`, optionsHint(sel.group, available), sel.at?.file, sel.at?.options[i]));
        continue;
      }
      const rel = `params/${sel.group}/${opt}.yaml`;
      const src = await readTreeFile(root, rel, displayCwd, diags);
      if (!src) continue;
      sources.set(rel, src);
      perOption[opt] = src.tree;
    }
    const value = sel.multi ? perOption : (perOption[sel.options[0] ?? ''] ?? {});
    acc = deepMerge(acc, { [sel.group]: value });
  }
  return acc;
}

/** Which file and path inside it a key override belongs to (see the module comment). */
function targetOf(
  segs: readonly string[],
  selections: readonly Selection[],
  sources: ReadonlyMap<string, SourceTree>,
  usesParamsDir: boolean,
): { rel: string; segs: readonly string[] } {
  const base = sources.get('params/base.yaml');
  if (base && getIn(base.tree, segs).found) return { rel: base.rel, segs };
  const sel = selections.find((s) => s.group === segs[0]);
  if (sel) {
    const opt = sel.multi ? segs[1] : sel.options[0];
    const inner = segs.slice(sel.multi ? 2 : 1);
    const src = opt !== undefined && sel.options.includes(opt) ? sources.get(`params/${sel.group}/${opt}.yaml`) : undefined;
    if (src && inner.length > 0 && getIn(src.tree, inner).found) return { rel: src.rel, segs: inner };
  }
  const dvc = sources.get('params.yaml');
  if (dvc && getIn(dvc.tree, segs).found) return { rel: dvc.rel, segs };
  return { rel: usesParamsDir ? 'params/base.yaml' : 'params.yaml', segs };
}

/** Writes the overrides into the params files; returns a diagnostic if the file system refused. */
async function writeBack(
  root: string,
  selections: readonly Selection[],
  changedGroups: readonly Selection[],
  keys: readonly KeyOverride[],
  sources: ReadonlyMap<string, SourceTree>,
  usesParamsDir: boolean,
  displayCwd: string,
): Promise<Diagnostic | undefined> {
  const edits = new Map<string, Edit[]>();
  const add = (rel: string, e: Edit): void => {
    edits.set(rel, [...(edits.get(rel) ?? []), e]);
  };
  for (const s of changedGroups) add('params/base.yaml', { kind: 'select', group: s.group, value: s.multi ? s.options : (s.options[0] ?? '') });
  for (const k of keys) {
    const t = targetOf(k.segs, selections, sources, usesParamsDir);
    add(t.rel, { kind: 'set', segs: t.segs, value: k.value });
  }
  for (const [rel, list] of edits) {
    const abs = path.join(root, ...rel.split('/'));
    const before = sources.get(rel)?.file.text ?? '';
    const after = applyEdits(before, list);
    if (after === before) continue;
    try {
      await writeAtomic(abs, after);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      return error('write-failed', `cannot write the -S overrides into ${displayPath(abs, displayCwd)}: ${code}`, 'check the file permissions, or run without writing back');
    }
  }
  return undefined;
}

/**
 * Top-level keys in the order a reader of base.yaml expects: its own keys as written, the groups
 * where `defaults:` stands, then anything else (e.g. from params.yaml).
 */
function orderLikeBase(tree: Record<string, unknown>, base: Record<string, unknown> | undefined, groupKeys: readonly string[]): Record<string, unknown> {
  if (!base) return tree;
  const order: string[] = [];
  for (const k of Object.keys(base)) order.push(...(k === 'defaults' ? groupKeys : [k]));
  const out: Record<string, unknown> = {};
  for (const k of [...order, ...Object.keys(tree)]) if (k in tree && !(k in out)) out[k] = tree[k];
  return out;
}

/** Loads, merges and overrides params; never throws for user errors (they are in `diags`). */
export async function loadParamsDetailed(
  root: string,
  overrides: readonly string[],
  opts: { displayCwd: string },
): Promise<ParamsLoad> {
  const diags: Diagnostic[] = [];
  const sources = new Map<string, SourceTree>();
  const dvc = await readTreeFile(root, 'params.yaml', opts.displayCwd, diags);
  if (dvc) sources.set(dvc.rel, dvc);
  const base = await readTreeFile(root, 'params/base.yaml', opts.displayCwd, diags);
  if (base) sources.set(base.rel, base);

  const fromFile = base ? readDefaults(base, diags) : [];
  const { selections: fromCli, keys, fileKeys } = await parseOverrides(root, overrides, diags);
  // A -S selection replaces the group's entry in place, or is appended after the file's ones. A
  // group that base.yaml selects as a list keeps the list form (`<group>: {<option>: ...}`) for
  // one option too, so `${keys(group)}` and `group.<option>.x` mean the same for -S g=a as for -S g=a,b.
  const selections = fromFile.map((s) => {
    const c = fromCli.find((x) => x.group === s.group);
    return c ? { ...c, multi: c.multi || s.multi } : s;
  });
  for (const c of fromCli) if (!fromFile.some((s) => s.group === c.group)) selections.push(c);

  const groups = await loadGroups(root, selections, opts.displayCwd, diags, sources);
  const { defaults: _defaults, ...baseOwn } = base?.tree ?? {};
  let tree = orderLikeBase(deepMerge(dvc?.tree ?? {}, deepMerge(groups, baseOwn)), base?.tree, Object.keys(groups));
  for (const k of keys) tree = setIn(tree, k.segs, k.value);

  const usesParamsDir = base !== undefined || selections.length > 0;
  return {
    tree,
    files: [...sources.keys()],
    diags,
    fileOverrides: fileKeys,
    writeBack: async () =>
      overrides.length === 0 ? undefined : (await writeBack(root, selections, selections.filter((s) => fromCli.some((c) => c.group === s.group)), keys, sources, usesParamsDir, opts.displayCwd)) ??
          (await writeFileOverrides(root, fileKeys, opts.displayCwd)),
  };
}
