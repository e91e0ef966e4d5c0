/**
 * `mlbuild gc` and `mlbuild checkout`: the cache commands that act on the workspace's lockfile
 * (and, for gc --all-commits, every commit's) and on the data `.dvc` pointers track. Both hold
 * the project lock. `mlbuild cache verify` checks every object against its name (locally, or on a
 * remote).
 */
import { runCommand, type CommandResult, type GlobalOptions } from '../context.js';
import { checkoutWorkspace } from '../../run/checkout.js';
import { ok, err } from '../../util/result.js';
import { openState } from '../../run/workspace.js';
import { LocalStore } from '../../cache/local-store.js';
import { applyGc, planGc, referencedObjects } from '../../cache/gc.js';
import { acquireProjectLock } from '../../state/project-lock.js';
import { removeLeftovers } from '../../state/leftovers.js';
import type { Lockfile } from '../../state/lockfile.js';
import { lockfilesOfAllCommits } from '../../state/lock-history.js';
import { EXIT_OK } from '../../exit-codes.js';
import type { FileRecord } from '../../hashing/file-hasher.js';
import { formatBytes, type Terminal } from '../../report/terminal.js';
import fs from 'node:fs';
import path from 'node:path';
import { loadHasher, type Hasher } from '../../hashing/xxhash.js';
import { findCorrupt, matches, objectContentHash, quarantine } from '../../cache/integrity.js';
import { readProjectConfig } from '../../config/project-config.js';
import { chooseRemote, openRemote, RemoteUnavailable } from '../../remote/remote.js';
import { forEachLimit } from '../../util/parallel.js';
import type { Project } from '../../project.js';
import { DataSources } from '../../data/sources.js';
import { Md5Index } from '../../data/md5-index.js';
import { localRecord } from '../../data/tracked.js';

