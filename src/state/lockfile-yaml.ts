/**
 * The slow path of reading `mlbuild.lock` (lockfile.ts): the `yaml` package, for text the strict
 * canonical reader refuses (hand edits, merge results, syntax errors). A module of its own so that
 * lockfile.ts loads it (and the 260 KB `yaml` bundle chunk) only when that happens: a run whose
 * lockfile comes from its parsed-entries cache or the canonical reader never compiles it.
 *
 * It parses and locates; it does not validate (lockfile.ts does, on the plain JS it returns).
 */
import { isMap, isScalar, isSeq, parseDocument, type Document, type Node, type Range } from 'yaml';
import { locate, type SourceLocation } from '../report/diagnostic.js';

export type PathSeg = string | number;

/** What the yaml package made of lockfile text. */
export interface LockYaml {
  /** Syntax errors, located; when there are any, the rest is meaningless. */
  readonly errors: { readonly message: string; readonly location: SourceLocation }[];
  /** True for an empty or comment-only file. */
  readonly empty: boolean;
  /** The document as plain JS (aliases expanded). */
  readonly js: unknown;
  /** The source location of the node at `where` (its key when `on` is 'key'), or the nearest ancestor. */
  locateNode(where: readonly PathSeg[], on: 'key' | 'value'): SourceLocation;
}

export function parseLockYaml(text: string, file: string): LockYaml {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, strict: true });
  const errors = doc.errors.map((e) => ({ message: e.message.split('\n')[0]!, location: locate(file, text, e.pos[0], e.pos[1]) }));
  const empty = errors.length === 0 && doc.contents === null;
  return {
    errors,
    empty,
    js: errors.length === 0 && !empty ? (doc.toJS({ maxAliasCount: -1 }) as unknown) : undefined,
    locateNode: (where, on) => locateNode(doc, text, file, where, on),
  };
}

function locateNode(doc: Document, text: string, file: string, where: readonly PathSeg[], on: 'key' | 'value'): SourceLocation {
  let node: unknown = doc.contents;
  let range: Range | undefined = (node as Node | null)?.range ?? undefined;
  for (let i = 0; i < where.length; i++) {
    const seg = where[i];
    const last = i === where.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg));
      if (!pair) break;
      const keyRange = isScalar(pair.key) ? pair.key.range : undefined;
      if (last && on === 'key' && keyRange) return locate(file, text, keyRange[0], keyRange[1]);
      node = pair.value;
      const r = (node as Node | null)?.range ?? keyRange;
      if (r) range = r;
      else break;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
      const r = (node as Node | null)?.range;
      if (r) range = r;
      else break;
    } else {
      break;
    }
  }
  return range ? locate(file, text, range[0], range[1]) : locate(file, text, 0);
}
