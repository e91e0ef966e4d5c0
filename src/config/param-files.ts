/**
 * Params files other than the project's own params (`params.yaml`, `params/`): the custom files a
 * stage names with DVC's `params: [{custom.yaml: [a.b]}]` or `{custom.yaml: null}` (the whole
 * file), and the files listed under the top-level `params:`. DVC reads YAML 1.2, JSON and TOML 1.0
 * params files, and Python files; mlbuild reads the first three by extension (`.yaml`/`.yml`,
 * `.json`, `.toml`) and refuses `.py` by name (DVC evaluates module-level assignments; we do not
 * run or parse Python).
 *
 * A value from such a file is tracked under the key `<file>:<path>` (`custom.yaml:a.b`) in the
 * lockfile, in status reasons and in `params diff`, so it never collides with a key of the project
 * params. Pure parsing is `parseParamsText`; `ParamFiles` reads and memoises files for one load.
 * It does not apply `-S` overrides (those only change the project params) and never writes.
 */
import fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parse as parseToml } from 'smol-toml';
import { type Result, err, ok } from '../util/result.js';
import { getIn, isPlainObject, splitKey, type Tree } from './tree.js';
import type { ParamDep, ParamTree } from '../model/stage.js';

export const PARAM_FILE_EXTENSIONS = ['.yaml', '.yml', '.json', '.toml'] as const;

/** The separator between a params file and a key path in a tracked key (`custom.yaml:a.b`). */
export const FILE_KEY_SEP = ':';

/** The tracked key of `keyPath` in the custom params file `file` ('' keyPath: the whole file). */
export const fileParamKey = (file: string, keyPath: string): string => (keyPath === '' ? file : `${file}${FILE_KEY_SEP}${keyPath}`);

/** Whether `file` is read by the project params loader (params.yaml, params/...), not as a custom file. */
export const isProjectParamsFile = (file: string): boolean => file === 'params.yaml' || file.startsWith('params/');

/** TOML tables come back without a prototype and dates as objects: make plain JSON-like data. */
function plain(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Date) return v.toISOString();
  if (v !== null && typeof v === 'object') {
    if (typeof (v as { toISOString?: unknown }).toISOString === 'function') return (v as { toISOString: () => string }).toISOString();
    const out: Tree = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}

/** Parses a params file's text by its extension; the error is one line for the user. */
export function parseParamsText(text: string, file: string): Result<Tree, string> {
  const ext = path.extname(file).toLowerCase();
  let doc: unknown;
  try {
    if (ext === '.yaml' || ext === '.yml') doc = parseYaml(text) as unknown;
    else if (ext === '.json') doc = JSON.parse(text) as unknown;
    else if (ext === '.toml') doc = parseToml(text);
    else if (ext === '.py') return err('Python params files are not supported by mlbuild (DVC evaluates them); move these values to a .yaml, .json or .toml file');
    else return err(`params files must end in ${PARAM_FILE_EXTENSIONS.join(', ')}`);
  } catch (e) {
    return err(`cannot parse: ${(e instanceof Error ? e.message : String(e)).split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return ok({});
  const tree = plain(doc);
  return isPlainObject(tree) ? ok(tree) : err('must hold a map of parameters at the top level');
}

/** Reads custom params files once each during one load; project-relative POSIX paths. */
export class ParamFiles {
  private readonly read = new Map<string, Result<Tree, string>>();

  constructor(private readonly root: string) {}

  get(file: string): Result<Tree, string> {
    let r = this.read.get(file);
    if (!r) {
      let text: string | undefined;
      try {
        text = fs.readFileSync(path.join(this.root, ...file.split('/')), 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        r = err(code === 'ENOENT' ? 'not found' : `cannot read: ${code ?? String(e)}`);
      }
      if (text !== undefined) r = parseParamsText(text, file);
      this.read.set(file, r!);
    }
    return r!;
  }

  /** The trees of the files that were read successfully, by path. */
  trees(): Record<string, Tree> {
    const out: Record<string, Tree> = {};
    for (const [f, r] of [...this.read].sort((a, b) => (a[0] < b[0] ? -1 : 1))) if (r.ok) out[f] = r.value;
    return out;
  }

  /** Absolute paths of every file looked at (for the resolved-pipeline cache). */
  files(): string[] {
    return [...this.read.keys()].map((f) => path.join(this.root, ...f.split('/')));
  }
}

/** The value of a declared param: from its custom file's tree, or from the project params. */
export function paramDepValue(
  dep: ParamDep,
  params: ParamTree,
  fileParams: Readonly<Record<string, ParamTree>>,
): { found: true; value: unknown } | { found: false } {
  if (dep.file === undefined) return getIn(params, splitKey(dep.key));
  const tree = fileParams[dep.file];
  if (tree === undefined) return { found: false };
  const keyPath = dep.key === dep.file ? '' : dep.key.slice(dep.file.length + FILE_KEY_SEP.length);
  return keyPath === '' ? { found: true, value: tree } : getIn(tree, splitKey(keyPath));
}