export function gcCommand(g: GlobalOptions, a: { workspace: boolean; allCommits: boolean; dry: boolean }): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const lock = await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`));
    try {
      const state = await openState(project, !a.dry);
      if (!state.ok) return state;
      const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: state.value.files });
      const records: FileRecord[] = [];
      const addLock = (l: Lockfile): void => {
        // Deps too: a raw input pushed or pulled with the outs stays as long as its lockfile.
        for (const n of l.names()) records.push(...l.get(n)!.outs, ...l.get(n)!.deps);
      };
      addLock(state.value.lockfile);
      // Data tracked by .dvc pointers is kept like any out (the workspace's pointers).
      const index = Md5Index.load(project.mlcacheDir);
      for (const p of await new DataSources(project.root, project.displayCwd).all()) {
        const rec = await localRecord(p, store, index);
        if (rec) records.push(rec);
      }
      let revisions = 0;
      if (a.allCommits) {
        const history = await lockfilesOfAllCommits(project);
        if (!history.ok) return history;
        for (const { lockfile } of history.value) addLock(lockfile);
        revisions = history.value.length;
      }
      const plan = planGc(store, referencedObjects(store, records));
      const scope = a.allCommits ? `the workspace and ${revisions} commit${revisions === 1 ? '' : 's'}` : 'the workspace';
      if (a.dry) {
        term.out(`Would remove ${plan.remove.length} object${plan.remove.length === 1 ? '' : 's'} (${formatBytes(plan.bytes)}) not used by ${scope}; keeping ${plan.keep.size}\n`);
        for (const h of plan.remove) term.out(`  ${h}\n`);
        return ok(EXIT_OK);
      }
      const { runEntriesDropped } = applyGc(store, plan);
      // Temp files of dead runs outside objects/ too (an interrupted lockfile write in the project root).
      const leftovers = removeLeftovers(project.root, project.mlcacheDir).filter((f) => !plan.temps.includes(f));
      term.out(
        `Removed ${plan.remove.length} object${plan.remove.length === 1 ? '' : 's'} (${formatBytes(plan.bytes)}) not used by ${scope}` +
          `${plan.temps.length + leftovers.length ? `, ${plan.temps.length + leftovers.length} temp file(s) of interrupted runs` : ''}` +
          `${runEntriesDropped ? `, ${runEntriesDropped} run-cache entr${runEntriesDropped === 1 ? 'y' : 'ies'}` : ''}\n`,
      );
      return ok(EXIT_OK);
    } finally {
      lock.release();
    }
  });
}

export function checkoutCommand(g: GlobalOptions, a: { targets: string[] }): Promise<number> {
  return runCommand(g, ({ project, term }) => checkoutWorkspace(project, term, a.targets));
}

export interface CacheVerifyArgs {
  readonly repair: boolean;
  /** Check this remote's objects instead of the local cache. */
  readonly remote: string | undefined;
  readonly jobs: number | undefined;
}

/**
 * `mlbuild cache verify [--repair] [-r REMOTE]`: hashes every object and names those whose content
 * does not match their name. --repair quarantines corrupt local objects (a later repro rebuilds or
 * pulls them); with -r it uploads a verified local copy over a corrupt remote object.
 */
export function cacheVerifyCommand(g: GlobalOptions, a: CacheVerifyArgs): Promise<number> {
  return runCommand(g, async ({ project, term }): Promise<CommandResult> => {
    const hasher = await loadHasher();
    const lock = a.repair ? await acquireProjectLock(project.mlcacheDir, (pid) => term.err(`waiting for another mlbuild (pid ${pid}) to finish\n`)) : undefined;
    try {
      const state = await openState(project, false);
      if (!state.ok) return state;
      const store = new LocalStore({ root: project.root, mlcacheDir: project.mlcacheDir, files: state.value.files, hasher });
      if (a.remote !== undefined) return await verifyRemote(project, term, store, hasher, a);
      const { hashes } = store.listObjects();
      const { bad, bytes } = findCorrupt((h) => store.objectPath(h), hashes, hasher);
      for (const b of bad) {
        const where = a.repair ? `; quarantined to ${path.relative(project.displayCwd, quarantine(project.mlcacheDir, store.objectPath(b.hash), b.hash))}` : '';
        term.out(`corrupt: ${b.hash} (content hashes to ${b.actual})${where}\n`);
      }
      term.out(`checked ${hashes.length} object${hashes.length === 1 ? '' : 's'} (${formatBytes(bytes)}): ${bad.length === 0 ? 'all match their hashes' : `${bad.length} corrupt${a.repair ? ', quarantined' : ''}`}\n`);
      if (bad.length > 0 && !a.repair) {
        return err([
          {
            severity: 'error',
            code: 'corrupt-object',
            message: `${bad.length} cache object${bad.length === 1 ? ' does' : 's do'} not match ${bad.length === 1 ? 'its hash' : 'their hashes'} (listed above)`,
            hint: 'run `mlbuild cache verify --repair` to quarantine them; `mlbuild repro` then rebuilds what needs them',
          },
        ]);
      }
      return ok(EXIT_OK);
    } finally {
      lock?.release();
    }
  });
}

async function verifyRemote(project: Project, term: Terminal, store: LocalStore, hasher: Hasher, a: CacheVerifyArgs): Promise<CommandResult> {
  const config = await readProjectConfig(project.root, project.displayCwd);
  if (!config.ok) return config;
  const chosen = chooseRemote(config.value, a.remote);
  if (!chosen.ok) return chosen;
  const opened = await openRemote(chosen.value, project.root);
  if (!opened.ok) return opened;
  const remote = opened.value;
  const keys: string[] = [];
  let checked = 0;
  let bytes = 0;
  const bad: { key: string; actual: string; repaired: boolean }[] = [];
  try {
    for await (const key of remote.list('objects/')) if (!key.includes('.tmp-')) keys.push(key);
    await forEachLimit(keys, a.jobs ?? chosen.value.jobs ?? remote.defaultJobs, async (key) => {
      const hash = key.slice('objects/'.length).replace('/', '');
      const body = await remote.download(key);
      if (!body) return; // removed meanwhile
      const s = hasher.stream();
      for await (const chunk of body) {
        s.update(chunk);
        bytes += chunk.byteLength;
      }
      checked++;
      const actual = s.digest();
      if (matches(hash, actual)) return;
      let repaired = false;
      const local = store.objectPath(hash);
      if (a.repair && fs.existsSync(local) && matches(hash, objectContentHash(local, hash, hasher))) {
        await remote.upload(key, local, fs.statSync(local).size, () => undefined);
        repaired = true;
      }
      bad.push({ key, actual, repaired });
    });
  } catch (e) {
    if (!(e instanceof RemoteUnavailable)) throw e;
    return err([{ severity: 'error', code: 'remote-unavailable', message: e.message, hint: e.hint }]);
  }
  bad.sort((x, y) => x.key.localeCompare(y.key));
  for (const b of bad) {
    const fix = b.repaired ? '; replaced by the verified local copy' : a.repair ? '; no good local copy to replace it with' : '';
    term.out(`corrupt on '${remote.name}': ${b.key} (content hashes to ${b.actual})${fix}\n`);
  }
  const left = bad.filter((b) => !b.repaired).length;
  term.out(`checked ${checked} object${checked === 1 ? '' : 's'} (${formatBytes(bytes)}) on remote '${remote.name}': ${bad.length === 0 ? 'all match their hashes' : `${bad.length} corrupt, ${bad.length - left} repaired`}\n`);
  if (left === 0) return ok(EXIT_OK);
  const objects = `${left} object${left === 1 ? '' : 's'} on remote '${remote.name}'`;
  return err([
    a.repair
      ? { severity: 'error', code: 'corrupt-object', message: `${objects} stay${left === 1 ? 's' : ''} corrupt: no good local copy to replace ${left === 1 ? 'it' : 'them'} with`, hint: `rebuild the outs that need ${left === 1 ? 'it' : 'them'} (\`mlbuild repro\`), then \`mlbuild cache verify --repair -r ${remote.name}\` again` }
      : { severity: 'error', code: 'corrupt-object', message: `${objects} do${left === 1 ? 'es' : ''} not match ${left === 1 ? 'its hash' : 'their hashes'} (listed above)`, hint: `\`mlbuild cache verify --repair -r ${remote.name}\` uploads good local copies over them` },
  ]);
}
