/**
 * Writes `-S` overrides back into params files while keeping the user's comments and layout.
 * Edits are made on the text where possible, so the rest of the file stays byte-identical: a
 * value replacing a scalar or flow collection is spliced in place, and a new key is appended to
 * the deepest existing block map on its path. Anything else (replacing a block collection, a key
 * below a scalar) goes through the `yaml` Document and is re-rendered, which keeps comments but
 * may normalise spacing.
 *
 * Files are written atomically (`<file>.tmp-<pid>` then rename). It does not decide which file a
 * key belongs in (params.ts does).
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { isCollection, isMap, isScalar, isSeq, parseDocument, stringify } from 'yaml';
import type { Document } from 'yaml';

/** Set the value at `segs` (map keys or list indexes) in the document. */
export interface SetEdit {
  readonly kind: 'set';
  readonly segs: readonly (string | number)[];
  readonly value: unknown;
}

/** Select `options` for `group` in the `defaults` list (replacing that group's entry or appending one). */
export interface SelectEdit {
  readonly kind: 'select';
  readonly group: string;
  readonly value: string | readonly string[];
}

export type Edit = SetEdit | SelectEdit;

const TO_STRING = { flowCollectionPadding: false, lineWidth: 0 } as const;

const render = (v: unknown): string =>
  stringify(v, { collectionStyle: 'flow', flowCollectionPadding: false, lineWidth: 0 }).replace(/\n$/, '');

/** Applies edits one by one to YAML text and returns the new text. */
export function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const e of edits) out = e.kind === 'set' ? applySet(out, e.segs, e.value) : applySelect(out, e.group, e.value);
  return out;
}

function splice(text: string, doc: Document, segs: readonly (string | number)[], value: unknown): string | undefined {
  const node = doc.getIn(segs, true);
  const replaceable = isScalar(node) || (isCollection(node) && node.flow === true);
  const r = (node as { range?: [number, number, number] } | undefined)?.range;
  const rendered = render(value);
  if (!replaceable || !r || rendered.includes('\n')) return undefined;
  return text.slice(0, r[0]) + rendered + text.slice(r[1]);
}

/** Adds a missing key as text at the end of the deepest existing block map on its path. */
function insertKey(text: string, doc: Document, segs: readonly (string | number)[], value: unknown): string | undefined {
  let node: unknown = doc.contents;
  let i = 0;
  while (i < segs.length && isMap(node) && node.has(segs[i])) node = node.get(segs[i++], true);
  const rest = segs.slice(i);
  if (rest.length === 0 || rest.some((s) => typeof s !== 'string')) return undefined;
  let at: number;
  let indent = 0;
  if (node === null && i === 0) at = text.length;
  else if (isMap(node) && !node.flow && node.range) {
    at = node.range[1];
    indent = node.range[0] - (text.lastIndexOf('\n', node.range[0] - 1) + 1);
  } else return undefined;
  const nested = rest.reduceRight<unknown>((v, k) => ({ [k]: v }), value);
  const block = stringify(nested, { lineWidth: 0, flowCollectionPadding: false })
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => ' '.repeat(indent) + l)
    .join('\n');
  const sep = at > 0 && text[at - 1] !== '\n' ? '\n' : '';
  return `${text.slice(0, at)}${sep}${block}\n${text.slice(at)}`;
}

function applySet(text: string, segs: readonly (string | number)[], value: unknown): string {
  const doc = parseDocument(text);
  const edited = splice(text, doc, segs, value) ?? insertKey(text, doc, segs, value);
  if (edited !== undefined) return edited;
  // A scalar on the way down would make setIn throw: replace it with an empty map first.
  for (let i = 1; i < segs.length; i++) {
    const prefix = segs.slice(0, i);
    const n = doc.getIn(prefix, true);
    if (n !== undefined && !isCollection(n)) doc.setIn(prefix, doc.createNode({}));
  }
  doc.setIn(segs, doc.createNode(value));
  return doc.toString(TO_STRING);
}

const lineStart = (text: string, offset: number): number => text.lastIndexOf('\n', offset - 1) + 1;

function applySelect(text: string, group: string, value: string | readonly string[]): string {
  const doc: Document = parseDocument(text);
  const entry = `${render(group)}: ${render(value)}`;
  const defaults = doc.get('defaults', true);
  if (isSeq(defaults)) {
    const idx = defaults.items.findIndex((it) => isMap(it) && it.has(group));
    if (idx !== -1) {
      const spliced = splice(text, doc, ['defaults', idx, group], value);
      if (spliced !== undefined) return spliced;
      doc.setIn(['defaults', idx, group], doc.createNode(value, { flow: true }));
      return doc.toString(TO_STRING);
    }
    if (!defaults.flow && defaults.range && defaults.items.length > 0) {
      const at = defaults.range[1];
      const indent = ' '.repeat(defaults.range[0] - lineStart(text, defaults.range[0]));
      const sep = text[at - 1] === '\n' ? '' : '\n';
      return `${text.slice(0, at)}${sep}${indent}- ${entry}\n${text.slice(at)}`;
    }
    defaults.add(doc.createNode({ [group]: value }, { flow: Array.isArray(value) }));
    return doc.toString(TO_STRING);
  }
  if (defaults !== undefined) {
    doc.set('defaults', doc.createNode([{ [group]: value }]));
    return doc.toString(TO_STRING);
  }
  // No defaults list yet: put one first (after any header comment), since it reads as the file's header.
  const contents = doc.contents;
  const block = `defaults:\n  - ${entry}\n`;
  if (contents === null) return `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${block}`;
  if (isMap(contents) && !contents.flow && contents.range) {
    const at = contents.range[0];
    return `${text.slice(0, at)}${block}${text.slice(at)}`;
  }
  doc.contents = doc.createNode({ defaults: [{ [group]: value }] });
  return doc.toString(TO_STRING);
}

/** Writes `text` to `abs` atomically, creating the folder if needed. */
export async function writeAtomic(abs: string, text: string): Promise<void> {
  await mkdir(path.dirname(abs), { recursive: true });
  const tmp = `${abs}.tmp-${process.pid}`;
  await writeFile(tmp, text, 'utf8');
  await rename(tmp, abs);
}
