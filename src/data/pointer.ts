/**
 * Data pointers: DVC's `.dvc` files (DVC 2 and 3), which track raw data outside any stage, read
 * as data sources and written by `mlbuild add` in a form DVC itself reads.
 *
 *   outs:
 *   - md5: 22a1a2931c8370d3aeedd7183606fd7f      # `<md5>.dir` for a directory
 *     size: 14445097
 *     nfiles: 2                                  # directories only
 *     hash: md5                                  # DVC 3; absent = DVC 2 (md5-dos2unix)
 *     path: data.xml                             # relative to the .dvc file's folder
 *   deps:                                        # only for `dvc import`
 *   - path: data/data.xml
 *     repo: {url: https://github.com/..., rev_lock: f31f5c4...}
 *   meta: {mlbuild: {md5: ..., xxh64: ...}}      # mlbuild's own hash, trusted only beside that md5
 *
 * DVC's out schema allows no extra keys, so mlbuild's xxh64 lives under the top-level `meta:`,
 * which DVC keeps as it is; it is believed only while its md5 is the out's (a `dvc add` by a
 * teammate changes the md5 and so retires the stale xxh64). It reads and writes text only: no
 * hashing, no cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { isMap, isSeq, parseDocument, stringify } from 'yaml';
import type { Diagnostic } from '../report/diagnostic.js';
import { locate } from '../report/diagnostic.js';
import type { Md5Kind } from '../hashing/md5.js';
import { isMd5 } from '../hashing/md5.js';

export interface ImportSource {
  readonly url: string;
  readonly revLock?: string;
  readonly rev?: string;
  /** The path inside that repository. */
  readonly path: string;
}

export interface DataPointer {
  /** Project-relative POSIX path of the `.dvc` file. */
  readonly file: string;
  /** Project-relative POSIX path of the data it tracks. */
  readonly path: string;
  /** DVC's hash: 32 hex, `.dir` suffix for a directory; undefined when the pointer records none yet. */
  readonly md5?: string;
  readonly md5Kind: Md5Kind;
  readonly size?: number;
  readonly nfiles?: number;
  /** mlbuild's xxh64 of the same content, when `meta.mlbuild` vouches for it. */
  readonly xxh64?: string;
  readonly frozen: boolean;
  readonly importFrom?: ImportSource;
}

const posix = (p: string): string => p.split(path.sep).join('/');

