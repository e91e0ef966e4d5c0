/**
 * Reading a declared out (a metrics or plots file) as it is in the workspace or was at a git
 * revision, without checking anything out: a committed file through git objects, a cached out
 * through that revision's lockfile and the local cache. Shared by `metrics`, `params` and `plots`
 * so they agree on what a revision holds. Failures are reasons, never exceptions.
 *
 * `RevisionFiles` also reads files *inside* a cached directory out (DVCLive's `dvclive/metrics.json`
 * when `dvclive` is a stage's out) through the directory's manifest, and lists the files under a
 * folder at a revision, so top-level `metrics:`/`plots:` entries may name folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.js';
import { LOCKFILE_NAME } from '../project.js';
import { Lockfile } from '../state/lockfile.js';
import { objectPathIn, parseManifest } from '../cache/local-store.js';
import type { ManifestEntry } from '../hashing/file-hasher.js';
import { type Result, ok } from '../util/result.js';
import type { Diagnostic } from '../report/diagnostic.js';
import { GitReader, type ReadBytes, type ReadResult } from './git-reader.js';

/** The revision name of the files on disk. */
export const WORKSPACE = 'workspace';

function readWorkspaceFile(project: Project, rel: string): ReadResult {
  try {
    return { ok: true, text: fs.readFileSync(path.join(project.root, ...rel.split('/')), 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `not in ${WORKSPACE}` : `cannot read: ${code ?? String(e)}` };
  }
}

/**
 * Opens git (when a revision other than the workspace is named) and checks every revision names a
 * commit; the diagnostics say why not (not a repository, an unknown revision: exit 2).
 */
export async function openRevisions(project: Project, revs: readonly string[]): Promise<Result<{ git: GitReader | undefined }, Diagnostic[]>> {
  if (revs.every((r) => r === WORKSPACE)) return ok({ git: undefined });
  const git = await GitReader.open(project.root, 'revisions are read from git');
  if (!git.ok) return git;
  for (const rev of revs) {
    if (rev === WORKSPACE) continue;
    const sha = await git.value.verify(rev);
    if (!sha.ok) return sha;
  }
  return ok({ git: git.value });
}

const inside = (p: string, dir: string): boolean => p === dir || p.startsWith(dir + '/');

/** Every file below the project folder `rel`, as project-relative POSIX paths, sorted by name at each level. */
function walk(root: string, rel: string, into: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(root, ...rel.split('/')), { withFileTypes: true });
  } catch {
    return into;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const child = `${rel}/${e.name}`;
    if (e.isDirectory()) walk(root, child, into);
    else if (e.isFile()) into.push(child);
  }
  return into;
}

/**
 * Files of the workspace or of any revision, by project-relative path. `cachedOuts` are the
 * pipeline's cached outs (files or folders): a path equal to or inside one is read through the
 * revision's lockfile and the cache; any other path through git objects.
 */
export class RevisionFiles {
  private readonly locks = new Map<string, Promise<Lockfile | string>>();
  /** What `prefetch` read from git, by `rev\0rel`. */
  private readonly fetched = new Map<string, ReadResult>();

  constructor(
    private readonly project: Project,
    private readonly git: GitReader | undefined,
    private readonly cachedOuts: readonly string[],
  ) {}

  private cachedOutOf(rel: string): string | undefined {
    return this.cachedOuts.find((o) => inside(rel, o));
  }

  private lockAt(rev: string): Promise<Lockfile | string> {
    let p = this.locks.get(rev);
    if (!p) {
      p = (async () => {
        const text = await this.git!.read(rev, LOCKFILE_NAME);
        if (!text.ok) return `${LOCKFILE_NAME} is ${text.reason}`;
        const lock = await Lockfile.parse(text.text, this.project.lockPath, this.project.displayCwd);
        return lock.ok ? lock.value : `cannot parse ${LOCKFILE_NAME} at ${rev}: ${lock.error[0]?.message ?? 'invalid'}`;
      })();
      this.locks.set(rev, p);
    }
    return p;
  }

  /**
   * Reads the committed (not cached) paths `rels` at every revision of `revs` through one
   * `git cat-file --batch` (GitReader.readMany), so that `list` and `read` of them cost no process
   * afterwards: for the ui and `exp show` over hundreds of commits, where a `git` process per file
   * and revision dominates. A path that is a folder at a revision is still listed by git.
   */
  async prefetch(revs: readonly string[], rels: readonly string[]): Promise<void> {
    if (this.git === undefined) return;
    const plain = rels.filter((rel) => this.cachedOutOf(rel) === undefined);
    const reqs = revs.filter((rev) => rev !== WORKSPACE).flatMap((rev) => plain.filter((rel) => !this.fetched.has(`${rev}\0${rel}`)).map((rel) => ({ rev, rel })));
    const got = await this.git.readMany(reqs);
    reqs.forEach((r, i) => this.fetched.set(`${r.rev}\0${r.rel}`, got[i]!));
  }

