/**
 * Getting the raw dataset files, never vendored in the repository. A bundled dataset's files come
 * from a local copy (params `data.dir`, else env MLBUILD_DATA_DIR; relative paths are taken from
 * the project root, where stages run) or by download from the public source; either way the bytes
 * must match the SHA-256 pinned in the params file, so the data stage's output depends on params
 * alone. A user's own file (a plain path) is read as it is: mlbuild tracks its content as a dep.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { isUserFile, type DataFile, type DataParams, type DataSource, type UserFile } from './params.js';
import { DataError } from './tsv.js';

export const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The local data root, or undefined when the files must be downloaded. */
export function localDataDir(p: DataParams, env: NodeJS.ProcessEnv = process.env, root = process.cwd()): string | undefined {
  const dir = p.dir ?? (env.MLBUILD_DATA_DIR || undefined);
  return dir === undefined ? undefined : resolve(root, dir);
}

export interface FetchedFile {
  readonly bytes: Uint8Array;
  /** Where the bytes came from (a path or a URL), for messages and meta.json. */
  readonly origin: string;
}

/** Reads one file from the local copy: `<dir>/<subdir>/<file>`, or `<dir>/<file>` if dir is the dataset folder. */
export function readLocal(spec: DataFile, p: DataParams, dir: string): FetchedFile {
  const candidates = [join(dir, p.subdir, spec.file), join(dir, spec.file)];
  const path = candidates.find((c) => existsSync(c));
  if (path === undefined) {
    throw new DataError(spec.file, undefined, `not found in the local data directory ${dir} (looked at ${candidates.join(', ')}); ` +
      'fix data.dir / MLBUILD_DATA_DIR, or unset both to download');
  }
  const bytes = readFileSync(path);
  checkHash(bytes, spec.sha256, path, 'local copy');
  return { bytes, origin: path };
}

function checkHash(bytes: Uint8Array, want: string, where: string, what: string): void {
  const got = sha256(bytes);
  if (got !== want) {
    throw new DataError(where, undefined, `SHA-256 mismatch for the ${what}: expected ${want}, got ${got}. ` +
      'The file is not the pinned version (edited, truncated, re-encoded or a different release); restore it, ' +
      'or if the change is intended update sha256 in params/data/*.yaml');
  }
}

/** Downloads a file (cached by its pinned hash under ~/.cache/mlbuild/downloads) and verifies it. */
export async function download(spec: DataFile, fetchImpl: typeof fetch = fetch, cacheRoot = defaultCacheRoot()): Promise<FetchedFile> {
  const want = spec.url_sha256 ?? spec.sha256;
  const cached = join(cacheRoot, want);
  if (existsSync(cached)) {
    const bytes = readFileSync(cached);
    if (sha256(bytes) === want) return { bytes, origin: spec.url ?? cached };
  }
  if (!spec.url) {
    throw new DataError(spec.file, undefined, 'no local data directory is set and the file has no url to download it from; ' +
      'set MLBUILD_DATA_DIR (or data.dir) to a folder holding it');
  }
  let bytes: Uint8Array;
  try {
    const res = await fetchImpl(spec.url, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw new DataError(spec.file, undefined, `download from ${spec.url} failed (${(e as Error).message}). ` +
      'Without network access, set MLBUILD_DATA_DIR (or params data.dir) to a local copy of the dataset');
  }
  checkHash(bytes, want, spec.url, 'download');
  mkdirSync(cacheRoot, { recursive: true });
  const tmp = `${cached}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, cached); // atomic: a concurrent stage never reads half a file
  return { bytes, origin: spec.url };
}

function defaultCacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'mlbuild', 'downloads');
}

/** Reads a user's file (path relative to the project root, or absolute). */
export function readUserFile(spec: UserFile, root = process.cwd()): FetchedFile {
  const path = resolve(root, spec.path);
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new DataError(spec.path, undefined, `not found (looked at ${path}); give data.train/dev/test as a path relative to the project root or an absolute path`);
  }
  if (!isFile) throw new DataError(spec.path, undefined, 'is not a file; data.train/dev/test name one TSV file each (sentence<TAB>label per line)');
  return { bytes: readFileSync(path), origin: spec.path };
}

export async function fetchFile(spec: DataSource, p: DataParams, env: NodeJS.ProcessEnv = process.env, root = process.cwd()): Promise<FetchedFile> {
  if (isUserFile(spec)) return readUserFile(spec, root);
  const dir = localDataDir(p, env, root);
  return dir === undefined ? download(spec) : readLocal(spec, p, dir);
}