/** Parses one `.dvc` file's text; each problem is a located diagnostic. */
export function parsePointer(file: string, text: string, display: string): { pointers: DataPointer[]; diags: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  const fail = (message: string, offset: number, hint: string): { pointers: DataPointer[]; diags: Diagnostic[] } => {
    diags.push({ severity: 'error', code: 'bad-pointer', message, location: locate(display, text, offset), hint });
    return { pointers: [], diags };
  };
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return fail(`${display} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`, doc.errors[0]!.pos[0], 'fix the YAML, or restore the file from git');
  const top = doc.contents;
  if (!isMap(top)) return fail(`${display} must be a map with an 'outs:' list`, 0, 'a .dvc file holds outs: [{md5, size, path}]');
  const outs = top.get('outs', true);
  if (!isSeq(outs) || outs.items.length === 0) return fail(`${display} has no 'outs:' list`, top.range?.[0] ?? 0, 'a .dvc file holds outs: [{md5, size, path}]; recreate it with `mlbuild add PATH`');
  const raw = doc.toJS() as { deps?: unknown; frozen?: unknown; meta?: unknown; wdir?: unknown };
  const dir = posix(path.dirname(file));
  const wdir = typeof raw.wdir === 'string' ? raw.wdir : '.';
  const base = posix(path.posix.normalize(path.posix.join(dir === '.' ? '' : dir, wdir)));
  const metaMl = (raw.meta as { mlbuild?: { md5?: unknown; xxh64?: unknown } } | undefined)?.mlbuild;
  let importFrom: ImportSource | undefined;
  if (Array.isArray(raw.deps)) {
    const d = raw.deps[0] as { path?: unknown; repo?: { url?: unknown; rev_lock?: unknown; rev?: unknown } } | undefined;
    if (d && d.repo && typeof d.repo.url === 'string' && typeof d.path === 'string') {
      importFrom = {
        url: d.repo.url,
        path: d.path,
        ...(typeof d.repo.rev_lock === 'string' ? { revLock: d.repo.rev_lock } : {}),
        ...(typeof d.repo.rev === 'string' ? { rev: d.repo.rev } : {}),
      };
    }
  }
  const pointers: DataPointer[] = [];
  for (const item of outs.items) {
    const offset = (item as { range?: [number, number] }).range?.[0] ?? 0;
    if (!isMap(item)) return fail(`${display}: each entry of outs: must be a map`, offset, 'write - path: NAME with md5 and size');
    const o = item.toJSON() as Record<string, unknown>;
    if (typeof o.path !== 'string' || o.path === '') return fail(`${display}: an out has no path`, offset, 'add path: with the file or folder it tracks');
    const md5 = o.md5 ?? undefined;
    if (md5 !== undefined && (typeof md5 !== 'string' || !isMd5(md5))) {
      return fail(`${display}: md5 '${String(md5)}' of '${o.path}' is not an md5 hash`, offset, 'restore the file from git, or re-add the data with `mlbuild add`');
    }
    const rel = posix(path.posix.normalize(path.posix.join(base === '.' ? '' : base, o.path)));
    if (rel.startsWith('../') || path.isAbsolute(o.path)) return fail(`${display}: '${o.path}' lies outside the project`, offset, 'track data inside the project');
    const xxh = metaMl && metaMl.md5 === md5 && typeof metaMl.xxh64 === 'string' && outs.items.length === 1 ? metaMl.xxh64 : undefined;
    pointers.push({
      file,
      path: rel,
      ...(typeof md5 === 'string' ? { md5 } : {}),
      md5Kind: o.hash === 'md5' ? 'md5' : 'md5-dos2unix',
      ...(typeof o.size === 'number' ? { size: o.size } : {}),
      ...(typeof o.nfiles === 'number' ? { nfiles: o.nfiles } : {}),
      ...(xxh ? { xxh64: xxh } : {}),
      frozen: raw.frozen === true,
      ...(importFrom ? { importFrom } : {}),
    });
  }
  return { pointers, diags };
}

/** Reads a `.dvc` file (project-relative `file`). */
export function readPointerFile(root: string, file: string, displayCwd: string): { pointers: DataPointer[]; diags: Diagnostic[] } {
  const abs = path.join(root, file);
  const display = posix(path.relative(displayCwd, abs)) || file;
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    return { pointers: [], diags: [{ severity: 'error', code: 'unreadable-file', message: `cannot read ${display}: ${(e as Error).message}`, hint: 'check the file permissions' }] };
  }
  return parsePointer(file, text, display);
}

/** What `mlbuild add` records for one path. */
export interface PointerRecord {
  /** Path relative to the `.dvc` file's folder (its basename, for a pointer beside the data). */
  readonly path: string;
  readonly md5: string;
  readonly size: number;
  readonly nfiles?: number;
  readonly xxh64: string;
}

/** The text of a DVC 3 `.dvc` file, key order as DVC writes it, plus mlbuild's hash under meta. */
export function pointerText(r: PointerRecord): string {
  const out: Record<string, unknown> = { md5: r.md5, size: r.size };
  if (r.nfiles !== undefined) out.nfiles = r.nfiles;
  out.hash = 'md5';
  out.path = r.path;
  return stringify({ outs: [out], meta: { mlbuild: { md5: r.md5, xxh64: r.xxh64 } } }, { lineWidth: 0, indentSeq: false });
}