  /** What `prefetch` found of a file: its text or that it is missing (a folder is left to git). */
  private prefetched(rev: string, rel: string): ReadResult | undefined {
    const pre = this.fetched.get(`${rev}\0${rel}`);
    return pre && (pre.ok || pre.reason === `not in ${rev}`) ? pre : undefined;
  }

  /** The locked record of the cached out `out` at `rev`, or why there is none. */
  private async lockedOut(rev: string, out: string): Promise<{ hash: string } | string> {
    const lock = await this.lockAt(rev);
    if (typeof lock === 'string') return `in a cached out, and ${lock}`;
    for (const name of lock.names()) {
      const rec = lock.get(name)?.outs.find((o) => o.path === out);
      if (rec) return { hash: rec.hash };
    }
    return `'${out}' is not recorded in ${LOCKFILE_NAME} at ${rev}`;
  }

  private manifest(hash: string, rev: string): ManifestEntry[] | string {
    try {
      return parseManifest(fs.readFileSync(objectPathIn(this.project.mlcacheDir, hash), 'utf8'));
    } catch {
      return `directory ${hash} (from ${LOCKFILE_NAME} at ${rev}) is not in the cache; run mlbuild pull`;
    }
  }

  /** The cache object holding `rel` at `rev`, for a path inside the cached out `out`. */
  private async objectOf(rev: string, rel: string, out: string): Promise<string | { failed: string }> {
    const rec = await this.lockedOut(rev, out);
    if (typeof rec === 'string') return { failed: rec };
    if (rel === out) {
      if (rec.hash.endsWith('.dir')) return { failed: `'${rel}' is a directory at ${rev}` };
      return rec.hash;
    }
    const entries = this.manifest(rec.hash, rev);
    if (typeof entries === 'string') return { failed: entries };
    const want = rel.slice(out.length + 1);
    const e = entries.find((x) => x.relpath === want);
    return e ? e.hash : { failed: `not in ${rev}` };
  }

  /** The bytes of `rel` at `rev` (WORKSPACE: on disk). */
  async readBytes(rev: string, rel: string): Promise<ReadBytes> {
    if (rev === WORKSPACE || this.git === undefined) {
      try {
        return { ok: true, bytes: fs.readFileSync(path.join(this.project.root, ...rel.split('/'))) };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { ok: false, reason: code === 'ENOENT' ? `not in ${WORKSPACE}` : `cannot read: ${code ?? String(e)}` };
      }
    }
    const out = this.cachedOutOf(rel);
    if (out === undefined) return this.git.readBytes(rev, rel);
    const hash = await this.objectOf(rev, rel, out);
    if (typeof hash !== 'string') return { ok: false, reason: hash.failed };
    try {
      return { ok: true, bytes: fs.readFileSync(objectPathIn(this.project.mlcacheDir, hash)) };
    } catch {
      return { ok: false, reason: `cache object ${hash} (from ${LOCKFILE_NAME} at ${rev}) is not in the cache; run mlbuild pull` };
    }
  }

  /** The text of `rel` at `rev`. */
  async read(rev: string, rel: string): Promise<ReadResult> {
    if (this.cachedOutOf(rel) === undefined) {
      if (rev === WORKSPACE || this.git === undefined) return readWorkspaceFile(this.project, rel);
      const pre = this.prefetched(rev, rel);
      return pre ?? this.git.read(rev, rel);
    }
    const r = await this.readBytes(rev, rel);
    return r.ok ? { ok: true, text: r.bytes.toString('utf8') } : r;
  }

  /**
   * The files `rel` names at `rev`: itself when it is a file, every file below it (sorted) when it is
   * a folder; an empty list when it does not exist there.
   */
  async list(rev: string, rel: string): Promise<string[]> {
    if (rev === WORKSPACE || this.git === undefined) {
      const abs = path.join(this.project.root, ...rel.split('/'));
      try {
        return fs.statSync(abs).isDirectory() ? walk(this.project.root, rel) : [rel];
      } catch {
        return [];
      }
    }
    const out = this.cachedOutOf(rel);
    // A folder that holds cached outs without being inside one: git's files plus the outs' files.
    const below = this.cachedOuts.filter((o) => inside(o, rel) && o !== rel);
    if (out === undefined) {
      // Read ahead as a file, or found missing: no folder to list (unless cached outs sit below it).
      const pre = this.prefetched(rev, rel);
      if (pre && below.length === 0) return pre.ok ? [rel] : [];
      const listed = await this.git.list(rev, [rel]);
      const files = new Set(listed.ok ? listed.value : []);
      for (const o of below) for (const f of await this.list(rev, o)) files.add(f);
      return [...files].sort();
    }
    const rec = await this.lockedOut(rev, out);
    if (typeof rec === 'string') return [];
    if (!rec.hash.endsWith('.dir')) return rel === out ? [rel] : [];
    const entries = this.manifest(rec.hash, rev);
    if (typeof entries === 'string') return [];
    const files = entries.map((e) => `${out}/${e.relpath}`).filter((f) => inside(f, rel));
    return files.sort();
  }
}
