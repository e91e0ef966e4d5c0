/**
 * Where a resolved param was written: the file, line and column of a dotted key's value, for
 * diagnostics about values that are valid YAML but wrong for the code that reads them (the
 * `monitor:` settings). It looks through the params files a load read, in the order their values
 * win (params.ts): `params/base.yaml`, the selected option files (`params/<group>/<option>.yaml`,
 * merged under `<group>`, or `<group>.<option>` for a list of options), then `params.yaml`.
 * A key set only by `-S` is in no file: undefined. Not loading or merging (params.ts).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { isCollection } from 'yaml';
import type { SourceLocation } from '../report/diagnostic.js';
import { displayPath, locAt, parseYamlText, rangeOf } from './pipeline-file.js';

/** The key paths inside `rel` under which `segs` would lie: `[]` for a top-level file, the group (and option) prefix for an option file. */
function pathsIn(rel: string, segs: readonly string[]): (readonly string[])[] {
  const m = /^params\/(.+)\/([^/]+)\.ya?ml$/.exec(rel);
  if (!m) return [segs];
  const group = m[1]!.split('/');
  const option = m[2]!;
  const out: (readonly string[])[] = [];
  for (const prefix of [group, [...group, option]]) {
    if (segs.length >= prefix.length && prefix.every((p, i) => segs[i] === p)) out.push(segs.slice(prefix.length));
  }
  return out;
}

/** Lower rank wins: base.yaml's own keys, then option files, then params.yaml. */
const rank = (rel: string): number => (rel === 'params/base.yaml' ? 0 : rel === 'params.yaml' ? 2 : 1);

export function locateParam(root: string, displayCwd: string, files: readonly string[], segs: readonly string[]): SourceLocation | undefined {
  for (const rel of [...files].sort((a, b) => rank(a) - rank(b))) {
    const abs = path.join(root, ...rel.split('/'));
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch {
      continue;
    }
    const parsed = parseYamlText(abs, displayPath(abs, displayCwd), text, false);
    if (!parsed.ok) continue;
    for (const inner of pathsIn(rel, segs)) {
      const node = inner.length === 0 ? parsed.value.doc.contents : parsed.value.doc.getIn(inner, true);
      if (node === undefined || node === null) continue;
      // A collection's range spans its whole body: point at its first line instead.
      const [start, end] = rangeOf(node);
      return locAt(parsed.value, isCollection(node) ? [start, start + 1] : [start, end]);
    }
  }
  return undefined;
}
