/**
 * Bringing a registered model version's directory to a folder: from the local cache when it holds
 * every object, else from a remote (objects are verified by the transfer before they enter the
 * cache), then restored and hashed again: the folder's content hash must equal the one the lockfile
 * (and the registration tag) recorded, and, when it has one, every file must match its
 * mlbuild-model.json. A mismatch removes the folder and fails: nothing unverified is left behind.
 * It does not resolve names or stages (registry.ts does).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CorruptObjectError } from '../cache/integrity.js';
import { LocalStore } from '../cache/local-store.js';
import { readProjectConfig } from '../config/project-config.js';
import type { FileRecord } from '../hashing/file-hasher.js';
import { cacheDirOf, type Project } from '../project.js';
import { RemotePuller } from '../remote/puller.js';
import { chooseRemote, openRemote } from '../remote/remote.js';
import { Transfer } from '../remote/transfer.js';
import { openState } from '../run/workspace.js';
import type { ContentHash } from '../util/brand.js';
import { MANIFEST_FILE, verifyFiles, type ModelManifest } from '../../stages/lib/model-manifest.js';
import { RegistryError, type VersionLocation } from './registry.js';

export async function fetchModel(project: Project, loc: VersionLocation, out: string, remoteName?: string): Promise<{ from: string }> {
  const state = await openState(project, false);
  if (!state.ok) throw new RegistryError(state.error.map((d) => d.message).join('; '));
  const store = new LocalStore({ root: project.root, mlcacheDir: cacheDirOf(project), files: state.value.files });
  const record: FileRecord = { path: loc.path, hash: loc.hash as ContentHash, size: 0 };
  const neededBy = `${loc.artifact}@${loc.version}`;
  let from = 'the local cache';
  if (remoteName !== undefined || !(await store.has([record]))) {
    const config = await readProjectConfig(project.root, project.displayCwd);
    if (!config.ok) throw new RegistryError(config.error.map((d) => d.message).join('; '));
    const chosen = chooseRemote(config.value, remoteName);
    if (!chosen.ok) throw new RegistryError(`${neededBy} (${loc.hash}) is not in the local cache, and ${chosen.error[0]?.message}`, chosen.error[0]?.hint ?? 'add a remote');
    const remote = await openRemote(chosen.value, project.root);
    if (!remote.ok) throw new RegistryError(remote.error.map((d) => d.message).join('; '));
    const puller = new RemotePuller(remote.value.name, new Transfer(store, remote.value, state.value.hasher, chosen.value.jobs ?? remote.value.defaultJobs));
    const fetched = await puller.fetch([record], neededBy);
    if (!fetched.ok) throw new RegistryError(`cannot fetch ${neededBy}: ${fetched.message}`, `push it from where it was built: mlbuild push -r ${remote.value.name}`, 1);
    from = `remote '${remote.value.name}'`;
  }
  const tmp = `${out}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    try {
      await store.restore([{ ...record, path: tmp }]);
    } catch (e) {
      // The restore hashes every object it places; a corrupt one is quarantined and named.
      if (e instanceof CorruptObjectError) throw new RegistryError(`${neededBy}: ${e.message}`, `fetch it again from a remote: mlbuild model get ${neededBy} -r REMOTE`, 1);
      throw e;
    }
    const got = await state.value.files.hash(tmp);
    if (got?.hash !== loc.hash) throw new RegistryError(`${neededBy}: restored content hashes to ${got?.hash}, not the recorded ${loc.hash}`, 'the cache is corrupt: run `mlbuild cache` checks or fetch again from a remote', 1);
    const manifestPath = path.join(tmp, MANIFEST_FILE);
    if (fs.existsSync(manifestPath)) {
      const bad = verifyFiles(tmp, JSON.parse(fs.readFileSync(manifestPath, 'utf8')) as ModelManifest);
      if (bad.length > 0) throw new RegistryError(`${neededBy}: files differ from ${MANIFEST_FILE}: ${bad.join('; ')}`, undefined, 1);
    }
    fs.rmSync(out, { recursive: true, force: true });
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return { from };
}
