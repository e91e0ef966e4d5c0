/**
 * How a tracked param names its custom file (`custom.yaml:a.b`) and how its value is found in the
 * trees a load read. Apart from config/param-files.ts, which reads and parses those files (YAML,
 * JSON, TOML, Python), so a run that only compares values (run/freshness.ts) never loads the
 * parsers (json5 and smol-toml, ~80 KB bundled).
 */
import { getIn, splitKey } from './tree.js';
import type { ParamDep, ParamTree } from '../model/stage.js';

/** The separator between a params file and a key path in a tracked key (`custom.yaml:a.b`). */
export const FILE_KEY_SEP = ':';

/** The tracked key of `keyPath` in the custom params file `file` ('' keyPath: the whole file). */
export const fileParamKey = (file: string, keyPath: string): string => (keyPath === '' ? file : `${file}${FILE_KEY_SEP}${keyPath}`);

/** Whether `file` is read by the project params loader (params.yaml, params/...), not as a custom file. */
export const isProjectParamsFile = (file: string): boolean => file === 'params.yaml' || file.startsWith('params/');

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
