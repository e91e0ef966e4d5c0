/**
 * `vars:` lists (top level and per stage, as in DVC): each item is an inline map or a file name,
 * optionally with keys (`file.yaml:key1,key2`). Items become interpolation layers, later ones on
 * top. Values are taken as written: vars are not themselves interpolated.
 *
 * Files are read once per load (cached) and may be YAML or JSON. A file that is already one of the
 * params files is skipped: its values are the default context anyway, and skipping keeps
 * `${...}` references to it counted as param deps.
 */
import * as path from 'node:path';
import { isMap, isScalar, isSeq } from 'yaml';
import type { Document } from 'yaml';
import type { Diagnostic, DiagnosticCode } from '../report/diagnostic.js';
import { deref, locAt, rangeOf, readYamlFile, yamlToJS } from './pipeline-file.js';
import type { Range, YamlFile } from './pipeline-file.js';
import { getIn, isPlainObject, setIn, splitKey } from './tree.js';
import type { Tree } from './tree.js';

export class VarsLoader {
  readonly #cache = new Map<string, Promise<{ tree?: Tree; diags: Diagnostic[] }>>();

  constructor(
    private readonly displayCwd: string,
    /** Absolute paths of the params files already in the context. */
    private readonly paramsFiles: ReadonlySet<string>,
  ) {}

  /** Absolute paths of the vars files read (for caches keyed by every input file). */
  get filesRead(): string[] {
    return [...this.#cache.keys()];
  }

  /** Reads a `vars:` value into layers (lowest first). Relative file names resolve against `baseDir`. */
  async load(file: YamlFile, node: unknown, baseDir: string, diags: Diagnostic[]): Promise<Tree[]> {
    const doc: Document = file.doc;
    const n = deref(doc, node);
    if (n === null) return [];
    const hint = 'write vars: [{seed: 42}, params/extra.yaml, other.yaml:key1,key2]';
    const fail = (range: Range, code: DiagnosticCode, message: string, h = hint): void => {
      diags.push({ severity: 'error', code, message, location: locAt(file, range), hint: h });
    };
    if (!isSeq(n)) {
      fail(rangeOf(n), 'wrong-type', "'vars' must be a list of maps or file names");
      return [];
    }
    const layers: Tree[] = [];
    for (const raw of n.items) {
      const item = deref(doc, raw);
      const range = rangeOf(item);
      if (isMap(item)) {
        const converted = yamlToJS(file, item);
        if (converted.ok) layers.push(converted.value as Tree);
        else diags.push(...converted.error);
        continue;
      }
      if (!isScalar(item) || typeof item.value !== 'string') {
        fail(range, 'wrong-type', "each 'vars' item must be a map or a file name");
        continue;
      }
      const spec = item.value;
      const colon = spec.lastIndexOf(':');
      const name = colon === -1 ? spec : spec.slice(0, colon);
      const keys = colon === -1 ? [] : spec.slice(colon + 1).split(',').map((k) => k.trim()).filter((k) => k !== '');
      const abs = path.resolve(baseDir, name);
      if (this.paramsFiles.has(abs)) continue;
      if (!/\.(ya?ml|json)$/i.test(name)) {
        fail(range, 'unsupported-vars-file', `cannot read vars from '${name}': only .yaml, .yml and .json files are supported`, 'convert the file to YAML or JSON');
        continue;
      }
      const loaded = await this.#read(abs);
      if (!loaded.tree) {
        // Report a missing file at the entry; a broken file at its own error positions.
        if (loaded.diags.some((d) => d.code === 'missing-file')) fail(range, 'missing-file', `vars file not found: ${name}`, `create ${name} or remove it from vars`);
        else diags.push(...loaded.diags);
        continue;
      }
      if (keys.length === 0) {
        layers.push(loaded.tree);
        continue;
      }
      let picked: Tree = {};
      for (const k of keys) {
        const got = getIn(loaded.tree, splitKey(k));
        if (got.found) picked = setIn(picked, splitKey(k), got.value);
        else fail(range, 'undefined-var', `key '${k}' not found in vars file ${name}`, `define '${k}' in ${name} or remove it from this entry`);
      }
      layers.push(picked);
    }
    return layers;
  }

  #read(abs: string): Promise<{ tree?: Tree; diags: Diagnostic[] }> {
    let p = this.#cache.get(abs);
    if (!p) {
      p = (async () => {
        const r = await readYamlFile(abs, this.displayCwd, { interpolated: false, what: 'vars file' });
        if (!r.ok) return { diags: r.error };
        const converted = yamlToJS(r.value);
        if (!converted.ok) return { diags: converted.error };
        const js = converted.value;
        if (js === null || js === undefined) return { tree: {}, diags: [] };
        if (isPlainObject(js)) return { tree: js, diags: [] };
        return {
          diags: [
            {
              severity: 'error' as const,
              code: 'wrong-type',
              message: `vars file ${r.value.display} must hold a map`,
              location: locAt(r.value, rangeOf(r.value.doc.contents)),
              hint: 'write keys at the top level, e.g. `seed: 42`',
            },
          ],
        };
      })();
      this.#cache.set(abs, p);
    }
    return p;
  }
}
